package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

func TestMain(m *testing.M) {
	code := storetest.Run(m)
	browsertest.Close()
	os.Exit(code)
}

const anon = "anonymous"

var roles = []string{anon, string(store.RoleOperator), string(store.RoleFinance), string(store.RoleAdmin)}

// expect is the status each role gets; forbidden means 403 for a signed-in
// role and a redirect to the sign-in page for an anonymous visitor.
type expect map[string]int

type routeRow struct {
	method, path string
	want         expect
}

// addRoutes adds an area's rows to the access table (call it from init).
func addRoutes(rows ...routeRow) { allRoutes = append(allRoutes, rows...) }

func tableRows() []routeRow { return append(append([]routeRow{}, allRoutes...), logoutRoute) }

const forbidden = -1

// allRoutes is the access contract of every route. A route added to the app
// without a row here fails TestEveryRouteIsInTheAccessTable.
// Posts send an empty form (with a valid CSRF token), so allowed posts
// answer 422 (form errors) or 303 (done / redirected).
// Areas add their rows from their own test files with addRoutes in an init func.
var allRoutes = []routeRow{
	{"GET", "/healthz", expect{anon: 200, "operator": 200, "finance": 200, "admin": 200}},
	{"GET", "/readyz", expect{anon: 200, "operator": 200, "finance": 200, "admin": 200}},
	{"GET", "/setup", expect{anon: 303, "operator": 303, "finance": 303, "admin": 303}},
	{"POST", "/setup", expect{anon: 303, "operator": 303, "finance": 303, "admin": 303}},
	{"GET", "/login", expect{anon: 200, "operator": 303, "finance": 303, "admin": 303}},
	{"POST", "/login", expect{anon: 422, "operator": 422, "finance": 422, "admin": 422}},
	{"GET", "/", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
	{"POST", "/demo", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"GET", "/settings", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
	{"POST", "/settings/password", expect{anon: forbidden, "operator": 422, "finance": 422, "admin": 422}},
	{"GET", "/users", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"GET", "/users/new", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/users", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"GET", "/users/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/users/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/users/:id<int>/password", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/users/:id<int>/unlock", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"GET", "/audit", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},

	{"GET", "/connections", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"GET", "/connections/new", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"GET", "/connections/:id<int>", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"GET", "/connections/:id<int>/edit", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/connections/:id<int>/test", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
	{"GET", "/connections/:id<int>/subscriptions", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>/subscriptions", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>/disable", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"POST", "/connections/:id<int>/enable", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"POST", "/connections/:id<int>/catalogue", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
}

// logoutRoute runs after all others: it ends the session the rows above use.
var logoutRoute = routeRow{"POST", "/logout", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}}

func TestEveryRouteIsInTheAccessTable(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	inTable := map[string]bool{}
	for _, r := range tableRows() {
		inTable[r.method+" "+r.path] = true
		require.Len(t, r.want, len(roles), "%s %s must say what every role gets", r.method, r.path)
	}
	var missing []string
	registered := map[string]bool{}
	for _, r := range env.Server.App.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // Fiber adds HEAD for every GET
		}
		key := r.Method + " " + r.Path
		registered[key] = true
		if !inTable[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "routes without a row in allRoutes: add each with the status every role gets")
	for key := range inTable {
		require.True(t, registered[key], "allRoutes lists %s, which the app does not serve", key)
	}
}

func TestRouteAccessByRole(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	// A user the admin's user actions can act on without locking anyone out,
	// and a connection to a sandbox shop.
	target, err := env.Store.CreateUser(t.Context(), store.SystemActor("test"), store.NewUser{Email: "target@shop.test", Name: "Target", Role: store.RoleOperator, Password: webtest.Password})
	require.NoError(t, err)
	conn := env.SandboxShopify(t, "Route shop")
	ids := map[string]int64{"/users/": target.ID, "/connections/": conn.ID}

	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			var c *webtest.Client
			if role == anon {
				c = env.Anonymous(t)
			} else {
				c = env.SignIn(t, store.Role(role))
			}
			for _, r := range tableRows() {
				path := r.path
				for prefix, id := range ids {
					if strings.HasPrefix(path, prefix) {
						path = strings.ReplaceAll(path, ":id<int>", fmt.Sprint(id))
					}
				}
				var res *http.Response
				var body string
				if r.method == http.MethodGet {
					res, body = c.Get(path)
				} else {
					res, body = c.PostFormBody(path, url.Values{})
				}
				want := r.want[role]
				switch {
				case want == forbidden && role == anon:
					require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s %s as %s", r.method, path, role)
					require.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "%s %s as %s goes to sign-in, got %q", r.method, path, role, res.Header.Get("Location"))
				case want == forbidden:
					require.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s as %s", r.method, path, role)
					require.Contains(t, body, "Not available for your role")
				default:
					require.Equal(t, want, res.StatusCode, "%s %s as %s: %s", r.method, path, role, snippet(body))
				}
			}
		})
	}
}

func snippet(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

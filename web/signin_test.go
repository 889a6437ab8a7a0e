package web_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// testClock is a clock the test moves by hand: waits pass when it says so,
// not when the machine gets round to it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startThrottled runs the console on a test clock, believing the test's
// X-Forwarded-For, so clients can sign in from several addresses.
func startThrottled(t *testing.T) (*webtest.Env, *testClock) {
	clk := newTestClock()
	env := webtest.Start(t, webtest.Options{Now: clk.Now, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	return env, clk
}

const (
	attacker = "198.51.100.66"
	office   = "203.0.113.5"
)

func postSignIn(c *webtest.Client, email, password string) (*http.Response, string) {
	return c.PostFormBody("/login", url.Values{"email": {email}, "password": {password}})
}

func auditActions(t *testing.T, env *webtest.Env) map[string]int {
	t.Helper()
	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{Limit: 1000})
	require.NoError(t, err)
	n := map[string]int{}
	for _, e := range entries {
		n[e.Action]++
	}
	return n
}

func TestSignInParallelGuessesAreCountedBeforeTheCheck(t *testing.T) {
	t.Parallel()
	env, _ := startThrottled(t)
	const guesses = 40
	clients := make([]*webtest.Client, guesses)
	for i := range clients {
		clients[i] = env.Anonymous(t).From(attacker)
	}
	statuses := make([]int, guesses)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Not c.PostForm: require may not stop the test from another goroutine.
			form := url.Values{"email": {"operator@shop.test"}, "password": {fmt.Sprint("guess number ", i)}, "_csrf": {c.CSRF}}
			req, _ := http.NewRequest(http.MethodPost, env.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.HTTP.Do(req)
			if err == nil {
				statuses[i] = res.StatusCode
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	limit := store.DefaultAccountThrottle.Limit
	require.Equal(t, map[int]int{http.StatusUnauthorized: limit, http.StatusTooManyRequests: guesses - limit}, count,
		"exactly the account's limit of guesses is checked; the rest are refused unchecked")

	// Every attempt is counted, none lost to the race.
	failures, _, err := env.Store.SignInThrottle(t.Context(), false, "operator@shop.test")
	require.NoError(t, err)
	require.Equal(t, limit, failures)
	failures, refused, err := env.Store.SignInThrottle(t.Context(), true, attacker)
	require.NoError(t, err)
	require.Equal(t, guesses, failures+refused)

	// The right password is refused while the account waits, from any address.
	for _, from := range []string{attacker, office} {
		res, body := postSignIn(env.Anonymous(t).From(from), "operator@shop.test", webtest.Password)
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "from %s", from)
		require.Contains(t, body, "Try again in")
	}

	acts := auditActions(t, env)
	require.Equal(t, limit, acts["user.sign_in_failed"], "each checked guess is audited")
	require.Equal(t, 1, acts["user.sign_in_throttled"], "the account's wait starts once")
	require.Equal(t, 1, acts["address.sign_in_throttled"], "the guessing address is held back too")
	require.Zero(t, acts["user.signed_in"])
}

func TestSignInWorksAfterTheBackOffWhileAnAttackerKeepsGuessing(t *testing.T) {
	t.Parallel()
	env, clk := startThrottled(t)
	guesser := env.Anonymous(t).From(attacker)
	acct, addr := store.DefaultAccountThrottle, store.DefaultAddressThrottle
	for i := range addr.Limit + 5 {
		res, body := postSignIn(guesser, "admin@shop.test", fmt.Sprint("guess number ", i))
		switch {
		case i < acct.Limit:
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, "guess %d", i)
		case i < addr.Limit:
			require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "guess %d", i)
			require.Contains(t, body, "to this account")
		default:
			require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "guess %d", i)
			require.Contains(t, body, "from your network", "the guessing address is held back itself")
		}
	}

	// The admin, from the office, is told when to come back.
	admin := env.Anonymous(t).From(office)
	res, body := postSignIn(admin, "admin@shop.test", webtest.Password)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Contains(t, body, "Too many failed sign-ins to this account. Try again in 10 seconds")
	wait, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Equal(t, int(acct.Base/time.Second), wait)

	// The wait passes; the attacker keeps guessing, and gets nowhere near the account.
	clk.Advance(time.Duration(wait) * time.Second)
	for i := range 10 {
		res, body := postSignIn(guesser, "admin@shop.test", fmt.Sprint("late guess ", i))
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
		require.Contains(t, body, "from your network")
	}
	res = admin.PostForm("/login", url.Values{"email": {"admin@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the admin signs in once the account's short wait is over")
	failures, _, err := env.Store.SignInThrottle(t.Context(), false, "admin@shop.test")
	require.NoError(t, err)
	require.Zero(t, failures, "a sign-in starts the account over")
	require.Equal(t, 1, auditActions(t, env)["user.signed_in"])
}

func TestUnknownEmailsThrottleTheirAddressNotOthers(t *testing.T) {
	t.Parallel()
	env, _ := startThrottled(t)
	sprayer := env.Anonymous(t).From(attacker)
	limit := store.DefaultAddressThrottle.Limit
	for i := range limit {
		res, body := postSignIn(sprayer, fmt.Sprintf("nobody%d@shop.test", i), "wrong password!")
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, "attempt %d", i)
		require.Contains(t, body, "do not match an active account")
	}
	// That address now waits, even with a real account's right password.
	res, body := postSignIn(sprayer, "operator@shop.test", webtest.Password)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Contains(t, body, "Too many failed sign-ins from your network. Try again in 30 seconds.")
	// Nobody else does.
	res, _ = postSignIn(env.Anonymous(t).From(office), "operator@shop.test", webtest.Password)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "address"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "address.sign_in_throttled", entries[0].Action)
	require.Equal(t, attacker, entries[0].ObjectID)
	require.Equal(t, attacker, entries[0].IP, "the audit log has the client's address, not the proxy's")
}

func TestAdminUnlocksSignInFromTheUsersPage(t *testing.T) {
	t.Parallel()
	env, _ := startThrottled(t)
	op := env.Users[vocab.RoleOperator]
	guesser := env.Anonymous(t).From(attacker)
	for i := range store.DefaultAccountThrottle.Limit {
		res, _ := postSignIn(guesser, op.Email, fmt.Sprint("guess number ", i))
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}
	unlock := fmt.Sprintf("/users/%d/unlock", op.ID)

	admin := env.SignIn(t, vocab.RoleAdmin)
	res, body := admin.Get("/users")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Sign-in held back")
	require.Contains(t, body, "5 failed sign-ins")
	require.Contains(t, body, `action="`+unlock+`"`)

	// Only admins may unlock.
	res = env.SignIn(t, vocab.RoleFinance).PostForm(unlock, nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = postSignIn(env.Anonymous(t).From(office), op.Email, webtest.Password)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "still held back")

	res = admin.PostForm(unlock, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/users", res.Header.Get("Location"))
	_, body = admin.Get("/users")
	require.Contains(t, body, "can sign in again at once")
	require.NotContains(t, body, "Sign-in held back")

	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "user"})
	require.NoError(t, err)
	require.Equal(t, "user.sign_in_unlocked", entries[0].Action)
	require.Equal(t, "Ada Admin", entries[0].ActorLabel)
	require.Equal(t, strconv.FormatInt(op.ID, 10), entries[0].ObjectID)

	res, _ = postSignIn(env.Anonymous(t).From(office), op.Email, webtest.Password)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "unlocked: the right password works at once")

	// Nothing left to unlock: said so, and not audited again.
	res = admin.PostForm(unlock, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/users")
	require.Contains(t, body, "had no failed sign-ins to forget")
	require.Equal(t, 1, auditActions(t, env)["user.sign_in_unlocked"])
}

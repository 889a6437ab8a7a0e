package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/session"
	"crossdock/web/webtest"
)

// sessionCookie returns the client's session cookie for the console.
func sessionCookie(t *testing.T, env *webtest.Env, c *webtest.Client) *http.Cookie {
	t.Helper()
	u, err := url.Parse(env.URL)
	require.NoError(t, err)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == session.CookieName {
			return ck
		}
	}
	t.Fatal("the client holds no session cookie")
	return nil
}

// A sign-in lasts its lifetime and no longer: once the session row has
// expired, the same cookie opens nothing, and the sign-in page says why.
func TestExpiredSessionSendsToSignInSayingSo(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.SignIn(t, vocab.RoleOperator)
	res, _ := c.Get("/failed")
	require.Equal(t, http.StatusOK, res.StatusCode, "signed in")

	n, err := env.Store.DB.ExecContext(t.Context(), `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
		env.Users[vocab.RoleOperator].ID)
	require.NoError(t, err)
	rows, err := n.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, rows, "one session to expire")

	res, _ = c.Get("/failed")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "an expired session opens nothing")
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/login", loc.Path)
	require.Equal(t, "1", loc.Query().Get("expired"))
	require.Equal(t, "/failed", loc.Query().Get("next"), "back where they were going after signing in")
	res, body := c.Get(res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Your session has ended. Please sign in again.")
}

// A session cookie changed by hand (another id, a broken signature) is a
// stranger's: nothing opens, and it is not taken for an ended session.
func TestTamperedSessionCookieOpensNothing(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	for _, tc := range []struct {
		name   string
		tamper func(v string) string
	}{
		{"a character changed", func(v string) string {
			b := []byte(v)
			i := len(b) / 2
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}},
		{"cut short", func(v string) string { return v[:len(v)-4] }},
		{"made up", func(string) string { return "u.0123456789abcdef" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := env.SignIn(t, vocab.RoleAdmin)
			res, _ := c.Get("/users")
			require.Equal(t, http.StatusOK, res.StatusCode, "signed in")
			ck := sessionCookie(t, env, c)

			req, err := http.NewRequest(http.MethodGet, env.URL+"/users", nil)
			require.NoError(t, err)
			req.AddCookie(&http.Cookie{Name: session.CookieName, Value: tc.tamper(ck.Value)})
			res, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, http.StatusSeeOther, res.StatusCode, "a tampered cookie opens nothing")
			loc, err := url.Parse(res.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "/login", loc.Path)
			require.Empty(t, loc.Query().Get("expired"), "a forged cookie is not told its session ended")

			res, _ = c.Get("/users")
			require.Equal(t, http.StatusOK, res.StatusCode, "the real cookie still works")
		})
	}
}

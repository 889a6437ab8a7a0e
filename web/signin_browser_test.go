package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// Someone guesses an operator's password from another address: the operator
// is told in words when to try again and who can help, an admin sees the
// account held back on Users and unlocks it, and the operator signs in.
func TestBrowserAdminUnlocksAHeldBackSignIn(t *testing.T) {
	t.Parallel()
	env, _ := startThrottled(t)
	op := env.Users[vocab.RoleOperator]
	guesser := env.Anonymous(t).From(attacker)
	for i := range store.DefaultAccountThrottle.Limit {
		res, _ := postSignIn(guesser, op.Email, fmt.Sprint("guess number ", i))
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}

	// The operator, with the right password, is held back and told why.
	opTab := browsertest.Tab(t)
	require.NoError(t, chromedp.Do(opTab,
		chromedp.Navigate(env.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`label[for="email"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), op.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.banner-critical[role="alert"]`)),
	))
	text := pageText(t, opTab)
	require.Contains(t, text, "Too many failed sign-ins to this account. Try again in")
	require.Contains(t, text, "or ask an admin to unlock it on the Users page.")
	browsertest.ScreenshotWidths(t, opTab, "signin-held-back")

	// The admin finds the account on Users, marked, and unlocks it.
	adminTab := browsertest.Tab(t)
	signIn(t, adminTab, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(adminTab,
		chromedp.Navigate(env.URL+"/users"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`form[action="/users/%d/unlock"] button`, op.ID))),
	))
	text = pageText(t, adminTab)
	require.Contains(t, text, "Sign-in held back")
	require.Contains(t, text, "5 failed sign-ins")
	browsertest.ScreenshotWidths(t, adminTab, "users-held-back")
	require.NoError(t, chromedp.Do(adminTab,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/users/%d/unlock"] button`, op.ID))),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	text = pageText(t, adminTab)
	require.Contains(t, text, op.Name+" can sign in again at once; their failed sign-ins are forgotten.")
	require.NotContains(t, text, "Sign-in held back")
	browsertest.ScreenshotWidths(t, adminTab, "users-unlocked")

	// The operator signs in with the same password, at once.
	require.NoError(t, chromedp.Do(opTab,
		chromedp.Navigate(env.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`label[for="email"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), op.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".sidebar-foot")),
	))
}

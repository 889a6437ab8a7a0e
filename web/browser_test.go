package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// signIn fills the sign-in form the way a person does: by its labelled inputs.
func signIn(t *testing.T, ctx context.Context, env *webtest.Env, email string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`label[for="email"]`)),
	))
	labels, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("form.form")))
	require.NoError(t, err)
	require.Contains(t, labels, "Email")
	require.Contains(t, labels, "Password")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".sidebar-foot")),
	))
}

// waitForText waits until the page shows text (an htmx swap may still be
// on its way when a click returns): as long as the machine needs, up to
// the test's own timeout.
func waitForText(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	js := fmt.Sprintf(`document.body.innerText.includes(%s)`, strconv.Quote(text))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		require.Contains(t, pageText(t, ctx), text, "waited for it: %v", err)
	}
}

func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	require.NoError(t, err)
	return text
}

func TestBrowserFirstRunSignOutAndSignIn(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{Empty: true})
	ctx := browsertest.Tab(t)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
	))
	browsertest.Screenshot(t, ctx, "first-run")
	require.Contains(t, pageText(t, ctx), "Welcome to Crossdock")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#name"), "Olivia Owner"),
		chromedp.SendKeys(chromedp.CSS("#email"), "olivia@shop.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "short"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password-error")),
	))
	require.Contains(t, pageText(t, ctx), "at least 10 characters")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".sidebar-foot")),
	))
	// The demo workspace is offered, ticked, on the first-run page.
	text := pageText(t, ctx)
	require.Contains(t, text, "Welcome, Olivia Owner. The demo workspace is ready")
	require.Contains(t, text, "Demo Shopify store")
	require.Contains(t, text, "Users", "an admin sees user management")
	// The first page after setup is the Overview, saying what was loaded.
	here, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, env.URL+"/", here)
	require.Contains(t, text, "variants are mapped by SKU")
	browsertest.ScreenshotWidths(t, ctx, "demo-overview")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".sidebar-foot button")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	))
	require.Contains(t, pageText(t, ctx), "You are signed out.")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/login"), loc)

	signIn(t, ctx, env, "olivia@shop.test")
	// Signed in, she lands on the Overview page itself (the navigation names
	// it on every page, so its word alone proves nothing).
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, env.URL+"/", loc)
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
	require.NoError(t, err)
	require.Equal(t, "Overview", strings.TrimSpace(heading))
}

func TestBrowserWrongPassword(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	ctx := browsertest.Tab(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/users"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@shop.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not my password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	))
	require.Contains(t, pageText(t, ctx), "That email and password do not match an active account.")
	value, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#email")))
	require.NoError(t, err)
	require.Equal(t, "admin@shop.test", value, "the email is kept")

	// Signing in from a deep link comes back to it.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".sidebar-foot")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/users"), loc)
}

func TestBrowserRolesSeeTheirAreasOnly(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	tests := []struct {
		role      vocab.Role
		sees      []string
		doesntSee []string
		forbidden string
	}{
		{vocab.RoleOperator, []string{"Overview", "Connections", "Settings"}, []string{"Audit log", "Users"}, "/users"},
		{vocab.RoleFinance, []string{"Overview", "Finance", "Settings"}, []string{"Connections", "Audit log", "Users"}, "/connections"},
		{vocab.RoleAdmin, []string{"Overview", "Connections", "Audit log", "Users"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			t.Parallel()
			ctx := browsertest.Tab(t)
			signIn(t, ctx, env, env.Users[tc.role].Email)
			nav, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("nav.sidebar")))
			require.NoError(t, err)
			for _, s := range tc.sees {
				require.Contains(t, nav, s)
			}
			for _, s := range tc.doesntSee {
				require.NotContains(t, nav, s)
			}
			if tc.forbidden != "" {
				// Typing the address does not get around a hidden link.
				require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+tc.forbidden), chromedp.WaitVisible(chromedp.CSS("h1"))))
				require.Contains(t, pageText(t, ctx), "Not available for your role")
			}
		})
	}
}

func TestBrowserAdminAddsAUserAndTestsAConnection(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	conn := env.SandboxShopify(t, "Sandbox store")
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "admin@shop.test")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/users/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Fiona Finance"),
		chromedp.SendKeys(chromedp.CSS("#email"), "fiona@shop.test"),
		chromedp.SetValue(chromedp.CSS("#role"), "finance"),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "Fiona Finance can now sign in as finance.")
	browsertest.Screenshot(t, ctx, "users")

	// The connection test is an htmx swap: it needs the CSRF header and the CSP
	// to allow htmx, and shows its result without leaving the page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/connections/%d", env.URL, conn.ID)),
		chromedp.WaitVisible(chromedp.CSS("#subscriptions table")), // loaded by htmx on page load
		chromedp.Click(chromedp.CSS(`button[hx-post$="/test"]`)),
		chromedp.WaitVisible(chromedp.CSS("#check-result .banner")),
	))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#check-result")))
	require.NoError(t, err)
	require.Contains(t, result, "Everything Crossdock needs is granted")
	browsertest.Screenshot(t, ctx, "connection")
}

package web_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserPrivacyKeep walks the settings of personal data on the demo
// workspace as an admin — from the Privacy page to the form, a bad number
// refused next to the field, then saved — and opens a failed customer sync
// as finance, who sees the customer masked.
func TestBrowserPrivacyKeep(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	id := personalFixture(t, env)

	admin := browsertest.Tab(t)
	signIn(t, admin, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(admin, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS(`#privacy-keep a`)),
		chromedp.Click(chromedp.CSS(`#privacy-keep a`)), chromedp.WaitVisible(chromedp.CSS(`#privacy-settings`))))
	text := pageText(t, admin)
	require.Contains(t, text, "is kept 90 days after the sync ended")
	require.Contains(t, text, "Admins always see it")
	browsertest.ScreenshotWidths(t, admin, "privacy-settings")

	require.NoError(t, chromedp.Do(admin, chromedp.SetValue(chromedp.CSS(`#p-retention`), "0"),
		chromedp.Click(chromedp.CSS(`#privacy-settings button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`#p-retention-error`))))
	require.Contains(t, pageText(t, admin), "Write a number of days, from 1 to 3,650.")
	browsertest.ScreenshotWidths(t, admin, "privacy-settings-error")

	require.NoError(t, chromedp.Do(admin, chromedp.SetValue(chromedp.CSS(`#p-retention`), "60"),
		chromedp.Click(chromedp.CSS(`#privacy-settings button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`.banner-success`))))
	text = pageText(t, admin)
	require.Contains(t, text, "Saved: personal data is kept 60 days after a sync ended; operators see it, finance sees it masked.")
	require.Contains(t, text, "is kept 60 days after the sync ended")

	// The hourly job prunes and counts; the map and the Privacy page say so.
	_, err := env.Engine.PrunePersonal(t.Context())
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(admin, chromedp.Navigate(env.URL+"/privacy/map"), chromedp.WaitVisible(chromedp.CSS(`#privacy-map-counted`))))
	text = pageText(t, admin)
	require.Contains(t, text, "People held")
	require.Contains(t, text, "counted at")
	browsertest.ScreenshotWidths(t, admin, "privacy-map-counted")
	require.NoError(t, chromedp.Do(admin, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS(`#privacy-keep`))))
	require.Contains(t, pageText(t, admin), "last pruned just now, 0 records")
	browsertest.ScreenshotWidths(t, admin, "privacy-requests-keep")

	finance := browsertest.Tab(t)
	signIn(t, finance, env, env.Users[vocab.RoleFinance].Email)
	require.NoError(t, chromedp.Do(finance, chromedp.Navigate(env.URL+"/syncs/"+strconv.FormatInt(id, 10)), chromedp.WaitVisible(chromedp.CSS(`main h1`))))
	text = pageText(t, finance)
	require.Contains(t, text, "j•••@example.com")
	require.Contains(t, text, "J••• D•••")
	require.NotContains(t, text, "jane.doe@example.com")
	require.NotContains(t, text, "Jane Doe")
	browsertest.ScreenshotWidths(t, finance, "privacy-masked-sync")
}

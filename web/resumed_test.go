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

// A comparison and a bulk try-again taken over from a replica that stopped
// say "Resumed after a restart" on their pages; work that never had to does
// not.
func TestResumedAfterARestartIsShown(t *testing.T) {
	t.Parallel()
	e := reconSetup(t)
	ctx := t.Context()
	b, err := e.env.Store.CreateReplayBatch(ctx, store.SystemActor("Ana"), store.NewReplayBatch{IDs: []int64{1}, Description: "the ticked failures"})
	require.NoError(t, err)
	runPage, batchPage := fmt.Sprintf("/reconciliation/runs/%d", e.run), fmt.Sprintf("/failed/batches/%d", b.ID)
	c := e.env.SignIn(t, vocab.RoleAdmin)
	for _, page := range []string{runPage, batchPage} {
		res, body := c.Get(page)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.NotContains(t, body, "Resumed after a restart", page)
	}

	_, err = e.env.Store.DB.ExecContext(ctx, `UPDATE recon_runs SET resumes = 1, resumed_at = now() - interval '3 minutes' WHERE id = $1`, e.run)
	require.NoError(t, err)
	require.NoError(t, e.env.Store.ResumeReplayBatch(ctx, b.ID))
	require.NoError(t, e.env.Store.ResumeReplayBatch(ctx, b.ID))
	_, body := c.Get(runPage)
	require.Regexp(t, `<dt>Resumed after a restart</dt><dd id="resumed"><time[^>]*>3 minutes ago</time></dd>`, body)
	_, body = c.Get(batchPage)
	require.Regexp(t, `<dt>Resumed after a restart</dt><dd id="resumed"><time[^>]*>[^<]*</time> \(2 times\)</dd>`, body)

	tab := browsertest.Tab(t)
	admin := e.env.Users[vocab.RoleAdmin]
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(e.env.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`label[for="email"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), admin.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#password`)),
		chromedp.Navigate(e.env.URL+runPage),
		chromedp.WaitVisible(chromedp.CSS(`#resumed`)),
	))
	browsertest.ScreenshotWidths(t, tab, "run-resumed")
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(e.env.URL+batchPage), chromedp.WaitVisible(chromedp.CSS(`#resumed`))))
	browsertest.ScreenshotWidths(t, tab, "batch-resumed")
}

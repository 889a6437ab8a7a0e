package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// Cancelling a running rehearsal stops it within seconds; its report keeps
// what it sent until then.
func TestRehearsalCancelStopsARunningRehearsal(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	shop, _ := prepareRehearsal(t, env, admin)
	admin.RefreshCSRF("/rehearsals")
	res := admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"}, "orders_per_min": {"60"},
		"minutes": {"10"}, "updates_per_order": {"0"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	rs, err := env.Store.ListRehearsals(t.Context(), 1)
	require.NoError(t, err)
	id := rs[0].ID
	// A few orders go out: waited for, not slept for, so a busy machine
	// that is slow to start sending still cancels a rehearsal that sent some.
	require.Eventually(t, func() bool {
		r, err := env.Store.Rehearsal(t.Context(), id)
		if err != nil || r.State != store.RehearsalRunning || r.StartedAt == nil {
			return false
		}
		stored, _, err := env.Store.RehearsalWebhooks(t.Context(), shop, r.StartedAt.Add(-time.Second))
		return err == nil && stored >= 3
	}, 5*time.Minute, 100*time.Millisecond)
	admin.RefreshCSRF(fmt.Sprintf("/rehearsals/%d", id))
	res = admin.PostForm(fmt.Sprintf("/rehearsals/%d/cancel", id), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var r store.Rehearsal
	require.Eventually(t, func() bool {
		r, err = env.Store.Rehearsal(t.Context(), id)
		return err == nil && r.Done()
	}, 5*time.Minute, 100*time.Millisecond)
	require.Equal(t, store.RehearsalCancelled, r.State)
	rep, err := r.Report()
	require.NoError(t, err)
	require.True(t, rep.Cancelled)
	require.GreaterOrEqual(t, rep.OrdersSent, 3, "what went out before the cancel is in the report")
	require.Less(t, rep.OrdersSent, 600, "it stopped long before the 600 asked")
	require.Contains(t, r.Verdict, "Cancelled")
}

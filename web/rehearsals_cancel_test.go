package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/web/webtest"
)

// Cancelling a running rehearsal stops it within seconds; its report keeps
// what it sent until then.
func TestRehearsalCancelStopsARunningRehearsal(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, store.RoleAdmin)
	shop, _ := prepareRehearsal(t, env, admin, 20)
	admin.RefreshCSRF("/rehearsals")
	res := admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"}, "orders_per_min": {"60"},
		"minutes": {"10"}, "updates_per_order": {"0"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	rs, err := env.Store.ListRehearsals(t.Context(), 1)
	require.NoError(t, err)
	id := rs[0].ID
	require.Eventually(t, func() bool {
		r, err := env.Store.Rehearsal(t.Context(), id)
		return err == nil && r.State == store.RehearsalRunning
	}, time.Minute, 100*time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // a few orders go out
	admin.RefreshCSRF(fmt.Sprintf("/rehearsals/%d", id))
	res = admin.PostForm(fmt.Sprintf("/rehearsals/%d/cancel", id), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var r store.Rehearsal
	require.Eventually(t, func() bool {
		r, err = env.Store.Rehearsal(t.Context(), id)
		return err == nil && r.Done()
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, store.RehearsalCancelled, r.State)
	rep, err := r.Report()
	require.NoError(t, err)
	require.True(t, rep.Cancelled)
	require.Positive(t, rep.OrdersSent)
	require.Less(t, rep.OrdersSent, 600, "it stopped long before the 600 asked")
	require.Contains(t, r.Verdict, "Cancelled")
}

package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

// statusOf reads the one status at the top of a sync's page.
var statusOf = regexp.MustCompile(`<span id="sync-status"><span class="badge badge-(\w+)"[^>]*>([^<]*)</span>`)

// A failure's page says one status, the truth, and who brought it there: open
// it is "Failed"; tried again by hand it names the person, and its status
// follows the new attempt (waiting, fixed, still failing); resolved or
// ignored it names who did it. The new attempt says who started it.
func TestFailureDetailOneStatusAndWho(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	ids := e.insert(t,
		e.failure("#7001", vocab.ClassUnmapped, "#7001 cannot be sent to Odoo: SKU-BLUE is not mapped to an Odoo product yet."),
		e.failure("#7002", vocab.ClassValidation, "Odoo refused the change: customer has no country."),
		e.failure("#7003", vocab.ClassValidation, "Odoo refused the change: customer has no country."),
	)
	op := e.env.SignIn(t, vocab.RoleOperator)
	opName := e.env.Users[vocab.RoleOperator].Name
	status := func(id int64) (kind, text string, body string) {
		t.Helper()
		res, body := op.Get(fmt.Sprintf("/syncs/%d", id))
		require.Equal(t, http.StatusOK, res.StatusCode)
		m := statusOf.FindStringSubmatch(body)
		require.NotNil(t, m, "the status badge at the top")
		return m[1], m[2], body
	}

	kind, text, body := status(ids[0])
	require.Equal(t, "Failed", text)
	require.Equal(t, "critical", kind)
	require.Contains(t, body, "Map the missing record, then try this sync again.")

	// Tried again by hand.
	op.RefreshCSRF(fmt.Sprintf("/syncs/%d", ids[0]))
	res, _ := op.PostFormBody(fmt.Sprintf("/syncs/%d/replay", ids[0]), url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err := e.env.Store.FailedSyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.NotNil(t, got.ReplayedBy)
	replay := *got.ReplayedBy
	kind, text, body = status(ids[0])
	require.Equal(t, "Tried again — waiting for the result", text)
	require.Equal(t, "info", kind)
	require.Contains(t, body, "Tried again by hand by "+opName)
	require.NotContains(t, body, ">Failed<", "one status, not Failed at the top and another below")
	require.NotContains(t, body, "Replayed")
	require.NotContains(t, body, "then try this sync again", "advice for an open failure only")
	_, _, body = status(replay)
	require.Contains(t, body, "Tried again by hand by "+opName+", from")
	require.Contains(t, body, fmt.Sprintf(`href="/syncs/%d"`, ids[0]))

	// The new attempt went through, or failed again.
	for _, tc := range []struct {
		status     vocab.Status
		want, kind string
	}{
		{vocab.SyncSucceeded, "Tried again — fixed", "success"},
		{vocab.SyncFailed, "Tried again — still failing", "critical"},
	} {
		_, err = e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET status = $2, error_class = CASE WHEN $2 = 'failed' THEN 'unmapped' END,
  finished_at = now() WHERE id = $1`, replay, tc.status)
		require.NoError(t, err)
		kind, text, _ = status(ids[0])
		require.Equal(t, tc.want, text)
		require.Equal(t, tc.kind, kind)
	}
	// The still-failing attempt is itself the open failure now.
	_, text, _ = status(replay)
	require.Equal(t, "Failed", text)

	// Resolved and ignored: by whom, by name.
	res, _ = op.PostFormBody("/failed/resolve", url.Values{"id": {fmt.Sprint(ids[1])}, "note": {"Fixed the country in Odoo"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = op.PostFormBody("/failed/ignore", url.Values{"id": {fmt.Sprint(ids[2])}, "note": {"Test order"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	kind, text, body = status(ids[1])
	require.Equal(t, "Resolved by "+opName, text)
	require.Equal(t, "success", kind)
	require.Contains(t, body, "Fixed the country in Odoo")
	kind, text, _ = status(ids[2])
	require.Equal(t, "Ignored by "+opName, text)
	require.Equal(t, "neutral", kind)
}

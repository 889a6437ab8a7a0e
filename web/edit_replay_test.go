package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// Edit and replay sends data a person typed into a connected system: only
// admins may, within their write scope; the replay carries the corrected
// data while the failure keeps what was received, and the audit log says
// who did it.
func TestEditAndReplay(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	db := e.env.Store.DB
	ids := e.insert(t, e.failure("#E1", vocab.ClassValidation, "Odoo refused the change: customer 41 has no country.", "#E1"),
		e.failure("#E2", vocab.ClassValidation, "Odoo refused the change: customer 42 has no country.", "#E2"))
	failure, other := ids[0], ids[1]
	path := fmt.Sprintf("/syncs/%d/edit-replay", failure)
	// A fresh form for each post: posting adds the client's CSRF token to it.
	corrected := func() url.Values { return url.Values{"payload": {`{"name": "#E1", "country": "BE"}`}} }
	replays := func(id int64) int {
		t.Helper()
		var n int
		require.NoError(t, db.GetContext(ctx, &n, `SELECT count(*) FROM syncs WHERE replay_of = $1`, id))
		return n
	}
	edits := func() int {
		t.Helper()
		var n int
		require.NoError(t, db.GetContext(ctx, &n, `SELECT count(*) FROM audit_log WHERE action = 'sync.edited_replayed'`))
		return n
	}

	// Nobody but an admin, and no trace of the attempt in the systems.
	res, _ := e.env.Anonymous(t).PostFormBody(path, corrected())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Regexp(t, `^/login`, res.Header.Get("Location"))
	for _, r := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
		res, body := e.env.SignIn(t, r).PostFormBody(path, corrected())
		require.Equal(t, http.StatusForbidden, res.StatusCode, r)
		require.Contains(t, body, "Not available for your role")
	}
	require.Zero(t, replays(failure))
	require.Zero(t, edits())

	admin := e.env.SignIn(t, vocab.RoleAdmin)
	// Data that is not a JSON object is refused in words; nothing is replayed.
	body := flashAfter(t, admin, admin.PostForm(path, url.Values{"payload": {`["not", "an", "object"]`}}))
	require.Contains(t, body, "The data must be a JSON object, like the one received")
	require.Contains(t, body, "Nothing was tried again.")
	require.Zero(t, replays(failure))
	// A sync that does not exist.
	res, _ = admin.PostFormBody("/syncs/1099511627776/edit-replay", corrected())
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	// The corrected data goes out as a new sync; the failure keeps what was
	// received and is marked replayed.
	res = admin.PostForm(path, corrected())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	var replay store.Sync
	require.NoError(t, db.GetContext(ctx, &replay, `SELECT id, replay_of, payload FROM syncs WHERE replay_of = $1`, failure))
	require.Equal(t, fmt.Sprintf("/syncs/%d", replay.ID), loc)
	require.JSONEq(t, `{"name": "#E1", "country": "BE"}`, string(replay.Payload))
	_, body = admin.Get(loc)
	require.Contains(t, body, "The corrected data is being sent. The original failure is kept, with the data as it was received.")
	original, err := e.env.Store.SyncByID(ctx, failure)
	require.NoError(t, err)
	require.JSONEq(t, `{"name": "#E1"}`, string(original.Payload), "the failure keeps the data as received")
	require.NotNil(t, original.ResolvedAt, "the failure is marked replayed")
	require.Equal(t, vocab.SyncFailed, original.Status)

	// Audited under the admin's name, saying it was edited.
	var audit struct {
		ActorID  *int64 `db:"actor_id"`
		ObjectID string `db:"object_id"`
		Summary  string `db:"summary"`
		Edited   bool   `db:"edited"`
	}
	require.NoError(t, db.GetContext(ctx, &audit, `SELECT actor_id, object_id, summary, (after->>'edited')::boolean AS edited
FROM audit_log WHERE action = 'sync.edited_replayed'`))
	require.Equal(t, e.env.Users[vocab.RoleAdmin].ID, *audit.ActorID)
	require.Equal(t, fmt.Sprint(failure), audit.ObjectID)
	require.Equal(t, fmt.Sprintf("Edited and replayed #E1 (orders) as sync #%d", replay.ID), audit.Summary)
	require.True(t, audit.Edited)

	// A second edit of the same failure makes no second replay.
	body = flashAfter(t, admin, admin.PostForm(path, url.Values{"payload": {`{"name": "#E1", "country": "NL"}`}}))
	require.Contains(t, body, "This sync was already tried again or has not finished; nothing was tried again.")
	require.Equal(t, 1, replays(failure))
	require.Equal(t, 1, edits())

	// An admin limited to test systems may not send edited data into
	// production Odoo.
	u := e.env.Users[vocab.RoleAdmin]
	_, err = e.env.Store.UpdateUser(ctx, store.SystemActor("test"), u.ID, store.UserUpdate{Name: u.Name, Role: vocab.RoleAdmin, Active: true, Scope: vocab.ScopeTest})
	require.NoError(t, err)
	body = flashAfter(t, admin, admin.PostForm(fmt.Sprintf("/syncs/%d/edit-replay", other), url.Values{"payload": {`{"name": "#E2", "country": "BE"}`}}))
	require.Contains(t, body, scopeRefusal("Odoo")+" Nothing was tried again.")
	require.Zero(t, replays(other))
	require.Equal(t, 1, edits())
	still, err := e.env.Store.SyncByID(ctx, other)
	require.NoError(t, err)
	require.Nil(t, still.ResolvedAt, "the failure stays open for someone allowed to replay it")
}

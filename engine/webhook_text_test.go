package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

// A NUL character is valid JSON ("\u0000") that PostgreSQL cannot store as
// text. An order whose name carries one must still become its sync, and must
// not hold up the events delivered with it.
func TestOrderWebhookWithNULCharacter(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	o, payload := e.order(t)
	bad := e.deliver(t, "orders/create", setJSON(t, payload, "name", o.Name+"\x00"))
	_, next := e.order(t)
	good := e.deliver(t, "orders/create", next)

	// The bad order fails alone, in words, with the NUL shown as U+FFFD;
	// the next one goes through.
	ss := e.endedSyncs(t, bad)
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncFailed, s.Status, s.Message)
	require.Contains(t, s.Message, "cannot be stored (a NUL byte)")
	require.Equal(t, o.Name+"\uFFFD", s.EntityKey, "the NUL is shown as the replacement character")
	ss = e.endedSyncs(t, good)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, e.sync(t, ss[0].ID).Status)
}

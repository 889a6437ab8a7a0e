package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"crossdock/store"
)

// ErrNotReplayable is returned for a sync that is still queued or running.
var ErrNotReplayable = errors.New("this sync has not finished yet, so it cannot be replayed")

// Replay runs a finished sync again: a new sync (trigger replay, pointing at
// the original) with the same payload and the same idempotency key, so a
// replay of something that did reach the target writes nothing twice. The
// original is marked resolved, and the replay is audited, in the same
// transaction that queues it.
func (e *Engine) Replay(ctx context.Context, a store.Actor, id int64) (store.Sync, error) {
	var out store.Sync
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		s, err := tx.SyncByID(ctx, id)
		if err != nil {
			return err
		}
		switch s.Status {
		case store.SyncPending, store.SyncRunning, store.SyncRetrying:
			// A retrying sync is replayed by ending its wait: it stays one sync.
			if s.Status != store.SyncRetrying {
				return ErrNotReplayable
			}
		}
		ns := store.NewSync{Family: s.Family, Direction: s.Direction, Flow: s.Flow, SourceConnectionID: s.SourceConnectionID,
			TargetConnectionID: s.TargetConnectionID, Trigger: store.TriggerReplay, EntityType: s.EntityType,
			EntityRef: s.EntityRef, EntityKey: s.EntityKey, SearchKeys: s.SearchKeys, ReplayOf: s.ID,
			Payload: json.RawMessage(s.Payload), IdempotencyKey: s.IdempotencyKey, MaxAttempts: s.MaxAttempts,
			Message: "Replayed; waiting to be sent."}
		if s.SourceVersion != nil {
			ns.SourceVersion = *s.SourceVersion
		}
		if s.Status == store.SyncRetrying {
			// End the original's wait for good: it must not run beside its replay.
			if err := tx.StopRetrying(ctx, s.ID, "Stopped waiting to retry: replayed by hand."); err != nil {
				return err
			}
		}
		ids, err := e.insertSyncs(ctx, tx, []queued{{sync: ns, lease: leaseFor(s.Flow, s.TargetConnectionID, s.EntityRef)}})
		if err != nil {
			return err
		}
		if err := tx.ResolveSync(ctx, s.ID); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a, store.Change{Action: "sync.replayed", ObjectType: "sync", ObjectID: strconv.FormatInt(s.ID, 10),
			Summary: fmt.Sprintf("Replayed %s (%s) as sync #%d", s.EntityKey, s.Family, ids[0]),
			After:   map[string]any{"replay_id": ids[0], "status": s.Status, "error_class": s.Class()}}); err != nil {
			return err
		}
		out, err = tx.SyncByID(ctx, ids[0])
		return err
	})
	return out, err
}

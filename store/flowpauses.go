package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"crossdock/vocab"
)

// FlowPause says that a data family's flow is paused, by whom and why.
type FlowPause struct {
	Family   string    `db:"family"`
	PausedAt time.Time `db:"paused_at"`
	By       string    `db:"paused_by_label"`
	Reason   string    `db:"reason"`
}

// FlowPauses returns the paused flows by family.
func (q q) FlowPauses(ctx context.Context) (map[string]FlowPause, error) {
	var rows []FlowPause
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, paused_at, paused_by_label, reason FROM flow_pauses`); err != nil {
		return nil, fmt.Errorf("store: flow pauses: %w", err)
	}
	out := make(map[string]FlowPause, len(rows))
	for _, r := range rows {
		out[r.Family] = r
	}
	return out, nil
}

// PauseFlow pauses a family's flow; pausing a paused flow changes nothing.
func (s *Store) PauseFlow(ctx context.Context, a Actor, family, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return vocab.FieldErrors{"reason": "Keep the reason under 500 characters."}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		var actorID *int64
		if a.UserID != 0 {
			actorID = &a.UserID
		}
		res, err := tx.ext.ExecContext(ctx, `INSERT INTO flow_pauses (family, paused_by, paused_by_label, reason)
VALUES ($1, $2, $3, $4) ON CONFLICT (family) DO NOTHING`, family, actorID, a.Label, reason)
		if err != nil {
			return fmt.Errorf("store: pause flow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.Audit(ctx, a, Change{Action: "flow.paused", ObjectType: "flow", ObjectID: family,
			Summary: fmt.Sprintf("Paused the %s flow", family), After: map[string]string{"reason": reason}})
	})
}

// ResumeFlow resumes a paused flow; its waiting syncs then run.
func (s *Store) ResumeFlow(ctx context.Context, a Actor, family string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ext.ExecContext(ctx, `DELETE FROM flow_pauses WHERE family = $1`, family)
		if err != nil {
			return fmt.Errorf("store: resume flow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.Audit(ctx, a, Change{Action: "flow.resumed", ObjectType: "flow", ObjectID: family,
			Summary: fmt.Sprintf("Resumed the %s flow", family)})
	})
}

// SyncFamily returns the data family of a sync record.
func (q q) SyncFamily(ctx context.Context, id int64) (string, error) {
	var f string
	if err := sqlxGet(ctx, q, &f, `SELECT family FROM syncs WHERE id = $1`, id); err != nil {
		return "", fmt.Errorf("store: sync %d family: %w", id, err)
	}
	return f, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
)

// ProposeMapping is how the sync engine proposes a mapping for a record it
// created: a change set from SourceEngine, submitted for approval at once,
// proposed by the system (so any admin may approve it). When an open change
// set already sets the first item's reference (a retry or a replay of the
// sync that created the record), that one is returned and nothing new is
// proposed: existing is true.
func (s *Store) ProposeMapping(ctx context.Context, a Actor, in NewChangeSet) (cs ChangeSet, existing bool, err error) {
	if len(in.Items) == 0 {
		return ChangeSet{}, false, errors.New("store: propose mapping: no rows")
	}
	first := in.Items[0]
	var id int64
	err = sqlxGet(ctx, s.q, &id, `SELECT i.change_set_id FROM change_set_items i JOIN change_sets cs ON cs.id = i.change_set_id
WHERE i.connection_id = $1 AND i.entity_type = $2 AND i.external_id = $3 AND i.op = 'set' AND cs.status IN ('draft', 'pending')
ORDER BY i.change_set_id LIMIT 1`, first.ConnectionID, first.EntityType, first.ExternalID)
	switch {
	case err == nil:
		cs, err = s.ChangeSetByID(ctx, id)
		return cs, true, err
	case !errors.Is(err, ErrNotFound):
		return ChangeSet{}, false, fmt.Errorf("store: propose mapping: %w", err)
	}
	in.Source = SourceEngine
	a.UserID = 0 // the system proposes; a person approves
	cs, err = s.CreateChangeSet(ctx, a, in)
	if err != nil {
		return ChangeSet{}, false, err
	}
	cs, err = s.SubmitChangeSet(ctx, a, cs.ID)
	return cs, false, err
}

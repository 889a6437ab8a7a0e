package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// ProposeMapping is how the sync engine proposes a mapping for a record it
// created: a proposed change from SourceEngine, submitted for approval at once,
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

// ProposedRef finds an open proposed change that proposes to map the reference
// (conn, entityType, externalID) and returns the reference it proposes on
// the connection to: how a flow that created a record knows it did, while
// the mapping waits for approval.
func (q q) ProposedRef(ctx context.Context, conn int64, entityType, externalID string, to int64) (ref string, changeSet int64, found bool, err error) {
	var row struct {
		Ref string `db:"external_id"`
		CS  int64  `db:"change_set_id"`
	}
	err = sqlxGet(ctx, q, &row, `SELECT o.external_id, o.change_set_id
FROM change_set_items i
JOIN change_sets cs ON cs.id = i.change_set_id AND cs.status IN ('draft', 'pending')
JOIN change_set_items o ON o.change_set_id = i.change_set_id AND o.connection_id = $4 AND o.entity_type = i.entity_type
  AND o.entity_key = i.entity_key AND o.op = 'set'
WHERE i.connection_id = $1 AND i.entity_type = $2 AND i.external_id = $3 AND i.op = 'set'
ORDER BY o.change_set_id LIMIT 1`, conn, entityType, externalID, to)
	if errors.Is(err, ErrNotFound) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("store: proposed reference: %w", err)
	}
	return row.Ref, row.CS, true, nil
}

// WatermarkDigests returns the digests stored with the high-water marks of
// entities of one type of a connection, by external id.
func (q q) WatermarkDigests(ctx context.Context, connectionID int64, entityType string, externalIDs []string) (map[string]string, error) {
	var rows []struct {
		ID     string `db:"external_id"`
		Digest string `db:"digest"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT external_id, digest FROM sync_watermarks
WHERE connection_id = $1 AND entity_type = $2 AND external_id = ANY($3)`, connectionID, entityType, pq.Array(externalIDs)); err != nil {
		return nil, fmt.Errorf("store: watermark digests: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Digest
	}
	return out, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"crossdock/vocab"
)

// SourceSeed marks a change set written by Crossdock itself to seed a
// workspace (the demo's catalogue), applied at once.
const SourceSeed = "seed"

// ErrSeedConflicts is returned when a seed would change or collide with
// mappings that exist already: a seed only adds to an empty slate.
var ErrSeedConflicts = errors.New("the mappings to seed collide with existing mappings")

// SeedMappings applies mappings written by the system (a.UserID is 0, e.g.
// "Demo workspace") as one change set and one mapping version, through the
// same rows, checks and history as any change set: it is listed with the
// others, its source says it is a seed, and one audit entry records it.
// There is no proposer, so nobody approves their own change; a seed that
// would move or collide with existing mappings is refused whole.
func (s *Store) SeedMappings(ctx context.Context, a Actor, in NewChangeSet) (ChangeSet, error) {
	if a.UserID != 0 {
		return ChangeSet{}, errors.New("store: seed mappings: only the system seeds mappings; a person proposes a change set")
	}
	if len(in.Items) == 0 || len(in.Items) > MaxChangeSetRow {
		return ChangeSet{}, fmt.Errorf("store: seed mappings: %d rows", len(in.Items))
	}
	in.Source = SourceSeed
	if in.Title == "" {
		in.Title = defaultTitle(in.Items, in.Source)
	}
	fe, err := s.validateItems(ctx, in.Items)
	if err != nil {
		return ChangeSet{}, err
	}
	if len(fe) > 0 {
		return ChangeSet{}, fe
	}
	var cs ChangeSet
	err = s.InTx(ctx, func(tx *Tx) error {
		// Serialised with approvals on the version counter, as they are.
		var version int64
		if err := sqlxGet(ctx, tx.q, &version, `SELECT current_version FROM mapping_state FOR UPDATE`); err != nil {
			return fmt.Errorf("store: lock mapping version: %w", err)
		}
		var err error
		if cs, err = tx.insertChangeSet(ctx, a, in); err != nil {
			return err
		}
		if err := tx.copyItems(ctx, cs.ID, 1, in.Items); err != nil {
			return err
		}
		if cs, err = tx.checkChangeSet(ctx, cs.ID); err != nil {
			return err
		}
		if cs.NConflicts > 0 || cs.NInvalid > 0 || cs.NChange > 0 || cs.NRemove > 0 {
			return fmt.Errorf("store: seed mappings: %d conflicts, %d changes, %d removals: %w", cs.NConflicts, cs.NChange, cs.NRemove, ErrSeedConflicts)
		}
		if cs.NAdd == 0 {
			return ErrNothingToChange
		}
		version++
		if err := tx.apply(ctx, cs, version); err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO mapping_versions (version, change_set_id, applied_by, applied_label) VALUES ($1, $2, NULL, $3)`,
			version, cs.ID, a.Label); err != nil {
			return fmt.Errorf("store: record version: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE mapping_state SET current_version = $1`, version); err != nil {
			return fmt.Errorf("store: bump version: %w", err)
		}
		if err := sqlxGet(ctx, tx.q, &cs, `UPDATE change_sets SET status = 'approved', submitted_at = now(), version = $2, decided_at = now(),
  decided_by = NULL, decided_label = $3, decision_comment = $4 WHERE id = $1 RETURNING `+changeSetColumns,
			cs.ID, version, a.Label, "Applied by Crossdock when "+a.Label+" was loaded: a seed, not approved by a person."); err != nil {
			return fmt.Errorf("store: seed change set: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.seeded", ObjectType: "change_set", ObjectID: strconv.FormatInt(cs.ID, 10),
			Summary: fmt.Sprintf("%s seeded proposed change #%d %q: mapping version %d (%s mappings added)", a.Label, cs.ID, cs.Title, version,
				vocab.Thousands(cs.NAdd)),
			After: auditChangeSet(cs)})
	})
	if err != nil {
		return ChangeSet{}, err
	}
	return cs, nil
}

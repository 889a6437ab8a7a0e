package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/store/rules"
	"crossdock/vocab"
)

// ErrRuleChanged is returned when a source-of-truth rule was changed by
// someone else after the form being saved was opened.
var ErrRuleChanged = errors.New("someone else changed this rule while you were editing it")

// SourceRuleInput is an admin's choice for one data family, as the form sends it.
type SourceRuleInput struct {
	Family           vocab.Family
	Master           int64   // 0: nobody decides the family
	Receivers        []int64 // the systems the family is written into
	EditedByHand     []int64 // receivers in which people also edit the family by hand
	Trigger          rules.Trigger
	SweepMinutes     int
	FreshnessMinutes int
	Policy           rules.Policy
	// FieldOwners (products only): a system per product field that it owns;
	// a field left out follows the master of its family.
	FieldOwners map[string]int64
	// Version is the family's version the form was based on (0 for a family
	// never saved): saving fails with ErrRuleChanged if it moved on since.
	Version int64
}

// Normalize drops duplicates, hand-edit ticks of systems that receive nothing
// and empty field owners.
func (in *SourceRuleInput) Normalize() {
	in.Receivers = dedupe(in.Receivers)
	in.EditedByHand = slices.DeleteFunc(dedupe(in.EditedByHand), func(id int64) bool { return !slices.Contains(in.Receivers, id) })
	maps.DeleteFunc(in.FieldOwners, func(_ string, id int64) bool { return id == 0 })
}

func dedupe(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(id int64) bool { return id <= 0 })
}

// Validate checks the choices that do not need the database.
func (in SourceRuleInput) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	if !in.Family.Valid() {
		fe["family"] = "Choose one of the kinds of data Crossdock syncs."
	}
	noun := in.Family.Noun()
	if in.Master != 0 && slices.Contains(in.Receivers, in.Master) {
		fe["receivers"] = fmt.Sprintf("The system that decides %s cannot also receive them: untick it here, or choose another master.", noun)
	}
	if !in.Trigger.Valid() {
		fe["trigger"] = "Choose real time or a schedule."
	}
	if in.SweepMinutes < rules.MinSweepMinutes || in.SweepMinutes > rules.MaxSweepMinutes {
		fe["sweep_minutes"] = fmt.Sprintf("Enter a whole number of minutes from %d to %d (a day).", rules.MinSweepMinutes, rules.MaxSweepMinutes)
	}
	if in.FreshnessMinutes < rules.MinFreshnessMinutes || in.FreshnessMinutes > rules.MaxFreshnessMinutes {
		fe["freshness_minutes"] = fmt.Sprintf("Enter a whole number of minutes from %d to %d (a week).", rules.MinFreshnessMinutes, rules.MaxFreshnessMinutes)
	}
	if !in.Policy.Valid() {
		fe["policy"] = "Choose what happens on a conflict: the master wins, or the change is held for review."
	}
	for _, key := range slices.Sorted(maps.Keys(in.FieldOwners)) {
		if in.Family != vocab.Products {
			fe["form"] = "Only products have owners field by field."
			break
		}
		if _, ok := rules.ProductField(key); !ok {
			fe["form"] = fmt.Sprintf("Crossdock does not know the product field %q.", key)
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

type sourceRuleRow struct {
	Family    string    `db:"family"`
	Master    *int64    `db:"master_connection_id"`
	Trigger   string    `db:"trigger"`
	Sweep     int       `db:"sweep_minutes"`
	Freshness int       `db:"freshness_minutes"`
	Policy    string    `db:"conflict_policy"`
	Version   int64     `db:"version"`
	UpdatedAt time.Time `db:"updated_at"`
	UpdatedBy string    `db:"updated_by_label"`
}

type receiverRow struct {
	Family       string `db:"family"`
	ConnectionID int64  `db:"connection_id"`
	EditedByHand bool   `db:"edited_by_hand"`
}

type fieldOwnerRow struct {
	Field        string `db:"field"`
	ConnectionID int64  `db:"connection_id"`
}

type ruleConnRow struct {
	ID          int64             `db:"id"`
	Name        string            `db:"name"`
	Kind        vocab.Kind        `db:"kind"`
	Environment vocab.Environment `db:"environment"`
	Enabled     bool              `db:"enabled"`
}

// SourceRules loads every source of truth as one consistent snapshot, with
// the connections the rules name.
func (s *Store) SourceRules(ctx context.Context) (rules.Rules, error) {
	// Several statements must see the same moment: a read-only transaction
	// in repeatable read gives them one snapshot without blocking a save.
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return rules.Rules{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return q{ext: tx}.SourceRules(ctx)
}

// SourceRules loads every source of truth (inside a transaction, as it sees it).
func (q q) SourceRules(ctx context.Context) (rules.Rules, error) {
	rs := rules.Rules{Families: map[vocab.Family]rules.Rule{}, FieldOwners: map[string]int64{}}
	var rows []sourceRuleRow
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, master_connection_id, trigger, sweep_minutes, freshness_minutes,
conflict_policy, version, updated_at, updated_by_label FROM source_rules`); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rules: %w", err)
	}
	var recv []receiverRow
	if err := sqlxSelect(ctx, q, &recv, `SELECT r.family, r.connection_id, r.edited_by_hand
FROM source_rule_receivers r JOIN connections c ON c.id = r.connection_id ORDER BY r.family, lower(c.name), c.id`); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rule receivers: %w", err)
	}
	var owners []fieldOwnerRow
	if err := sqlxSelect(ctx, q, &owners, `SELECT field, connection_id FROM product_field_owners`); err != nil {
		return rules.Rules{}, fmt.Errorf("store: product field owners: %w", err)
	}
	var conns []ruleConnRow
	if err := sqlxSelect(ctx, q, &conns, `SELECT id, name, kind, environment, enabled FROM connections ORDER BY lower(name), id`); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rule connections: %w", err)
	}
	if err := sqlxGet(ctx, q, &rs.Version, `SELECT COALESCE(max(version), 0) FROM source_rule_versions`); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rules version: %w", err)
	}
	for _, r := range rows {
		rule := rules.Rule{Family: vocab.Family(r.Family), Set: true, Trigger: rules.Trigger(r.Trigger), SweepMinutes: r.Sweep,
			FreshnessMinutes: r.Freshness, Policy: rules.Policy(r.Policy), Version: r.Version, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
		if r.Master != nil {
			rule.Master = *r.Master
		}
		for _, rc := range recv {
			if rc.Family == r.Family {
				rule.Receivers = append(rule.Receivers, rules.Receiver{ConnectionID: rc.ConnectionID, EditedByHand: rc.EditedByHand})
			}
		}
		rs.Families[rule.Family] = rule
	}
	for _, o := range owners {
		rs.FieldOwners[o.Field] = o.ConnectionID
	}
	for _, c := range conns {
		rs.Connections = append(rs.Connections, rules.ConnInfo{ID: c.ID, Name: c.Name, Kind: c.Kind, Environment: c.Environment,
			Enabled: c.Enabled, SendsWebhooks: c.Kind == vocab.KindShopify || c.Kind == vocab.KindShipBob})
	}
	return rs, nil
}

// SourceRulesVersion is the version of the newest saved rules.
func (q q) SourceRulesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := sqlxGet(ctx, q, &v, `SELECT COALESCE(max(version), 0) FROM source_rule_versions`); err != nil {
		return 0, fmt.Errorf("store: source rules version: %w", err)
	}
	return v, nil
}

// SourceRulesAt returns the rules in force from a version on, as they were
// saved (connection names as they were then); ErrNotFound for an unknown version.
func (q q) SourceRulesAt(ctx context.Context, version int64) (rules.Rules, error) {
	var raw []byte
	if err := sqlxGet(ctx, q, &raw, `SELECT rules FROM source_rule_versions WHERE version = $1`, version); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rules version %d: %w", version, err)
	}
	var rs rules.Rules
	if err := json.Unmarshal(raw, &rs); err != nil {
		return rules.Rules{}, fmt.Errorf("store: source rules version %d: %w", version, err)
	}
	return rs, nil
}

// SaveSourceRule validates and saves an admin's choice for one family, as the
// next rules version, with its audit entry (before and after) in the same
// transaction. It returns the rules now in force.
func (s *Store) SaveSourceRule(ctx context.Context, a Actor, in SourceRuleInput) (rules.Rules, error) {
	in.Normalize()
	if fe := in.Validate(); fe != nil {
		return rules.Rules{}, fe
	}
	var after rules.Rules
	err := s.InTx(ctx, func(tx *Tx) error {
		// Saves take turns: each gets the next version number, checks the
		// version its form was based on, and audits an exact before-image.
		// Readers are not blocked by this lock mode.
		if _, err := tx.ext.ExecContext(ctx, `LOCK TABLE source_rules IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("store: lock source rules: %w", err)
		}
		before, err := tx.SourceRules(ctx)
		if err != nil {
			return err
		}
		if before.Rule(in.Family).Version != in.Version {
			return ErrRuleChanged
		}
		if fe := checkRuleConnections(before, in); fe != nil {
			return fe
		}
		version := before.Version + 1
		var actorID *int64
		if a.UserID != 0 {
			actorID = &a.UserID
		}
		var master *int64
		if in.Master != 0 {
			master = &in.Master
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO source_rules (family, master_connection_id, trigger, sweep_minutes,
  freshness_minutes, conflict_policy, version, updated_at, updated_by, updated_by_label)
VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9)
ON CONFLICT (family) DO UPDATE SET master_connection_id = EXCLUDED.master_connection_id, trigger = EXCLUDED.trigger,
  sweep_minutes = EXCLUDED.sweep_minutes, freshness_minutes = EXCLUDED.freshness_minutes,
  conflict_policy = EXCLUDED.conflict_policy, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
  updated_by = EXCLUDED.updated_by, updated_by_label = EXCLUDED.updated_by_label`,
			in.Family, master, in.Trigger, in.SweepMinutes, in.FreshnessMinutes, in.Policy, version, actorID, a.Label); err != nil {
			return fmt.Errorf("store: save source rule: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `DELETE FROM source_rule_receivers WHERE family = $1`, in.Family); err != nil {
			return fmt.Errorf("store: save source rule receivers: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO source_rule_receivers (family, connection_id, edited_by_hand)
SELECT $1, id, COALESCE(id = ANY($3::bigint[]), false) FROM unnest($2::bigint[]) AS id`, in.Family, pq.Array(in.Receivers), pq.Array(in.EditedByHand)); err != nil {
			return fmt.Errorf("store: save source rule receivers: %w", err)
		}
		if in.Family == vocab.Products {
			fields := slices.Sorted(maps.Keys(in.FieldOwners))
			ids := make([]int64, len(fields))
			for i, f := range fields {
				ids[i] = in.FieldOwners[f]
			}
			if _, err := tx.ext.ExecContext(ctx, `DELETE FROM product_field_owners`); err != nil {
				return fmt.Errorf("store: save product field owners: %w", err)
			}
			if _, err := tx.ext.ExecContext(ctx, `INSERT INTO product_field_owners (field, connection_id)
SELECT * FROM unnest($1::text[], $2::bigint[])`, pq.Array(fields), pq.Array(ids)); err != nil {
				return fmt.Errorf("store: save product field owners: %w", err)
			}
		}
		if after, err = tx.SourceRules(ctx); err != nil {
			return err
		}
		after.Version = version // its row is the next insert
		snapshot, err := json.Marshal(after)
		if err != nil {
			return fmt.Errorf("store: source rules snapshot: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO source_rule_versions (version, family, saved_by, rules) VALUES ($1, $2, $3, $4)`,
			version, in.Family, cmp.Or(a.Label, "system"), snapshot); err != nil {
			return fmt.Errorf("store: save source rules version: %w", err)
		}
		var beforeAudit any
		if before.Rule(in.Family).Set {
			beforeAudit = auditSourceRule(before, in.Family)
		}
		return tx.Audit(ctx, a, Change{Action: "source_rule.updated", ObjectType: "source_rule", ObjectID: string(in.Family),
			Summary: fmt.Sprintf("Changed the source of truth for %s: %s", strings.ToLower(in.Family.Label()), after.Explain(in.Family)),
			Before:  beforeAudit, After: auditSourceRule(after, in.Family)})
	})
	if err != nil {
		return rules.Rules{}, err
	}
	return after, nil
}

// checkRuleConnections checks that every system the input names exists.
func checkRuleConnections(rs rules.Rules, in SourceRuleInput) vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	exists := func(id int64) bool { _, ok := rs.Conn(id); return ok }
	if in.Master != 0 && !exists(in.Master) {
		fe["master"] = "That system is not connected (any more): choose another one."
	}
	for _, id := range in.Receivers {
		if !exists(id) {
			fe["receivers"] = "One of the ticked systems is not connected (any more): reload the page and tick again."
		}
	}
	for field, id := range in.FieldOwners {
		if !exists(id) {
			fe["owner_"+field] = "That system is not connected (any more): choose another one."
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

type auditConn struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type auditReceiver struct {
	auditConn
	EditedByHand bool `json:"edited_by_hand"`
}

// auditSourceRule is what the audit log keeps of a family's rule: ids with
// the names they had, so the entry still reads well after a rename.
func auditSourceRule(rs rules.Rules, f vocab.Family) map[string]any {
	rule := rs.Rule(f)
	conn := func(id int64) *auditConn {
		if id == 0 {
			return nil
		}
		return &auditConn{ID: id, Name: rs.Name(id)}
	}
	receivers := []auditReceiver{}
	for _, rc := range rule.Receivers {
		receivers = append(receivers, auditReceiver{auditConn: *conn(rc.ConnectionID), EditedByHand: rc.EditedByHand})
	}
	m := map[string]any{"family": f, "master": conn(rule.Master), "receivers": receivers, "trigger": rule.Trigger,
		"sweep_minutes": rule.SweepMinutes, "freshness_minutes": rule.FreshnessMinutes, "conflict_policy": rule.Policy,
		"version": rule.Version, "explanation": rs.Explain(f)}
	if f == vocab.Products {
		owners := map[string]*auditConn{}
		for field, id := range rs.FieldOwners {
			owners[field] = conn(id)
		}
		m["field_owners"] = owners
	}
	return m
}

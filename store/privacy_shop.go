package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// The steps of a shop's erasure (shop/redact), in order. What is "the
// shop's data": everything Crossdock took from or sent to that one
// connection — its syncs (either way, with their attempts), its webhook
// deliveries and turned-away deliveries, its catalogue, its side of the
// mappings (and the proposed changes' lines about it), its high-water marks,
// stock levels, exclusions, comparison rows and discrepancies, its finance
// review, its call counts, and its credentials. Kept: the audit log, the privacy requests
// (the shop's erasure says what it did), the connection's row (disabled,
// without credentials: connections are never deleted, and the audit log and
// requests name it), its rules and other systems' data.
const (
	ShopStepSyncs = iota
	ShopStepDeliveries
	ShopStepTurnedAway
	ShopStepCatalogue
	ShopStepMarks
	ShopStepMappings
	ShopStepRest
	ShopStepDone
)

// ShopErasure is a shop's erasure under way.
type ShopErasure struct {
	ID             int64     `db:"id"`
	ConnectionID   int64     `db:"connection_id"`
	ConnectionName string    `db:"connection_name"`
	Enabled        bool      `db:"enabled"`
	Step           int       `db:"shop_step"`
	Cursor         int64     `db:"shop_cursor"`
	CountsJSON     []byte    `db:"shop_counts"`
	Confirmed      bool      `db:"confirmed"`
	DueAt          time.Time `db:"due_at"`
	// Counts are the rows deleted so far, per step (ShopStep*).
	Counts map[int]int `db:"-"`
}

func (w *ShopErasure) decode() error {
	w.Counts = map[int]int{}
	if len(w.CountsJSON) == 0 {
		return nil
	}
	var raw map[string]int
	if err := json.Unmarshal(w.CountsJSON, &raw); err != nil {
		return fmt.Errorf("store: shop erasure %d counts: %w", w.ID, err)
	}
	for k, v := range raw {
		if n, err := strconv.Atoi(k); err == nil {
			w.Counts[n] = v
		}
	}
	return nil
}

const shopErasureColumns = `p.id, p.connection_id, c.name AS connection_name, c.enabled, p.shop_step, p.shop_cursor, p.shop_counts,
p.shop_confirmed_at IS NOT NULL AS confirmed, p.due_at`

// ClaimShopErasure locks the shop erasure due first that may run — its
// connection disabled, or an admin confirmed it — and that no other replica
// holds, or returns ErrNotFound. Call it on a Tx.
func (q q) ClaimShopErasure(ctx context.Context) (ShopErasure, error) {
	var w ShopErasure
	err := sqlxGet(ctx, q, &w, `SELECT `+shopErasureColumns+`
FROM privacy_requests p JOIN connections c ON c.id = p.connection_id
WHERE p.kind = 'shop_redact' AND p.completed_at IS NULL AND (p.shop_confirmed_at IS NOT NULL OR NOT c.enabled)
ORDER BY p.due_at, p.id LIMIT 1 FOR UPDATE OF p SKIP LOCKED`)
	if err != nil {
		return w, err
	}
	return w, w.decode()
}

// ShopErasureOf reads a shop erasure's state (for its page).
func (q q) ShopErasureOf(ctx context.Context, requestID int64) (ShopErasure, error) {
	var w ShopErasure
	if err := sqlxGet(ctx, q, &w, `SELECT `+shopErasureColumns+`
FROM privacy_requests p JOIN connections c ON c.id = p.connection_id WHERE p.id = $1 AND p.kind = 'shop_redact'`, requestID); err != nil {
		return w, fmt.Errorf("store: shop erasure %d: %w", requestID, err)
	}
	return w, w.decode()
}

// ShopErasureCounts are what a shop's erasure is about to delete, as far as
// an index tells cheaply (capped at limit each: a page needs no exact count
// of millions).
type ShopErasureCounts struct {
	Deliveries int `db:"deliveries"`
	Catalogue  int `db:"catalogue"`
	Mappings   int `db:"mappings"`
}

// ShopErasureScope counts, up to limit each, the webhook deliveries,
// catalogue records and mappings a shop's erasure deletes.
func (q q) ShopErasureScope(ctx context.Context, connectionID int64, limit int) (ShopErasureCounts, error) {
	var n ShopErasureCounts
	if err := sqlxGet(ctx, q, &n, `SELECT
  (SELECT count(*) FROM (SELECT 1 FROM webhook_events WHERE connection_id = $1 LIMIT $2) x) AS deliveries,
  (SELECT count(*) FROM (SELECT 1 FROM external_records WHERE connection_id = $1 LIMIT $2) x) AS catalogue,
  (SELECT count(*) FROM (SELECT 1 FROM mapping_refs WHERE connection_id = $1 AND valid_to IS NULL LIMIT $2) x) AS mappings`,
		connectionID, limit); err != nil {
		return n, fmt.Errorf("store: shop erasure scope of connection %d: %w", connectionID, err)
	}
	return n, nil
}

// ConfirmShopErasure records that an admin confirmed a shop's erasure, in
// the audit log. A request confirmed or done already is ErrConflict.
func (q q) ConfirmShopErasure(ctx context.Context, a Actor, requestID int64) error {
	res, err := q.ext.ExecContext(ctx, `UPDATE privacy_requests SET shop_confirmed_at = now(), shop_confirmed_by = $2,
  status = 'in_progress', progress = 'Erasing the shop''s data: starting.'
WHERE id = $1 AND kind = 'shop_redact' AND completed_at IS NULL AND shop_confirmed_at IS NULL`, requestID, a.Label)
	if err != nil {
		return fmt.Errorf("store: confirm shop erasure %d: %w", requestID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: confirm shop erasure %d: %w", requestID, err)
	} else if n == 0 {
		if _, err := q.ShopErasureOf(ctx, requestID); err != nil {
			return err
		}
		return ErrConflict
	}
	return q.Audit(ctx, a, Change{Action: "privacy_request.shop_erasure_confirmed", ObjectType: "privacy_request",
		ObjectID: strconv.FormatInt(requestID, 10), Summary: fmt.Sprintf("Confirmed privacy request #%d: erase the shop's data.", requestID)})
}

// EraseShopChunk deletes the next chunk of a shop's erasure's current step
// (at most chunk rows, or for syncs a window of chunk ids) and returns how
// many rows it deleted and whether the step is finished. w.Cursor is moved
// on for the syncs step.
func (q q) EraseShopChunk(ctx context.Context, w *ShopErasure, chunk int) (deleted int, stepDone bool, err error) {
	conn := w.ConnectionID
	// deleteSome deletes up to chunk rows of table belonging to the
	// connection; ctid works for every table, whatever its key.
	deleteSome := func(table, where string) (int, bool, error) {
		var n int
		err := sqlxGet(ctx, q, &n, `WITH d AS (DELETE FROM `+table+` WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM `+table+` WHERE `+where+` LIMIT $2)) RETURNING 1) SELECT count(*) FROM d`, conn, chunk)
		return n, n < chunk, err
	}
	switch w.Step {
	case ShopStepSyncs:
		// Syncs have no index on their connections (every list reads them by
		// time or problem): walk the table by id, a window per transaction,
		// and delete the connection's within it. One pass over the table, in
		// short transactions, instead of an index every sync would pay for.
		var r struct {
			Last int64 `db:"last"`
			N    int   `db:"n"`
		}
		err = sqlxGet(ctx, q, &r, `WITH w AS (
  SELECT id, source_connection_id, target_connection_id FROM syncs WHERE id > $2 ORDER BY id LIMIT $3
), d AS (
  DELETE FROM syncs s USING w WHERE s.id = w.id AND (w.source_connection_id = $1 OR w.target_connection_id = $1) RETURNING 1
)
SELECT COALESCE((SELECT max(id) FROM w), 0) AS last, (SELECT count(*) FROM d) AS n`, conn, w.Cursor, chunk)
		if err != nil {
			return 0, false, fmt.Errorf("store: erase the shop's syncs: %w", err)
		}
		if r.Last == 0 {
			return 0, true, nil
		}
		w.Cursor = r.Last
		return r.N, false, nil
	case ShopStepDeliveries:
		deleted, stepDone, err = deleteSome("webhook_events", "connection_id = $1")
	case ShopStepTurnedAway:
		deleted, stepDone, err = deleteSome("webhook_rejections", "connection_id = $1")
	case ShopStepCatalogue:
		deleted, stepDone, err = deleteSome("external_records", "connection_id = $1")
	case ShopStepMarks:
		deleted, stepDone, err = deleteSome("sync_watermarks", "connection_id = $1")
	case ShopStepMappings:
		deleted, err = q.eraseShopMappings(ctx, conn)
		stepDone = true
	case ShopStepRest:
		deleted, err = q.eraseShopRest(ctx, conn)
		stepDone = true
	default:
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: erase the shop's data (step %d): %w", w.Step, err)
	}
	return deleted, stepDone, nil
}

// eraseShopMappings removes the shop's side of the mappings, its history
// included, and the proposed changes' lines about it; a mapped record of
// another system keeps its own side. Entities left with no side at all go.
// It returns how many of the shop's mapping rows it deleted.
func (q q) eraseShopMappings(ctx context.Context, conn int64) (int, error) {
	var entities []int64
	if err := sqlxSelect(ctx, q, &entities, `SELECT DISTINCT entity_id FROM mapping_refs WHERE connection_id = $1`, conn); err != nil {
		return 0, err
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE change_set_items SET before_ref_id = NULL
WHERE before_ref_id IN (SELECT id FROM mapping_refs WHERE connection_id = $1)`, conn); err != nil {
		return 0, err
	}
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM change_set_items WHERE connection_id = $1`, conn); err != nil {
		return 0, err
	}
	var n int
	if err := sqlxGet(ctx, q, &n, `WITH d AS (DELETE FROM mapping_refs WHERE connection_id = $1 RETURNING 1) SELECT count(*) FROM d`, conn); err != nil {
		return 0, err
	}
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM mapping_entities e WHERE e.id = ANY ($1)
  AND NOT EXISTS (SELECT 1 FROM mapping_refs r WHERE r.entity_id = e.id)
  AND NOT EXISTS (SELECT 1 FROM change_set_items i WHERE i.entity_id = e.id)`, pq.Array(entities)); err != nil {
		return 0, err
	}
	return n, nil
}

// eraseShopRest deletes the shop's small tables in one go and takes its
// credentials away: the connection stays, disabled, so that the audit log
// and the privacy requests still name it.
func (q q) eraseShopRest(ctx context.Context, conn int64) (int, error) {
	total := 0
	for _, stmt := range []string{
		`DELETE FROM sync_cursors WHERE connection_id = $1`,
		`DELETE FROM sync_inventory_levels WHERE connection_id = $1`,
		`DELETE FROM exclusions WHERE connection_id = $1`,
		`DELETE FROM discrepancies WHERE master_connection_id = $1 OR other_connection_id = $1`,
		`DELETE FROM recon_stock WHERE connection_id = $1`,
		`DELETE FROM recon_prices WHERE connection_id = $1`,
		`DELETE FROM recon_orders WHERE connection_id = $1`,
		`DELETE FROM recon_refunds WHERE connection_id = $1`,
		`DELETE FROM recon_records WHERE connection_id = $1`,
		`DELETE FROM recon_collections WHERE connection_id = $1`,
		// The finance review of the shop's prices, margins and revenue.
		`DELETE FROM finance_rows WHERE run_id IN (SELECT run_id FROM finance_runs WHERE connection_id = $1)`,
		`DELETE FROM finance_bands WHERE run_id IN (SELECT run_id FROM finance_runs WHERE connection_id = $1)`,
		`DELETE FROM finance_collections WHERE run_id IN (SELECT run_id FROM finance_runs WHERE connection_id = $1)`,
		`DELETE FROM finance_runs WHERE connection_id = $1`,
		`DELETE FROM webhook_rejection_hours WHERE connection_id = $1`,
		`DELETE FROM connection_call_hours WHERE connection_id = $1`,
		`DELETE FROM replica_connection_states WHERE connection_id = $1`,
		// The shop's customers' answered requests forget who asked.
		`UPDATE privacy_requests SET customer_email = '', customer_phone = '' WHERE connection_id = $1 AND completed_at IS NOT NULL
  AND (customer_email <> '' OR customer_phone <> '')`,
		`UPDATE privacy_system_erasures e SET lookup_email = '' FROM privacy_requests p
WHERE p.id = e.request_id AND p.connection_id = $1 AND e.lookup_email <> ''`,
	} {
		res, err := q.ext.ExecContext(ctx, stmt, conn)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", stmt, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE connections SET enabled = false, secrets = NULL, secrets_changed_at = now(),
  previous_webhook_secret = NULL, previous_secret_valid_until = NULL, budget = NULL, budget_seen_at = NULL, last_error = '',
  updated_at = now() WHERE id = $1`, conn); err != nil {
		return 0, fmt.Errorf("take the credentials away: %w", err)
	}
	return total, nil
}

// AdvanceShopErasure records a chunk's work: the step and position reached,
// the counts so far and where the erasure stands in words. The last one
// marks the request done, in the audit log.
func (q q) AdvanceShopErasure(ctx context.Context, w ShopErasure, progress string, done bool) error {
	counts := map[string]int{}
	for k, v := range w.Counts {
		counts[strconv.Itoa(k)] = v
	}
	b, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	query := `UPDATE privacy_requests SET shop_step = $2, shop_cursor = $3, shop_counts = $4, progress = $5, status = 'in_progress' WHERE id = $1`
	if done {
		query = `UPDATE privacy_requests SET shop_step = $2, shop_cursor = $3, shop_counts = $4, progress = $5, status = 'done', completed_at = now() WHERE id = $1`
	}
	if _, err := q.ext.ExecContext(ctx, query, w.ID, w.Step, w.Cursor, b, progress); err != nil {
		return fmt.Errorf("store: advance shop erasure %d: %w", w.ID, err)
	}
	if !done {
		return nil
	}
	return q.Audit(ctx, SystemActor("Crossdock"), Change{Action: "privacy_request.shop_erased", ObjectType: "privacy_request",
		ObjectID: strconv.FormatInt(w.ID, 10), Summary: fmt.Sprintf("Privacy request #%d: %s", w.ID, progress)})
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"crossdock/vocab"
)

// Discrepancy is one difference a reconciliation found between two systems.
type Discrepancy struct {
	ID                 int64           `db:"id"`
	Family             string          `db:"family"`
	Kind               string          `db:"kind"`
	Key                string          `db:"key"`
	MasterConnectionID *int64          `db:"master_connection_id"`
	OtherConnectionID  *int64          `db:"other_connection_id"`
	Label              string          `db:"label"`
	MasterValue        string          `db:"master_value"`
	OtherValue         string          `db:"other_value"`
	Size               float64         `db:"size"`
	Detail             json.RawMessage `db:"detail"`
	Status             string          `db:"status"`
	AssigneeID         *int64          `db:"assignee_id"`
	AssigneeName       *string         `db:"assignee_name"`
	Note               string          `db:"note"`
	FirstSeenAt        time.Time       `db:"first_seen_at"`
	LastSeenAt         time.Time       `db:"last_seen_at"`
	FirstRunID         int64           `db:"first_run_id"`
	LastRunID          int64           `db:"last_run_id"`
	ClosedAt           *time.Time      `db:"closed_at"`
	SyncID             *int64          `db:"sync_id"`
}

// Live reports whether people still have to act on it.
func (d Discrepancy) Live() bool { return d.Status == DiscOpen || d.Status == DiscAcknowledged }

// Pushable reports whether resolving it can send the master's value: stock
// levels, prices and costs have a flow that writes them.
func (d Discrepancy) Pushable() bool {
	return d.Live() && (d.Kind == "stock" || d.Kind == "price" || d.Kind == "cost")
}

// KindText says what kind of difference it is, in plain words.
func (d Discrepancy) KindText() string { return DiscKindText(d.Kind) }

// DiscKindText names a kind of difference.
func DiscKindText(kind string) string {
	switch kind {
	case "stock":
		return "Stock level differs"
	case "price":
		return "Price differs"
	case "cost":
		return "Cost differs"
	case "order_missing":
		return "Order missing in Odoo"
	case "order_unknown":
		return "Order unknown to Shopify"
	case "order_duplicate":
		return "Order in Odoo more than once"
	case "order_total":
		return "Order total differs"
	case "refund_no_credit_note":
		return "Refund without credit note"
	case "mapping_gone":
		return "Mapped record no longer exists"
	case "payout_no_deposit":
		return "Payout not found in the bank"
	case "payout_deposit_differs":
		return "Deposit differs from the payout"
	case "payout_sum_differs":
		return "Transactions do not add up to the payout"
	case "payout_orders_missing":
		return "Orders paid out but missing in the ERP"
	case DiscNotShipped:
		return "Order not shipped by the warehouse"
	case DiscWarehouseStock:
		return "Stock at the warehouse differs"
	}
	return kind
}

const discColumns = `d.id, d.family, d.kind, d.key, d.master_connection_id, d.other_connection_id, d.label, d.master_value,
d.other_value, d.size, d.detail, d.status, d.assignee_id, u.name AS assignee_name, d.note, d.first_seen_at, d.last_seen_at,
d.first_run_id, d.last_run_id, d.closed_at, d.sync_id`

const discFrom = ` FROM discrepancies d LEFT JOIN users u ON u.id = d.assignee_id`

// DiscFilter selects discrepancies; every field is optional.
type DiscFilter struct {
	Family       string
	ConnectionID int64 // either side
	Status       string
	AssigneeID   int64 // -1: nobody
	MinSize      float64
	// OlderThan keeps those first seen at least this long ago.
	OlderThan time.Duration
	// SentToOperators keeps those finance sent to the operators (a price fix
	// asked from the finance review).
	SentToOperators bool
	// KeyPrefix keeps those whose key starts with it ("17:": payout 17's).
	KeyPrefix string
	// Keyset: ids below BeforeID.
	BeforeID int64
	Limit    int
}

// ListDiscrepancies returns one page, newest first; more says whether another page exists.
func (q q) ListDiscrepancies(ctx context.Context, f DiscFilter) ([]Discrepancy, bool, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Family != "" {
		where = append(where, "d.family = "+arg(f.Family))
	}
	if f.ConnectionID != 0 {
		a := arg(f.ConnectionID)
		where = append(where, "(d.master_connection_id = "+a+" OR d.other_connection_id = "+a+")")
	}
	if f.Status != "" {
		where = append(where, "d.status = "+arg(f.Status))
	}
	switch {
	case f.AssigneeID > 0:
		where = append(where, "d.assignee_id = "+arg(f.AssigneeID))
	case f.AssigneeID < 0:
		where = append(where, "d.assignee_id IS NULL")
	}
	if f.MinSize > 0 {
		where = append(where, "d.size >= "+arg(f.MinSize))
	}
	if f.OlderThan > 0 {
		where = append(where, "d.first_seen_at <= "+arg(time.Now().Add(-f.OlderThan)))
	}
	if f.SentToOperators {
		where = append(where, sentToOperatorsSQL)
	}
	if f.KeyPrefix != "" {
		where = append(where, "starts_with(d.key, "+arg(f.KeyPrefix)+")")
	}
	if f.BeforeID > 0 {
		where = append(where, "d.id < "+arg(f.BeforeID))
	}
	limit := pageLimit(f.Limit)
	query := `SELECT ` + discColumns + discFrom
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY d.id DESC LIMIT " + arg(limit+1)
	var ds []Discrepancy
	if err := sqlxSelect(ctx, q, &ds, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list discrepancies: %w", err)
	}
	if len(ds) > limit {
		return ds[:limit], true, nil
	}
	return ds, false, nil
}

// DiscrepancyByID reads one discrepancy.
func (q q) DiscrepancyByID(ctx context.Context, id int64) (Discrepancy, error) {
	var d Discrepancy
	err := sqlxGet(ctx, q, &d, `SELECT `+discColumns+discFrom+` WHERE d.id = $1`, id)
	return d, err
}

// LockDiscrepancy reads a discrepancy for update, inside a transaction.
func (tx *Tx) LockDiscrepancy(ctx context.Context, id int64) (Discrepancy, error) {
	var d Discrepancy
	err := sqlxGet(ctx, tx.q, &d, `SELECT `+discColumns+discFrom+` WHERE d.id = $1 FOR UPDATE OF d`, id)
	return d, err
}

// ErrDiscrepancyClosed is returned when acting on a discrepancy that is already resolved or ignored.
var ErrDiscrepancyClosed = errors.New("This discrepancy is already closed; refresh the page to see its state.")

// DiscAction is a change people make to a discrepancy.
type DiscAction struct {
	ID     int64
	Action string // assign, acknowledge, ignore, reopen
	// AssigneeID for assign (0: nobody).
	AssigneeID int64
	// Note: the acknowledgement note or the reason for ignoring (required there).
	Note string
}

// Validate checks the action's input.
func (a DiscAction) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	n := utf8.RuneCountInString(strings.TrimSpace(a.Note))
	switch a.Action {
	case "assign", "reopen":
	case "acknowledge":
		if n == 0 {
			fe["note"] = "Say what you found or what happens next, so others know."
		}
	case "ignore":
		if n == 0 {
			fe["note"] = "Say why this difference can be ignored."
		}
	default:
		fe["action"] = "Unknown action."
	}
	if n > 1000 {
		fe["note"] = "Keep the note under 1,000 characters."
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// ActOnDiscrepancy applies an action, with its audit entry, in one transaction.
func (s *Store) ActOnDiscrepancy(ctx context.Context, a Actor, in DiscAction) (Discrepancy, error) {
	note := strings.TrimSpace(in.Note)
	var out Discrepancy
	err := s.InTx(ctx, func(tx *Tx) error {
		// The discrepancy first: one that does not exist is not found
		// (404), whatever the form says.
		d, err := tx.LockDiscrepancy(ctx, in.ID)
		if err != nil {
			return err
		}
		if fe := in.Validate(); fe != nil {
			return fe
		}
		var set string
		args := []any{d.ID}
		var summary string
		switch in.Action {
		case "assign":
			if d.Status == DiscResolved {
				return ErrDiscrepancyClosed
			}
			var who *int64
			summary = fmt.Sprintf("Discrepancy #%d (%s) unassigned.", d.ID, d.Label)
			if in.AssigneeID != 0 {
				u, err := tx.UserByID(ctx, in.AssigneeID)
				if err != nil {
					if errors.Is(err, ErrNotFound) {
						return vocab.FieldErrors{"assignee": "That person does not exist."}
					}
					return err
				}
				if !u.Active {
					return vocab.FieldErrors{"assignee": "That person's account is deactivated."}
				}
				who = &u.ID
				summary = fmt.Sprintf("Discrepancy #%d (%s) assigned to %s.", d.ID, d.Label, u.Name)
			}
			set, args = "assignee_id = $2", append(args, who)
		case "acknowledge":
			if !d.Live() {
				return ErrDiscrepancyClosed
			}
			set, args = "status = 'acknowledged', note = CASE WHEN note = '' THEN $2 ELSE note || E'\\n' || $2 END", append(args, note)
			summary = fmt.Sprintf("Discrepancy #%d (%s) acknowledged: %s", d.ID, d.Label, note)
		case "ignore":
			if !d.Live() {
				return ErrDiscrepancyClosed
			}
			set, args = "status = 'ignored', closed_at = now(), note = CASE WHEN note = '' THEN $2 ELSE note || E'\\n' || $2 END", append(args, "Ignored: "+note)
			summary = fmt.Sprintf("Discrepancy #%d (%s) ignored: %s", d.ID, d.Label, note)
		case "reopen":
			if d.Status != DiscIgnored {
				return ErrDiscrepancyClosed
			}
			set = "status = 'open', closed_at = NULL"
			summary = fmt.Sprintf("Discrepancy #%d (%s) reopened.", d.ID, d.Label)
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET `+set+` WHERE id = $1`, args...); err != nil {
			if isUniqueViolation(err) {
				return ErrDiscrepancyClosed
			}
			return fmt.Errorf("store: update discrepancy: %w", err)
		}
		out, err = tx.LockDiscrepancy(ctx, d.ID)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "discrepancy." + in.Action, ObjectType: "discrepancy", ObjectID: fmt.Sprint(d.ID),
			Summary: summary, Before: discAudit(d), After: discAudit(out)})
	})
	return out, err
}

// ResolvePushed marks a discrepancy resolved by the sync that sends the
// master's value, with its audit entry; call it in the transaction that
// creates the sync.
func (tx *Tx) ResolvePushed(ctx context.Context, a Actor, d Discrepancy, syncID int64, note string) error {
	if _, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET status = 'resolved', closed_at = now(), sync_id = $2,
note = CASE WHEN note = '' THEN $3 ELSE note || E'\n' || $3 END WHERE id = $1`, d.ID, syncID, note); err != nil {
		return fmt.Errorf("store: resolve discrepancy: %w", err)
	}
	after := discAudit(d)
	after["status"], after["sync_id"] = DiscResolved, syncID
	return tx.Audit(ctx, a, Change{Action: "discrepancy.resolved", ObjectType: "discrepancy", ObjectID: fmt.Sprint(d.ID),
		Summary: fmt.Sprintf("Discrepancy #%d (%s) resolved: %s", d.ID, d.Label, note), Before: discAudit(d), After: after})
}

func discAudit(d Discrepancy) map[string]any {
	return map[string]any{"status": d.Status, "assignee_id": d.AssigneeID, "note": d.Note,
		"master_value": d.MasterValue, "other_value": d.OtherValue}
}

// ReconCounts are the live discrepancies per family.
func (q q) ReconCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Family string `db:"family"`
		N      int64  `db:"n"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, count(*) AS n FROM discrepancies WHERE status IN ('open', 'acknowledged') GROUP BY family`); err != nil {
		return nil, fmt.Errorf("store: discrepancy counts: %w", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Family] = r.N
	}
	return out, nil
}

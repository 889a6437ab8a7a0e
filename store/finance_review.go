package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"crossdock/vocab"
)

// Finance review states of a variant.
const (
	ReviewAcknowledged = "acknowledged"
	ReviewAccepted     = "accepted"
	ReviewSent         = "sent"
)

// FinanceAction is what finance decides about one variant of the review.
type FinanceAction struct {
	VariantID int64
	Action    string // acknowledge, accept, send
	// Note: optional for acknowledge and send, the justification for accept.
	Note string
}

// Validate checks the action's input.
func (a FinanceAction) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	n := utf8.RuneCountInString(strings.TrimSpace(a.Note))
	switch a.Action {
	case "acknowledge", "send":
	case "accept":
		if n == 0 {
			fe["note"] = "Say why this price is accepted, for example “promo until Friday”."
		}
	default:
		fe["action"] = "Unknown action."
	}
	if n > 500 {
		fe["note"] = "Keep the note under 500 characters."
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// ErrNoPriceFix is returned when a variant is sent as a price fix but its
// storefront price has no open difference with the master's.
var ErrNoPriceFix = errors.New("There is no open price difference for this variant, so there is nothing for an operator to fix. If Odoo's price is wrong, change it in Odoo, then compare prices again.")

// FinanceReviewState is the decision recorded for a variant.
type FinanceReviewState struct {
	VariantID     int64  `db:"variant_id"`
	State         string `db:"state"`
	Note          string `db:"note"`
	DiscrepancyID *int64 `db:"discrepancy_id"`
	ByLabel       string `db:"by_label"`
}

// FinanceReviewOf reads a variant's review state (ErrNotFound: none yet).
func (q q) FinanceReviewOf(ctx context.Context, variantID int64) (FinanceReviewState, error) {
	var r FinanceReviewState
	err := sqlxGet(ctx, q, &r, `SELECT variant_id, state, note, discrepancy_id, by_label FROM finance_reviews WHERE variant_id = $1`, variantID)
	return r, err
}

// ReviewVariant records finance's decision about a variant of the latest
// prices comparison, with its audit entry, in one transaction. Sending a
// price fix writes the request on the variant's open price discrepancy, so
// operators find it in the discrepancy list and push the master's price
// from there (a write to a system stays with operators).
func (s *Store) ReviewVariant(ctx context.Context, a Actor, in FinanceAction) (FinanceReviewState, error) {
	if fe := in.Validate(); fe != nil {
		return FinanceReviewState{}, fe
	}
	note := strings.TrimSpace(in.Note)
	var out FinanceReviewState
	err := s.InTx(ctx, func(tx *Tx) error {
		var label string
		err := sqlxGet(ctx, tx.q, &label, `SELECT sku FROM finance_rows r WHERE r.run_id = `+financeRunSQL+` AND r.variant_id = $1`, in.VariantID)
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: finance variant: %w", err)
		}
		before, err := tx.FinanceReviewOf(ctx, in.VariantID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		state, summary := ReviewAcknowledged, fmt.Sprintf("Finance acknowledged %s.", label)
		var discID *int64
		switch in.Action {
		case "accept":
			state, summary = ReviewAccepted, fmt.Sprintf("Finance accepted the price of %s: %s", label, note)
		case "send":
			var id int64
			err := sqlxGet(ctx, tx.q, &id, `SELECT id FROM discrepancies WHERE family = 'prices' AND kind = 'price'
  AND split_part(key, ':v', 2) = $1::bigint::text AND status IN ('open', 'acknowledged') ORDER BY id DESC LIMIT 1`, in.VariantID)
			if errors.Is(err, ErrNotFound) {
				return ErrNoPriceFix
			}
			if err != nil {
				return fmt.Errorf("store: price discrepancy: %w", err)
			}
			d, err := tx.LockDiscrepancy(ctx, id)
			if err != nil {
				return err
			}
			req := fmt.Sprintf("%s (finance) asks for a price fix: send Odoo's price to the storefront.", a.Label)
			if note != "" {
				req += " " + note
			}
			if _, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET note = CASE WHEN note = '' THEN $2 ELSE note || E'\n' || $2 END WHERE id = $1`, d.ID, req); err != nil {
				return fmt.Errorf("store: price fix request: %w", err)
			}
			after := discAudit(d)
			after["note"] = strings.TrimPrefix(d.Note+"\n"+req, "\n")
			if err := tx.Audit(ctx, a, Change{Action: "discrepancy.price_fix_requested", ObjectType: "discrepancy", ObjectID: fmt.Sprint(d.ID),
				Summary: fmt.Sprintf("Discrepancy #%d (%s): %s", d.ID, d.Label, req), Before: discAudit(d), After: after}); err != nil {
				return err
			}
			discID = &d.ID
			state, summary = ReviewSent, fmt.Sprintf("Finance sent %s to the operators as a price fix (discrepancy #%d).", label, d.ID)
		}
		if in.Action != "accept" && note != "" {
			summary += " " + note
		}
		out = FinanceReviewState{VariantID: in.VariantID, State: state, Note: note, DiscrepancyID: discID, ByLabel: a.Label}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_reviews (variant_id, state, note, discrepancy_id, by_label, updated_at)
VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (variant_id) DO UPDATE SET state = $2, note = $3, discrepancy_id = $4, by_label = $5, updated_at = now()`,
			out.VariantID, out.State, out.Note, out.DiscrepancyID, out.ByLabel); err != nil {
			return fmt.Errorf("store: finance review: %w", err)
		}
		var b any
		if before.State != "" {
			b = before
		}
		return tx.Audit(ctx, a, Change{Action: "finance." + in.Action, ObjectType: "variant", ObjectID: fmt.Sprint(in.VariantID),
			Summary: summary, Before: b, After: out})
	})
	return out, err
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
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
	// AssigneeID: for send, the operator (or admin) the price fix is
	// assigned to; 0 for the default assignee (FinanceDefaultAssignee).
	AssigneeID int64
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
	if strings.ContainsRune(a.Note, 0) || !utf8.ValidString(a.Note) {
		fe["note"] = noteUnreadable
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// noteUnreadable answers a note with characters that cannot be stored.
const noteUnreadable = "The note holds characters that cannot be saved (a NUL byte or broken text). Type it again without them."

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
		var label, assignee string
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
			who, err := tx.financeAssignee(ctx, in.AssigneeID)
			if err != nil {
				return err
			}
			if who != nil {
				if _, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET assignee_id = $2 WHERE id = $1`, d.ID, who.ID); err != nil {
					return fmt.Errorf("store: assign price fix: %w", err)
				}
				assignee = who.Name
				if in.AssigneeID != 0 {
					// The person chosen is the default next time.
					if err := tx.setFinanceDefaultAssignee(ctx, who.ID); err != nil {
						return err
					}
				}
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
			if assignee != "" {
				summary = fmt.Sprintf("Finance sent %s to %s as a price fix (discrepancy #%d).", label, assignee, d.ID)
			}
		}
		if in.Action != "accept" && note != "" {
			summary += " " + note
		}
		out = FinanceReviewState{VariantID: in.VariantID, State: state, Note: note, DiscrepancyID: discID, ByLabel: a.Label}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_reviews (variant_id, state, note, discrepancy_id, by_label, updated_at)
VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (variant_id) DO UPDATE SET state = $2, note = $3, discrepancy_id = $4, by_label = $5, updated_at = now(),
  outcome = '', outcome_note = '', outcome_by = '', outcome_at = NULL`,
			out.VariantID, out.State, out.Note, out.DiscrepancyID, out.ByLabel); err != nil {
			return fmt.Errorf("store: finance review: %w", err)
		}
		if err := tx.recordFinanceDecision(ctx, in.VariantID, state, note, a.Label, assignee, discID); err != nil {
			return err
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

// financeAssignee is the person a price fix is assigned to: the one chosen
// (an active operator or admin), else the default assignee; nil when there
// is nobody to assign it to.
func (tx *Tx) financeAssignee(ctx context.Context, chosen int64) (*User, error) {
	if chosen != 0 {
		u, err := tx.UserByID(ctx, chosen)
		if errors.Is(err, ErrNotFound) {
			return nil, vocab.FieldErrors{"assignee": "That person does not exist. Choose someone from the list."}
		}
		if err != nil {
			return nil, err
		}
		if !u.Active || (u.Role != vocab.RoleOperator && u.Role != vocab.RoleAdmin) {
			return nil, vocab.FieldErrors{"assignee": u.Name + " cannot take price fixes: choose an active operator or admin."}
		}
		return &u, nil
	}
	id, err := tx.FinanceDefaultAssignee(ctx)
	if err != nil || id == 0 {
		return nil, err
	}
	u, err := tx.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// financeDefaultAssigneeKey is the app setting naming the person finance
// chose last for a price fix.
const financeDefaultAssigneeKey = "finance.default_assignee"

// FinanceDefaultAssignee is who a price fix goes to when finance chooses
// nobody: the person chosen for the last one, while they are an active
// operator or admin, else the first active operator by name; 0 when there
// is none.
func (q q) FinanceDefaultAssignee(ctx context.Context) (int64, error) {
	var id int64
	err := sqlxGet(ctx, q, &id, `SELECT coalesce((
  SELECT u.id FROM app_settings s JOIN users u ON u.id = (s.value->>'user_id')::bigint
  WHERE s.key = $1 AND u.active AND u.role IN ('operator', 'admin')),
  (SELECT u.id FROM users u WHERE u.active AND u.role = 'operator' ORDER BY lower(u.name), u.id LIMIT 1), 0)`, financeDefaultAssigneeKey)
	if err != nil {
		return 0, fmt.Errorf("store: default assignee: %w", err)
	}
	return id, nil
}

func (tx *Tx) setFinanceDefaultAssignee(ctx context.Context, userID int64) error {
	if _, err := tx.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, jsonb_build_object('user_id', $2::bigint))
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, financeDefaultAssigneeKey, userID); err != nil {
		return fmt.Errorf("store: default assignee: %w", err)
	}
	return nil
}

// recordFinanceDecision keeps a decision about a variant with the figures
// of the review it was taken on, for the summaries of past periods.
func (tx *Tx) recordFinanceDecision(ctx context.Context, variantID int64, decision, note, by, assignee string, discID *int64) error {
	var sku string
	if err := sqlxGet(ctx, tx.q, &sku, `SELECT coalesce((SELECT sku FROM finance_rows WHERE run_id = `+financeRunSQL+` AND variant_id = $1),
  (SELECT sku FROM finance_decisions WHERE variant_id = $1 ORDER BY id DESC LIMIT 1), '')`, variantID); err != nil {
		return fmt.Errorf("store: finance decision: %w", err)
	}
	names, err := tx.NamesBySKU(ctx, "variant", []string{sku})
	if err != nil {
		return err
	}
	if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_decisions (variant_id, run_id, sku, name, shop_price, list_price, cost, margin, margin_pct,
  currency, decision, note, by_label, assignee, discrepancy_id)
SELECT $1, coalesce(r.run_id, 0), $2, $3, r.shop_price, r.list_price, coalesce(r.odoo_cost, r.shop_cost), r.margin, r.margin_pct,
  coalesce(r.currency, ''), $4, $5, $6, $7, $8
FROM (SELECT 1) one LEFT JOIN finance_rows r ON r.run_id = `+financeRunSQL+` AND r.variant_id = $1`,
		variantID, sku, names[sku], decision, note, by, assignee, discID); err != nil {
		return fmt.Errorf("store: finance decision: %w", err)
	}
	return nil
}

// Operators' answers to a price fix finance sent them.
const (
	OutcomeDone       = "done"
	OutcomeNotProblem = "not_a_problem"
)

// FinanceRequest is a price fix finance sent to the operators, as the
// discrepancy carrying it shows it.
type FinanceRequest struct {
	VariantID   int64      `db:"variant_id"`
	SKU         string     `db:"sku"`
	Note        string     `db:"note"`
	ByLabel     string     `db:"by_label"`
	SentAt      time.Time  `db:"updated_at"`
	Outcome     string     `db:"outcome"`
	OutcomeNote string     `db:"outcome_note"`
	OutcomeBy   string     `db:"outcome_by"`
	OutcomeAt   *time.Time `db:"outcome_at"`
}

// FinanceRequestOf is the price fix finance sent on a discrepancy
// (ErrNotFound: none).
func (q q) FinanceRequestOf(ctx context.Context, discrepancyID int64) (FinanceRequest, error) {
	var r FinanceRequest
	err := sqlxGet(ctx, q, &r, `SELECT fr.variant_id, coalesce((SELECT sku FROM finance_decisions WHERE variant_id = fr.variant_id ORDER BY id DESC LIMIT 1), '') AS sku,
  fr.note, fr.by_label, fr.updated_at, fr.outcome, fr.outcome_note, fr.outcome_by, fr.outcome_at
FROM finance_reviews fr WHERE fr.discrepancy_id = $1 AND fr.state = 'sent'`, discrepancyID)
	return r, err
}

// PriceFixAnswer is an operator's answer to a price fix finance sent.
type PriceFixAnswer struct {
	DiscrepancyID int64
	Outcome       string // done or not_a_problem
	Note          string // required for not_a_problem
}

// Validate checks the answer's input.
func (a PriceFixAnswer) Validate() vocab.FieldErrors {
	n := utf8.RuneCountInString(strings.TrimSpace(a.Note))
	switch {
	case a.Outcome != OutcomeDone && a.Outcome != OutcomeNotProblem:
		return vocab.FieldErrors{"outcome": "Choose “Done” or “Not a problem”."}
	case a.Outcome == OutcomeNotProblem && n == 0:
		return vocab.FieldErrors{"note": "Say why the price is not a problem, so finance knows."}
	case n > 500:
		return vocab.FieldErrors{"note": "Keep the note under 500 characters."}
	case strings.ContainsRune(a.Note, 0) || !utf8.ValidString(a.Note):
		return vocab.FieldErrors{"note": noteUnreadable}
	}
	return nil
}

// ErrNoFinanceRequest is returned when answering a discrepancy finance sent
// no price fix on.
var ErrNoFinanceRequest = errors.New("Finance sent no price fix on this discrepancy, so there is nothing to answer.")

// ErrAnswered is returned when a price fix was already answered.
var ErrAnswered = errors.New("This price fix was already answered; its answer is on the page.")

// AnswerPriceFix records the operators' answer to a price fix finance sent,
// and closes its discrepancy: done resolves it (the price is fixed), not a
// problem ignores it with the note. Finance sees the answer on the
// variant's row; both are audited, in one transaction.
func (s *Store) AnswerPriceFix(ctx context.Context, a Actor, in PriceFixAnswer) (FinanceRequest, error) {
	var out FinanceRequest
	err := s.InTx(ctx, func(tx *Tx) error {
		d, err := tx.LockDiscrepancy(ctx, in.DiscrepancyID)
		if err != nil {
			return err
		}
		req, err := tx.FinanceRequestOf(ctx, d.ID)
		if errors.Is(err, ErrNotFound) {
			return ErrNoFinanceRequest
		}
		if err != nil {
			return err
		}
		if req.Outcome != "" {
			return ErrAnswered
		}
		if fe := in.Validate(); fe != nil {
			return fe
		}
		note := strings.TrimSpace(in.Note)
		line := "Done"
		if in.Outcome == OutcomeNotProblem {
			line = "Not a problem"
		}
		line = fmt.Sprintf("%s (%s): %s", line, a.Label, note)
		if note == "" {
			line = strings.TrimSuffix(line, ": ")
		}
		if d.Live() {
			set := `status = 'resolved', closed_at = now()`
			if in.Outcome == OutcomeNotProblem {
				set = `status = 'ignored', closed_at = now()`
			}
			if _, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET `+set+`, note = CASE WHEN note = '' THEN $2 ELSE note || E'\n' || $2 END WHERE id = $1`,
				d.ID, line); err != nil {
				if isUniqueViolation(err) {
					return ErrDiscrepancyClosed
				}
				return fmt.Errorf("store: answer price fix: %w", err)
			}
			after := discAudit(d)
			after["status"] = map[string]string{OutcomeDone: DiscResolved, OutcomeNotProblem: DiscIgnored}[in.Outcome]
			if err := tx.Audit(ctx, a, Change{Action: "discrepancy.price_fix_answered", ObjectType: "discrepancy", ObjectID: fmt.Sprint(d.ID),
				Summary: fmt.Sprintf("Discrepancy #%d (%s): %s", d.ID, d.Label, line), Before: discAudit(d), After: after}); err != nil {
				return err
			}
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE finance_reviews SET outcome = $2, outcome_note = $3, outcome_by = $4, outcome_at = now()
WHERE variant_id = $1`, req.VariantID, in.Outcome, note, a.Label); err != nil {
			return fmt.Errorf("store: answer price fix: %w", err)
		}
		if err := tx.recordFinanceDecision(ctx, req.VariantID, in.Outcome, note, a.Label, "", &d.ID); err != nil {
			return err
		}
		out, err = tx.FinanceRequestOf(ctx, d.ID)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "finance.answer", ObjectType: "variant", ObjectID: fmt.Sprint(req.VariantID),
			Summary: fmt.Sprintf("The operators answered finance's price fix for %s: %s", d.Label, line), Before: req, After: out})
	})
	return out, err
}

package handlers

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// Answer records the operators' answer to a price fix finance sent them
// (done, or not a problem with a note) from the discrepancy's page; finance
// sees it on the variant's row of the review.
func (h Finance) Answer(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	back := "/reconciliation/discrepancies/" + strconv.FormatInt(id, 10)
	outcome, _ := form(c, "outcome", 32)
	note, ok := form(c, "note", 4000)
	if !ok {
		h.Flash(c, "critical", "Keep the note under 500 characters. Nothing was saved.")
		return Redirect(c, back)
	}
	_, err = h.Store.AnswerPriceFix(c.UserContext(), Actor(c), store.PriceFixAnswer{DiscrepancyID: id, Outcome: outcome, Note: note})
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		h.Flash(c, "critical", fe.First("outcome", "note")+" Nothing was saved.")
	case errors.Is(err, store.ErrNoFinanceRequest), errors.Is(err, store.ErrAnswered), errors.Is(err, store.ErrDiscrepancyClosed):
		h.Flash(c, "info", err.Error())
	case err != nil:
		return err
	case outcome == store.OutcomeDone:
		h.Flash(c, "success", "Finance is told the price is fixed; the discrepancy is resolved.")
	default:
		h.Flash(c, "success", "Finance is told it is not a problem, with your note; the discrepancy is ignored.")
	}
	return Redirect(c, back)
}

// financeRequest is the price fix finance sent on a discrepancy, for its
// page; nil when there is none.
func financeRequest(c *fiber.Ctx, st interface {
	FinanceRequestOf(ctx context.Context, discrepancyID int64) (store.FinanceRequest, error)
}, id int64, csrf string) (*views.FinanceRequestView, error) {
	r, err := st.FinanceRequestOf(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &views.FinanceRequestView{DiscrepancyID: id, By: r.ByLabel, Note: r.Note, SentAt: r.SentAt, Outcome: r.Outcome,
		OutcomeNote: r.OutcomeNote, OutcomeBy: r.OutcomeBy, OutcomeAt: r.OutcomeAt, CanAnswer: r.Outcome == "" && canOperate(c),
		CSRF: csrf, Now: now()}, nil
}

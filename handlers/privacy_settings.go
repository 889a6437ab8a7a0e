package handlers

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// PrivacySettingsStore is what the settings of personal data need.
type PrivacySettingsStore interface {
	PrivacySettings(ctx context.Context) (store.PrivacySettings, error)
	SavePrivacySettings(ctx context.Context, a store.Actor, in store.PrivacySettings) error
	RetentionState(ctx context.Context) (store.RetentionState, error)
}

// PrivacySettings is how long personal data is kept, and which roles see
// it (admins only).
type PrivacySettings struct {
	Base
	Store PrivacySettingsStore
}

// privacyKeep is the line saying what is kept and when it was last pruned.
func privacyKeep(ctx context.Context, st PrivacySettingsStore) (views.PrivacyKeep, store.PrivacySettings, error) {
	set, err := st.PrivacySettings(ctx)
	if err != nil {
		return views.PrivacyKeep{}, set, err
	}
	r, err := st.RetentionState(ctx)
	if err != nil {
		return views.PrivacyKeep{}, set, err
	}
	return views.PrivacyKeep{RetentionDays: set.RetentionDays, LastRunAt: r.LastRunAt, LastPruned: r.LastPruned, Now: now()}, set, nil
}

// Show is the settings form.
func (h PrivacySettings) Show(c *fiber.Ctx) error {
	keep, set, err := privacyKeep(c.UserContext(), h.Store)
	if err != nil {
		return err
	}
	return Render(c, views.PrivacySettings(views.PrivacySettingsPage{Meta: h.Meta(c, "Keeping and showing personal data", "privacy"), Keep: keep,
		RetentionDays: strconv.Itoa(set.RetentionDays), OperatorsSee: set.OperatorsSee, FinanceSees: set.FinanceSees}))
}

// Save stores the settings; a bad number re-renders the form with the
// reason next to it.
func (h PrivacySettings) Save(c *fiber.Ctx) error {
	ctx := c.UserContext()
	raw, ok := form(c, "retention_days", 20)
	days, err := strconv.Atoi(strings.TrimSpace(raw))
	in := store.PrivacySettings{RetentionDays: days, OperatorsSee: c.FormValue("operators_see") == "1", FinanceSees: c.FormValue("finance_sees") == "1"}
	if !ok || err != nil {
		in.RetentionDays = 0 // refused below, in words
	}
	err = h.Store.SavePrivacySettings(ctx, Actor(c), in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		keep, _, kerr := privacyKeep(ctx, h.Store)
		if kerr != nil {
			return kerr
		}
		if !ok || in.RetentionDays == 0 {
			fe["retention_days"] = "Write a number of days, from 1 to 3,650."
		}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.PrivacySettings(views.PrivacySettingsPage{
			Meta: h.Meta(c, "Keeping and showing personal data", "privacy"), Keep: keep, RetentionDays: raw,
			OperatorsSee: in.OperatorsSee, FinanceSees: in.FinanceSees, Errors: fe}))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", "Saved: personal data is kept "+strconv.Itoa(days)+" days after a sync ended; "+seesWords(in)+".")
	return Redirect(c, "/privacy/settings")
}

func seesWords(in store.PrivacySettings) string {
	switch {
	case in.OperatorsSee && in.FinanceSees:
		return "operators and finance see it"
	case in.OperatorsSee:
		return "operators see it, finance sees it masked"
	case in.FinanceSees:
		return "finance sees it, operators see it masked"
	}
	return "operators and finance see it masked"
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/views"
	"crossdock/vocab"
)

// SourceStore is what the sources-of-truth pages need from the store.
type SourceStore interface {
	SourceRules(ctx context.Context) (rules.Rules, error)
	SaveSourceRule(ctx context.Context, a store.Actor, in store.SourceRuleInput) (rules.Rules, error)
}

// Sources shows the sources of truth to everyone and lets admins change them.
type Sources struct {
	Base
	Store SourceStore
	// Compare queues the comparison of a family whose source was just saved
	// (nil when no engine runs).
	Compare SourceComparer
}

// SourceComparer queues the comparison a newly set source makes possible.
type SourceComparer interface {
	SourceSaved(ctx context.Context, f vocab.Family, by string) (store.ReconRun, bool, error)
}

// List shows one card per data family: who decides it, who receives it, how
// fresh it stays, and what is risky about the setup.
func (h Sources) List(c *fiber.Ctx) error {
	rs, err := h.Store.SourceRules(c.UserContext())
	if err != nil {
		return err
	}
	u := CurrentUser(c)
	p := views.SourcesPage{Meta: h.Meta(c, "Sources of truth", "sources"), CanEdit: isAdmin(c), Version: rs.Version,
		NoConnections: len(rs.Connections) == 0, CanAddConnections: u != nil && u.Role != vocab.RoleFinance, Now: now()}
	for _, f := range vocab.AllFamilies() {
		p.Cards = append(p.Cards, sourceCard(rs, f))
	}
	return Render(c, views.Sources(p))
}

func sourceConn(rs rules.Rules, id int64) views.SourceConn {
	if c, ok := rs.Conn(id); ok {
		return views.SourceConn{Name: c.Name, Environment: string(c.Environment), Enabled: c.Enabled}
	}
	return views.SourceConn{Name: rs.Name(id), Missing: true}
}

func sourceCard(rs rules.Rules, f vocab.Family) views.SourceCard {
	rule := rs.Rule(f)
	card := views.SourceCard{Family: string(f), Label: f.Label(), Noun: f.Noun(), Sentence: rs.Explain(f), Set: rule.Set,
		Trigger: rs.ExplainTrigger(f), Freshness: rs.ExplainFreshness(f), Policy: rs.ExplainPolicy(f), Version: rule.Version, UpdatedBy: rule.UpdatedBy}
	if rule.Set {
		t := rule.UpdatedAt
		card.UpdatedAt = &t
	}
	if rule.Master != 0 {
		m := sourceConn(rs, rule.Master)
		card.Master = &m
	}
	for _, rc := range rule.Receivers {
		r := sourceConn(rs, rc.ConnectionID)
		r.ByHand = rc.EditedByHand
		card.Receivers = append(card.Receivers, r)
	}
	for _, w := range rs.WarningsFor(f) {
		v := views.SourceWarning{Message: w.Message, Fix: w.Fix}
		if w.Level == rules.LevelWarning {
			card.Warnings = append(card.Warnings, v)
		} else {
			card.Notes = append(card.Notes, v)
		}
	}
	if f == vocab.Products {
		for _, field := range rules.ProductFields() {
			row := views.FieldOwnerRow{Label: field.Label}
			if own := rs.FieldOwners[field.Key]; own != 0 {
				row.Owner = rs.Name(own)
			} else {
				row.Follows = followsText(rs, field)
			}
			card.Fields = append(card.Fields, row)
		}
	}
	return card
}

// followsText says who decides a field nobody owns on its own.
func followsText(rs rules.Rules, field rules.Field) string {
	master := rs.Rule(field.Follows).Master
	if master == 0 {
		return fmt.Sprintf("Follows the source of %s (nobody yet)", field.Follows.Noun())
	}
	return fmt.Sprintf("Follows the source of %s (%s)", field.Follows.Noun(), rs.Name(master))
}

func familyParam(c *fiber.Ctx) (vocab.Family, error) {
	f := vocab.Family(c.Params("family"))
	if !f.Valid() {
		return "", store.ErrNotFound
	}
	return f, nil
}

// Edit shows the form for one family's source of truth.
func (h Sources) Edit(c *fiber.Ctx) error {
	f, err := familyParam(c)
	if err != nil {
		return err
	}
	rs, err := h.Store.SourceRules(c.UserContext())
	if err != nil {
		return err
	}
	rule := rs.Rule(f)
	in := store.SourceRuleInput{Family: f, Master: rule.Master, Trigger: rule.Trigger, SweepMinutes: rule.SweepMinutes,
		FreshnessMinutes: rule.FreshnessMinutes, Policy: rule.Policy, FieldOwners: rs.FieldOwners, Version: rule.Version}
	for _, rc := range rule.Receivers {
		in.Receivers = append(in.Receivers, rc.ConnectionID)
		if rc.EditedByHand {
			in.EditedByHand = append(in.EditedByHand, rc.ConnectionID)
		}
	}
	return Render(c, views.SourceEdit(h.sourceForm(c, rs, in, nil, nil)))
}

func (h Sources) sourceForm(c *fiber.Ctx, rs rules.Rules, in store.SourceRuleInput, raw map[string]string, errs map[string]string) views.SourceForm {
	f := in.Family
	form := views.SourceForm{Meta: h.Meta(c, f.Label()+" · Sources of truth", "sources"), Family: string(f), Label: f.Label(), Noun: f.Noun(),
		IsProducts: f == vocab.Products, Version: in.Version, Master: idString(in.Master), Trigger: string(in.Trigger), Policy: string(in.Policy),
		Sweep: strconv.Itoa(in.SweepMinutes), Freshness: strconv.Itoa(in.FreshnessMinutes), Errors: errs, Receivers: map[int64]bool{}, ByHand: map[int64]bool{}}
	if v, ok := raw["sweep_minutes"]; ok {
		form.Sweep = v
	}
	if v, ok := raw["freshness_minutes"]; ok {
		form.Freshness = v
	}
	for _, id := range in.Receivers {
		form.Receivers[id] = true
	}
	for _, id := range in.EditedByHand {
		form.ByHand[id] = true
	}
	for _, conn := range rs.Connections {
		form.Conns = append(form.Conns, views.SourceConnChoice{ID: conn.ID, Name: conn.Name, Kind: string(conn.Kind), Environment: string(conn.Environment), Enabled: conn.Enabled})
	}
	if f == vocab.Products {
		for _, field := range rules.ProductFields() {
			form.Fields = append(form.Fields, views.FieldOwnerChoice{Key: field.Key, Label: field.Label, Value: idString(in.FieldOwners[field.Key]),
				Default: followsText(rs, field), Error: errs["owner_"+field.Key]})
		}
	}
	return form
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// parseIDs reads a multi-valued form field of connection ids.
func parseIDs(c *fiber.Ctx, key string) ([]int64, bool) {
	var ids []int64
	for _, v := range c.Request().PostArgs().PeekMulti(key) {
		id, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || id <= 0 {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// parseID reads an optional connection id ("" means none).
func parseID(c *fiber.Ctx, key string) (int64, bool) {
	v, ok := form(c, key, 20)
	if !ok {
		return 0, false
	}
	if v == "" {
		return 0, true
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

// minutes reads a number of minutes; a value that is not a whole number
// becomes 0, which validation refuses with the allowed range.
func minutes(c *fiber.Ctx, key string) (int, string) {
	v, _ := form(c, key, 20)
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, v
	}
	return n, v
}

// Update saves one family's source of truth.
func (h Sources) Update(c *fiber.Ctx) error {
	f, err := familyParam(c)
	if err != nil {
		return err
	}
	in := store.SourceRuleInput{Family: f, Trigger: rules.Trigger(c.FormValue("trigger")), Policy: rules.Policy(c.FormValue("policy"))}
	raw := map[string]string{}
	in.SweepMinutes, raw["sweep_minutes"] = minutes(c, "sweep_minutes")
	in.FreshnessMinutes, raw["freshness_minutes"] = minutes(c, "freshness_minutes")
	in.Version, _ = strconv.ParseInt(c.FormValue("version"), 10, 64)
	okAll := true
	var ok bool
	in.Master, ok = parseID(c, "master")
	okAll = okAll && ok
	in.Receivers, ok = parseIDs(c, "receivers")
	okAll = okAll && ok
	in.EditedByHand, ok = parseIDs(c, "by_hand")
	okAll = okAll && ok
	if f == vocab.Products {
		in.FieldOwners = map[string]int64{}
		for _, field := range rules.ProductFields() {
			in.FieldOwners[field.Key], ok = parseID(c, "owner_"+field.Key)
			okAll = okAll && ok
		}
	}
	rs, err := h.Store.SourceRules(c.UserContext())
	if err != nil {
		return err
	}
	if !okAll {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.SourceEdit(h.sourceForm(c, rs, in, raw,
			map[string]string{"form": "One of the choices was not understood. Reload the page and try again."})))
	}
	after, err := h.Store.SaveSourceRule(c.UserContext(), Actor(c), in)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.SourceEdit(h.sourceForm(c, rs, in, raw, fe)))
	case errors.Is(err, store.ErrRuleChanged):
		h.Flash(c, "warning", fmt.Sprintf("Someone else changed the rules for %s while you were editing them, so your changes were not saved. Here are the rules as they are now.", f.Noun()))
		return Redirect(c, "/sources/"+string(f)+"/edit")
	case err != nil:
		return err
	}
	msg := "Saved. " + after.Explain(f)
	if h.Compare != nil {
		// The rule is saved whatever happens here: a comparison that could
		// not be queued runs at the next scheduled check.
		if _, queued, err := h.Compare.SourceSaved(c.UserContext(), f, Actor(c).Label); err != nil {
			msg += " The comparison of the two systems could not start now (" + err.Error() + "); it runs at the next scheduled check."
		} else if queued {
			msg += " A comparison of the two systems has started: see Reconciliation."
		}
	}
	h.Flash(c, "success", msg)
	return Redirect(c, "/sources#"+string(f))
}

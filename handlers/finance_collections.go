package handlers

import (
	"cmp"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/layout"
	"crossdock/vocab"
)

// collectionsPage lists the collections with their thresholds; a form shows
// its collection's own thresholds, else the global ones to start from.
func (h Finance) collectionsPage(c *fiber.Ctx) (views.FinanceCollectionsPage, error) {
	ctx := c.UserContext()
	global, err := h.Store.FinanceThresholds(ctx)
	if err != nil {
		return views.FinanceCollectionsPage{}, err
	}
	cs, err := h.Store.FinanceCollections(ctx)
	if err != nil {
		return views.FinanceCollectionsPage{}, err
	}
	u := CurrentUser(c)
	p := views.FinanceCollectionsPage{Meta: h.Meta(c, "Margin thresholds per collection", "finance"), Global: global,
		CanEdit: u != nil && u.Role == vocab.RoleAdmin}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, col := range cs {
		r := views.FinanceCollectionRow{Ref: col.Ref, Title: col.Title, Variants: col.Variants, Own: col.Own(),
			Critical: f(global.Critical), High: f(global.High), Medium: f(global.Medium)}
		if col.Own() {
			r.Critical, r.High, r.Medium = f(*col.Critical), f(*col.High), f(*col.Medium)
		}
		p.Collections = append(p.Collections, r)
	}
	return p, nil
}

// Collections shows the thresholds per collection.
func (h Finance) Collections(c *fiber.Ctx) error {
	p, err := h.collectionsPage(c)
	if err != nil {
		return err
	}
	return Render(c, views.FinanceCollections(p))
}

// SetCollectionThresholds gives a collection thresholds of its own; wrong
// values come back next to their fields, nothing saved.
func (h Finance) SetCollectionThresholds(c *fiber.Ctx) error {
	ref, title := c.FormValue("collection"), c.FormValue("title")
	t, form, bad := thresholdsForm(c)
	fe := vocab.FieldErrors{}
	for _, k := range bad {
		fe[k] = "Enter a number of percent from 0 to 100, e.g. 15."
	}
	err := error(fe)
	if len(fe) == 0 {
		err = h.Store.SetCollectionThresholds(c.UserContext(), Actor(c), ref, title, t)
	}
	if errors.As(err, &fe) {
		p, perr := h.collectionsPage(c)
		if perr != nil {
			return perr
		}
		for i, r := range p.Collections {
			if r.Ref == ref {
				p.Collections[i].Critical, p.Collections[i].High, p.Collections[i].Medium, p.Collections[i].Errors = form["critical"], form["high"], form["medium"], fe
			}
		}
		p.Meta.Flash = &layout.Flash{Kind: "critical", Message: "The thresholds were not saved: " + fe.Error()}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.FinanceCollections(p))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", "The thresholds of "+cmp.Or(strings.TrimSpace(title), "the collection")+" are saved; the review measures its variants against them now.")
	return Redirect(c, "/finance/collections")
}

// ClearCollectionThresholds puts a collection back on the global thresholds.
func (h Finance) ClearCollectionThresholds(c *fiber.Ctx) error {
	err := h.Store.ClearCollectionThresholds(c.UserContext(), Actor(c), c.FormValue("collection"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.Flash(c, "critical", "That collection had no thresholds of its own; nothing changed.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The collection uses the global thresholds again.")
	}
	return Redirect(c, "/finance/collections")
}

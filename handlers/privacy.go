package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
)

// PrivacyStore is what the privacy pages read.
type PrivacyStore interface {
	ListPrivacyRequests(ctx context.Context, f store.PrivacyFilter) ([]store.PrivacyRequest, bool, error)
	PrivacyRequestByID(ctx context.Context, id int64) (store.PrivacyRequest, error)
	PrivacySummary(ctx context.Context, now time.Time) (store.PrivacySummary, error)
	AnswerPrivacyRequest(ctx context.Context, a store.Actor, id int64, progress string) error
	PrivacySettingsStore // what is kept, how long (privacy_settings.go)
}

// Privacy handles the privacy requests Shopify sends (admins only).
type Privacy struct {
	Base
	Store PrivacyStore
}

const privacyPageSize = 50

// List shows the privacy requests, newest first, with what is overdue.
func (h Privacy) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	at, id := keysetCursor(c)
	rs, more, err := h.Store.ListPrivacyRequests(ctx, store.PrivacyFilter{BeforeAt: at, BeforeID: id, Limit: privacyPageSize})
	if err != nil {
		return err
	}
	t := now()
	sum, err := h.Store.PrivacySummary(ctx, t)
	if err != nil {
		return err
	}
	p := views.PrivacyPage{Meta: h.Meta(c, "Privacy requests", "privacy"), Open: sum.Open, Overdue: sum.Overdue, Now: t}
	if p.Keep, _, err = privacyKeep(ctx, h.Store); err != nil {
		return err
	}
	for _, r := range rs {
		p.Rows = append(p.Rows, privacyRow(r, t))
	}
	p.FirstHref, p.NextHref = pageLinks("/privacy", url.Values{}, id != 0, more && len(rs) > 0, func() (time.Time, int64) {
		return rs[len(rs)-1].ReceivedAt, rs[len(rs)-1].ID
	})
	return Render(c, views.Privacy(p))
}

// Show is one privacy request's page.
func (h Privacy) Show(c *fiber.Ctx) error {
	r, err := h.request(c)
	if err != nil {
		return err
	}
	t := now()
	p := views.PrivacyRequestPage{Meta: h.Meta(c, fmt.Sprintf("Privacy request #%d", r.ID), "privacy"), Row: privacyRow(r, t),
		Email: r.CustomerEmail, Phone: r.CustomerPhone, CustomerID: r.CustomerID, Orders: r.OrderIDs,
		ShopifyRequestID: r.ShopifyRequestID, ShopID: r.ShopID, Now: t}
	if r.WebhookEventID != nil {
		p.WebhookHref = fmt.Sprintf("/connections/%d/webhooks/%d", r.ConnectionID, *r.WebhookEventID)
	}
	return Render(c, views.PrivacyRequest(p))
}

// Answered marks a data request answered: the store owner has sent the
// customer the export.
func (h Privacy) Answered(c *fiber.Ctx) error {
	r, err := h.request(c)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/privacy/%d", r.ID)
	if r.Kind != store.PrivacyDataRequest {
		h.Flash(c, "warning", "Only a data request is answered by sending the customer their data; this request asks for an erasure.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	a, who := Actor(c), Actor(c).Label
	if u := CurrentUser(c); u != nil {
		who = cmp.Or(u.Name, who)
	}
	err = h.Store.AnswerPrivacyRequest(c.UserContext(), a, r.ID, "The data held was sent to the customer by "+who+".")
	switch {
	case errors.Is(err, store.ErrConflict):
		h.Flash(c, "info", "This request was answered already.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The data request is marked as answered.")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// request is the privacy request the path names.
func (h Privacy) request(c *fiber.Ctx) (store.PrivacyRequest, error) {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.PrivacyRequest{}, store.ErrNotFound
	}
	return h.Store.PrivacyRequestByID(c.UserContext(), int64(id))
}

// privacyRow is a request as the pages show it: the customer by name first,
// then e-mail, then Shopify's id.
func privacyRow(r store.PrivacyRequest, t time.Time) views.PrivacyRow {
	if r.CustomerName == store.Redacted {
		r.CustomerName = "" // erased: the customer goes by Shopify's id
	}
	row := views.PrivacyRow{ID: r.ID, Kind: r.Kind, Shop: r.ConnectionName, ShopDomain: r.ShopDomain, ReceivedAt: r.ReceivedAt,
		DueAt: r.DueAt, Status: r.Status, Progress: r.Progress, CompletedAt: r.CompletedAt}
	switch {
	case r.Kind == store.PrivacyShopRedact:
		row.Customer = "The whole shop"
	case r.CustomerName != "":
		row.Customer = r.CustomerName
	case r.CustomerEmail != "":
		row.Customer = r.CustomerEmail
	default:
		row.Customer = "Shopify customer " + r.CustomerID
	}
	if r.Kind != store.PrivacyShopRedact {
		var detail []string
		if r.CustomerName != "" && r.CustomerEmail != "" {
			detail = append(detail, r.CustomerEmail)
		}
		if r.CustomerID != "" && row.Customer != "Shopify customer "+r.CustomerID {
			detail = append(detail, "Shopify customer "+r.CustomerID)
		}
		row.CustomerDetail = strings.Join(detail, " · ")
	}
	row.Due, row.DueKind = views.PrivacyDue(r.DueAt, r.CompletedAt, t)
	return row
}

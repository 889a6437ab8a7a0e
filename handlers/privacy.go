package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
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
	SystemErasures(ctx context.Context, requestID int64) ([]store.SystemErasure, error)
	SystemErasuresOf(ctx context.Context, ids []int64) (map[int64][]store.SystemErasure, error)
	RetrySystemErasure(ctx context.Context, a store.Actor, requestID, connectionID int64) error
}

// PrivacyEngine is what the privacy pages ask the engine: which connected
// systems receive customers' erasures, and a shop's erasure.
type PrivacyEngine interface {
	ErasureSettings(ctx context.Context) ([]engine.ErasureSetting, error)
	SetErasureSetting(ctx context.Context, a store.Actor, connectionID int64, send bool) error
	ShopErasure(ctx context.Context, id int64, done bool) (engine.ShopErasureState, error)
	ConfirmShopErasure(ctx context.Context, a store.Actor, id int64) error
}

// Privacy handles the privacy requests Shopify sends (admins only).
type Privacy struct {
	Base
	Store PrivacyStore
	// Engine is nil when the sync engine does not run: the settings and a
	// shop's erasure then say so.
	Engine PrivacyEngine
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
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	systems, err := h.Store.SystemErasuresOf(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range rs {
		row := privacyRow(r, t)
		for _, s := range systems[r.ID] {
			if s.Outcome != store.SystemErasureNotSupported {
				row.Systems = append(row.Systems, views.PrivacySystemRow{ConnectionID: s.ConnectionID, Name: s.ConnectionName, Outcome: s.Outcome})
			}
		}
		p.Rows = append(p.Rows, row)
	}
	if h.Engine == nil {
		p.EngineOff = true
	} else {
		settings, err := h.Engine.ErasureSettings(ctx)
		if err != nil {
			return err
		}
		for _, s := range settings {
			p.Settings = append(p.Settings, views.PrivacyErasureSetting{ConnectionID: s.ConnectionID, Name: s.Name, Send: s.Send,
				Supported: s.Supported, Enabled: s.Enabled, ChangedBy: s.ChangedBy, ChangedAt: s.ChangedAt})
		}
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
	ctx := c.UserContext()
	switch r.Kind {
	case store.PrivacyCustomerRedact:
		systems, err := h.Store.SystemErasures(ctx, r.ID)
		if err != nil {
			return err
		}
		p.SystemsPlanned = len(systems) > 0 || r.Status != store.PrivacyReceived
		for _, s := range systems {
			p.Systems = append(p.Systems, views.PrivacySystemRow{ConnectionID: s.ConnectionID, Name: s.ConnectionName, Outcome: s.Outcome,
				Detail: s.Detail, Attempts: s.Attempts, NextAttemptAt: s.NextAttemptAt, UpdatedAt: s.UpdatedAt,
				CanRetry: h.Engine != nil && slices.Contains([]string{store.SystemErasureFailed, store.SystemErasureKept, store.SystemErasureNotSent, store.SystemErasureNotFound}, s.Outcome)})
		}
	case store.PrivacyShopRedact:
		shop := &views.PrivacyShopErasure{EngineOff: h.Engine == nil, Shop: r.ConnectionName}
		if h.Engine != nil {
			s, err := h.Engine.ShopErasure(ctx, r.ID, r.CompletedAt != nil)
			if err != nil {
				return err
			}
			shop.NeedsConfirmation, shop.Confirmed, shop.Enabled = s.NeedsConfirmation, s.Confirmed, s.Enabled
			if s.NeedsConfirmation {
				shop.Scope = engine.ShopScopeSentence(s)
				if p.Row.Progress == "" {
					p.Row.Progress = "Waiting for an admin: " + r.ConnectionName + " is still enabled, so Crossdock erases its data only once an admin confirms below."
				}
			}
		}
		p.Shop = shop
	}
	if c.Query("part") == "systems" && r.Kind == store.PrivacyCustomerRedact {
		return Render(c, views.PrivacySystems(p))
	}
	return Render(c, views.PrivacyRequest(p))
}

// SetErasures turns sending customers' erasures to one connected system on
// or off (form: connection_id, send = "on" or "off").
func (h Privacy) SetErasures(c *fiber.Ctx) error {
	back := "/privacy#privacy-erasure-settings"
	if h.Engine == nil {
		h.Flash(c, "warning", "The sync engine is not running, so erasures cannot be sent to other systems. Start Crossdock with its engine, then try again.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("connection_id")), 10, 64)
	send := c.FormValue("send")
	if err != nil || id <= 0 || (send != "on" && send != "off") {
		h.Flash(c, "warning", "Choose a system and whether erasures are sent to it, with one of the buttons on the Privacy page.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	err = h.Engine.SetErasureSetting(c.UserContext(), Actor(c), id, send == "on")
	var oos *store.OutOfScopeError
	switch {
	case errors.As(err, &oos):
		h.Flash(c, "critical", oos.Error()+" The setting is unchanged.")
	case errors.Is(err, store.ErrNotFound):
		h.Flash(c, "warning", "That system no longer exists. Reload the Privacy page and choose again.")
	case errors.Is(err, engine.ErrNotSupported):
		h.Flash(c, "warning", strings.TrimPrefix(err.Error(), engine.ErrNotSupported.Error()+": ")+".")
	case err != nil:
		return err
	case send == "on":
		h.Flash(c, "success", "Customers' erasures are now sent to this system. Requests already erased are not sent again by themselves: use “Send the erasure again” on their page.")
	default:
		h.Flash(c, "success", "Customers' erasures are no longer sent to this system; erase them there by hand.")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// RetryErasure sends a request's erasure to one system again (form:
// connection_id): after a failure, or once the open documents that kept the
// customer are done.
func (h Privacy) RetryErasure(c *fiber.Ctx) error {
	r, err := h.request(c)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/privacy/%d#privacy-systems", r.ID)
	if h.Engine == nil {
		h.Flash(c, "warning", "The sync engine is not running, so the erasure cannot be sent. Start Crossdock with its engine, then try again.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	conn, perr := strconv.ParseInt(strings.TrimSpace(c.FormValue("connection_id")), 10, 64)
	if perr != nil || conn <= 0 {
		h.Flash(c, "warning", "Choose the system to send the erasure to, with its button on this page.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	err = h.Store.RetrySystemErasure(c.UserContext(), Actor(c), r.ID, conn)
	var oos *store.OutOfScopeError
	switch {
	case errors.As(err, &oos):
		h.Flash(c, "critical", oos.Error()+" Nothing was sent.")
	case errors.Is(err, store.ErrNotFound):
		h.Flash(c, "warning", "This request's erasure was never meant for that system. Reload the page and choose again.")
	case errors.Is(err, store.ErrConflict):
		h.Flash(c, "info", "The erasure is already on its way to that system, or there is nothing to send: reload the page to see where it stands.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The erasure is being sent again; this page shows the result in a moment.")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// ConfirmShopErasure starts a shop's erasure while its connection is still
// enabled: the admin confirms it, which disables the connection first.
func (h Privacy) ConfirmShopErasure(c *fiber.Ctx) error {
	r, err := h.request(c)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/privacy/%d", r.ID)
	switch {
	case r.Kind != store.PrivacyShopRedact:
		h.Flash(c, "warning", "Only a request to erase the shop's data erases a shop; this request is about one customer.")
		return c.Redirect(back, fiber.StatusSeeOther)
	case h.Engine == nil:
		h.Flash(c, "warning", "The sync engine is not running, so the shop's data cannot be erased now. Start Crossdock with its engine, then confirm again.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	err = h.Engine.ConfirmShopErasure(c.UserContext(), Actor(c), r.ID)
	var oos *store.OutOfScopeError
	switch {
	case errors.As(err, &oos):
		h.Flash(c, "critical", oos.Error()+" Nothing was erased.")
	case errors.Is(err, store.ErrConflict):
		h.Flash(c, "info", "This erasure was confirmed already; its progress is on this page.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", r.ConnectionName+" is disabled and its data is being erased; this page shows the progress.")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
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
		row.Customer, row.Named = r.CustomerName, true
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

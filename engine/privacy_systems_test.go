package engine_test

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/connectors/shopify"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// redactBody is a customers/redact body for a Shopify customer.
func (e *env) redactBody(c shopsandbox.Customer, email string) []byte {
	return []byte(fmt.Sprintf(`{"shop_id":954889,"shop_domain":%q,"orders_to_redact":[],"customer":{"id":%s,"email":%q}}`,
		e.shop.Domain(), strings.TrimPrefix(c.GID(), "gid://shopify/Customer/"), email))
}

// redactRequest delivers a customers/redact and returns its request.
func (e *env) redactRequest(t *testing.T, eventID string, body []byte) store.PrivacyRequest {
	t.Helper()
	evID := e.deliverPrivacy(t, "customers/redact", eventID, body)
	var req store.PrivacyRequest
	wait(t, "the redact to become a request", func() bool {
		for _, r := range e.privacyRequests(t) {
			if r.WebhookEventID != nil && *r.WebhookEventID == evID {
				req = r
				return true
			}
		}
		return false
	})
	return req
}

// systemErasure waits until the request's erasure in Odoo is settled (not
// sending) and returns it.
func (e *env) systemErasure(t *testing.T, requestID int64) store.SystemErasure {
	t.Helper()
	var got store.SystemErasure
	wait(t, "the erasure in Odoo to settle", func() bool {
		rows, err := e.st.SystemErasures(context.Background(), requestID)
		require.NoError(t, err)
		for _, r := range rows {
			if r.ConnectionID == e.odooConn.ID {
				got = r
				return r.Outcome != store.SystemErasureSending
			}
		}
		return false
	})
	return got
}

func (e *env) partner(t *testing.T, id int) odoosandbox.Partner {
	t.Helper()
	for _, p := range e.odoo.Partners() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no partner #%d in Odoo", id)
	return odoosandbox.Partner{}
}

// The proof of an erasure reaching Odoo: a customer with an open order is
// kept there, and the request's page says which order; once the order is
// done, trying again archives and anonymises
// the partner. A customer with no open documents is erased at once. Order
// totals in Odoo and amounts in Crossdock do not change.
func TestPrivacyRedactReachesOdoo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{})
	st := e.customerStory(t)
	admin := store.SystemActor("Ada Admin")
	require.NoError(t, e.eng.SetErasureSetting(ctx, admin, e.odooConn.ID, true))

	// Alan has a partner in Odoo and nothing else.
	alan := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Alan", LastName: "Turing", Email: "alan@example.org",
		Phone: "+44 1625 000000", Address1: "43 Adlington Road", City: "Wilmslow", Zip: "SK9 2BJ", Country: "GB"})
	made := e.endedSyncs(t, e.deliver(t, "customers/create", e.customerPayload(t, alan.GID())))[0]
	require.Equal(t, vocab.SyncSucceeded, made.Status, made.Message)
	alanPartner, err := strconv.Atoi(made.TargetRef)
	require.NoError(t, err)

	req := e.redactRequest(t, "evt-alan", e.redactBody(alan, "alan@example.org"))
	got := e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureErased, got.Outcome, got.Detail)
	require.Equal(t, fmt.Sprintf("erased: contact #%d archived and anonymised (now “Erased customer %d”)", alanPartner, req.ID), got.Detail)
	require.Empty(t, got.LookupEmail, "the copy of the e-mail kept to find the customer is forgotten")
	p := e.partner(t, alanPartner)
	require.False(t, p.Active)
	require.Equal(t, engine.ErasurePseudonym(req.ID), p.Name)
	require.Empty(t, p.Email+p.Phone+p.Street+p.City+p.Zip)

	// Ada has an order in Odoo, not done, and a credit note not settled.
	orders := e.saleOrdersWithRef(st.order.GID())
	require.Len(t, orders, 1)
	so := orders[0]
	placedBefore := e.sync(t, st.placed.ID)
	req = e.redactRequest(t, "evt-ada", e.privacyBody(st, `"orders_to_redact"`))
	got = e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureKept, got.Outcome, got.Detail)
	require.True(t, strings.HasPrefix(got.Detail, "kept: open sale order "+so.Name), got.Detail)
	require.Equal(t, "kept: open sale order "+so.Name, got.Detail, "the refund's credit note is a draft: not open")
	adaPartner := so.PartnerID
	require.Equal(t, strconv.Itoa(adaPartner), got.RecordID)
	require.Equal(t, "Ada Byron", e.partner(t, adaPartner).Name, "a kept partner is not touched")
	require.True(t, e.partner(t, adaPartner).Active)
	wait(t, "Crossdock's own erasure", func() bool {
		r, err := e.st.PrivacyRequestByID(ctx, req.ID)
		require.NoError(t, err)
		return r.Status == store.PrivacyDone
	})

	// The order is done (locked): trying again erases.
	require.True(t, e.odoo.SetSaleOrderStateDirect(so.ID, "sale", true))
	require.NoError(t, e.st.RetrySystemErasure(ctx, admin, req.ID, e.odooConn.ID))
	got = e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureErased, got.Outcome, got.Detail)
	p = e.partner(t, adaPartner)
	require.False(t, p.Active)
	require.Equal(t, engine.ErasurePseudonym(req.ID), p.Name)
	require.Empty(t, p.Email+p.Phone+p.Street+p.City+p.Zip)

	after := e.saleOrdersWithRef(st.order.GID())
	require.Len(t, after, 1)
	require.Equal(t, so.AmountTotal, after[0].AmountTotal, "the order's total in Odoo is unchanged")
	placed := e.sync(t, st.placed.ID)
	for _, field := range []string{"total", "currency", "lines"} {
		require.Equal(t, jsonField(t, placedBefore.Payload, field), jsonField(t, placed.Payload, field), "the order's %s in Crossdock stays", field)
	}
	require.Equal(t, placedBefore.TargetRef, placed.TargetRef)

	// Grace's partner is untouched.
	for _, gp := range e.partnersWithEmail("grace@example.org") {
		require.True(t, gp.Active)
	}
}

// With the setting off, nothing is sent and the page says so; a failing
// Odoo never holds up Crossdock's own erasure, and the failure is tried
// again until it succeeds.
func TestPrivacyErasureSettingOffAndFailuresRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t)
	newCustomer := func(first, email string) shopsandbox.Customer {
		c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: first, LastName: "Tester", Email: email})
		s := e.endedSyncs(t, e.deliver(t, "customers/create", e.customerPayload(t, c.GID())))[0]
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
		return c
	}

	off := newCustomer("Offa", "offa@example.org")
	req := e.redactRequest(t, "evt-off", e.redactBody(off, "offa@example.org"))
	got := e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureNotSent, got.Outcome)
	require.Equal(t, "not sent: the setting “Send erasures to Odoo” is off", got.Detail)
	require.Empty(t, got.LookupEmail, "nothing kept to send later")
	require.Len(t, e.partnersWithEmail("offa@example.org"), 1, "the partner is untouched")

	require.NoError(t, e.eng.SetErasureSetting(ctx, store.SystemActor("Ada Admin"), e.odooConn.ID, true))
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "connection"})
	require.NoError(t, err)
	require.Contains(t, entries[0].Summary, "Customers' erasures are now sent to Odoo")

	// Odoo refuses the change itself: trying again as is cannot help, a
	// person fixes it and sends the erasure again.
	refused := newCustomer("Ray", "ray@example.org")
	e.odoo.FailNext(1000, odoosandbox.Validation("You cannot archive contacts linked to an active user."))
	req = e.redactRequest(t, "evt-refused", e.redactBody(refused, "ray@example.org"))
	got = e.systemErasure(t, req.ID)
	e.odoo.ClearFailures()
	require.Equal(t, store.SystemErasureFailed, got.Outcome)
	require.Contains(t, got.Detail, "You cannot archive contacts linked to an active user")
	require.Nil(t, got.NextAttemptAt, "not tried again by itself")

	failing := newCustomer("Fay", "fay@example.org")
	e.odoo.FailNext(1000, odoosandbox.Status502)
	req = e.redactRequest(t, "evt-fail", e.redactBody(failing, "fay@example.org"))
	wait(t, "Crossdock's own erasure, Odoo down", func() bool {
		r, err := e.st.PrivacyRequestByID(ctx, req.ID)
		require.NoError(t, err)
		return r.Status == store.PrivacyDone
	})
	got = e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureFailed, got.Outcome)
	require.True(t, strings.HasPrefix(got.Detail, "failed: "), got.Detail)
	require.NotNil(t, got.NextAttemptAt, "tried again later")
	require.Equal(t, "fay@example.org", got.LookupEmail, "kept until the partner is found")

	// Odoo answers again; the next attempt is due (as if the wait had passed).
	e.odoo.ClearFailures()
	_, err = e.st.DB.ExecContext(ctx, `UPDATE privacy_system_erasures SET next_attempt_at = now() WHERE request_id = $1`, req.ID)
	require.NoError(t, err)
	wait(t, "the retry", func() bool {
		got = e.systemErasure(t, req.ID)
		return got.Outcome == store.SystemErasureErased
	})
	require.Empty(t, got.LookupEmail)
	require.Empty(t, e.partnersWithEmail("fay@example.org"), "anonymised")
}

// A system whose kind does not declare the erase capability in the
// registry is listed as not supported, to erase by hand, and cannot be
// turned on: the engine asks the registry, never the system's name.
func TestPrivacyErasureNotSupported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	noErase := odoo.Kind()
	noErase.Offers = maps.Clone(noErase.Offers)
	noErase.Offers[vocab.Customers] = []connectors.Capability{connectors.Read, connectors.Write}
	e := setup(t, options{configure: func(c *engine.Config) { c.Kinds = connectors.MustRegistry(shopify.Kind(), noErase) }})
	e.customersFromShopify(t)
	e.start(t)

	err := e.eng.SetErasureSetting(ctx, store.SystemActor("Ada Admin"), e.odooConn.ID, true)
	require.ErrorIs(t, err, engine.ErrNotSupported)
	require.Contains(t, err.Error(), "Crossdock cannot erase customers in Odoo; erase them by hand there")
	settings, err := e.eng.ErasureSettings(ctx)
	require.NoError(t, err)
	require.Len(t, settings, 1, "the store that sends the requests is not listed")
	require.False(t, settings[0].Supported)

	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Nora", LastName: "Tester", Email: "nora@example.org"})
	req := e.redactRequest(t, "evt-nora", e.redactBody(c, "nora@example.org"))
	got := e.systemErasure(t, req.ID)
	require.Equal(t, store.SystemErasureNotSupported, got.Outcome)
	require.Equal(t, "not supported — erase by hand in Odoo", got.Detail)
}

package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

func TestOrderWebhookBecomesOneSaleOrder(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	vs := e.shop.Variants()
	o, payload := e.order(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 2}, shopsandbox.NewLine{VariantID: vs[1].GID(), Quantity: 1})
	first := e.deliver(t, "orders/create", payload)
	// Shopify delivers the same event again (another webhook id): normal.
	dup := e.deliver(t, "orders/create", payload)

	ss := e.endedSyncs(t, first)
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, store.TriggerWebhook, s.Trigger)
	require.Equal(t, vocab.Orders, s.Family)
	require.Equal(t, e.shopConn.ID, s.SourceConnectionID)
	require.Equal(t, e.odooConn.ID, s.TargetConnectionID)
	require.Equal(t, o.GID(), s.EntityRef)
	require.Equal(t, o.Name, s.EntityKey)
	require.Equal(t, 1, s.Attempts)
	require.Contains(t, s.Message, "was created in Odoo")
	require.NotEmpty(t, s.Request)
	require.NotEmpty(t, s.Response)

	wait(t, "the duplicate delivery to be handled", func() bool {
		ev, err := e.st.WebhookEventByID(ctx, e.shopConn.ID, dup)
		require.NoError(t, err)
		return ev.Status != store.WebhookReceived
	})
	ev, err := e.st.WebhookEventByID(ctx, e.shopConn.ID, dup)
	require.NoError(t, err)
	require.Equal(t, store.WebhookIgnored, ev.Status)
	require.Contains(t, ev.Error, "Already handled")
	ev, err = e.st.WebhookEventByID(ctx, e.shopConn.ID, first)
	require.NoError(t, err)
	require.Equal(t, store.WebhookProcessed, ev.Status)

	sos := e.saleOrdersWithRef(o.GID())
	require.Len(t, sos, 1, "exactly one sale order")
	so := sos[0]
	require.Len(t, so.Lines, 2)
	require.Equal(t, e.productBySKU[vs[0].SKU].ID, so.Lines[0].ProductID)
	require.Equal(t, 2.0, so.Lines[0].Quantity)
	price, _ := strconv.ParseFloat(vs[0].Price, 64)
	require.Equal(t, price, so.Lines[0].PriceUnit)
	require.Equal(t, strconv.Itoa(so.ID), s.TargetRef)
	partner := findPartner(e.odoo, so.PartnerID)
	require.Equal(t, strings.ToLower(o.Email), strings.ToLower(partner.Email))

	attempts, err := e.st.SyncAttempts(ctx, s.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, vocab.SyncSucceeded, attempts[0].Status)
	require.NotNil(t, attempts[0].FinishedAt)

	// Searchable by SKU and by order number, in the list pages read.
	for _, term := range []string{vs[1].SKU, strings.TrimPrefix(o.Name, "#"), o.Name} {
		got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Search: term})
		require.NoError(t, err)
		require.Len(t, got, 1, term)
		require.Equal(t, s.ID, got[0].ID)
	}

	// A replay finds the order in Odoo and creates nothing.
	r, err := e.eng.Replay(ctx, store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	require.Equal(t, store.TriggerReplay, r.Trigger)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "already in Odoo")
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
	require.NotNil(t, e.sync(t, s.ID).ResolvedAt)
}

func findPartner(o *odoosandbox.Server, id int) odoosandbox.Partner {
	for _, p := range o.Partners() {
		if p.ID == id {
			return p
		}
	}
	return odoosandbox.Partner{}
}

func TestOrderBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     options
		prepare  func(e *env) []byte // returns the webhook payload
		status   vocab.Status
		class    vocab.ErrorClass
		message  string
		webhook  string
		noWrites bool
	}{
		{
			name: "unknown product",
			prepare: func(e *env) []byte {
				v := e.shop.Variants()[0]
				e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", v.GID())
				_, p := e.order(t, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
				return p
			},
			status: vocab.SyncFailed, class: vocab.ClassUnmapped, message: "is not mapped to an Odoo product yet",
			webhook: store.WebhookProcessed, noWrites: true,
		},
		{
			name: "payload without lines",
			prepare: func(e *env) []byte {
				_, p := e.order(t)
				return setJSON(t, p, "line_items", []any{})
			},
			status: vocab.SyncFailed, class: vocab.ClassValidation, message: "has no lines",
			webhook: store.WebhookFailed, noWrites: true,
		},
		{
			name: "payload without e-mail",
			prepare: func(e *env) []byte {
				_, p := e.order(t)
				p = setJSON(t, p, "email", "")
				p = setJSON(t, p, "contact_email", "")
				return setJSON(t, p, "customer", nil)
			},
			status: vocab.SyncFailed, class: vocab.ClassValidation, message: "has no customer e-mail",
			webhook: store.WebhookFailed, noWrites: true,
		},
		{
			name: "a custom line without variant",
			prepare: func(e *env) []byte {
				_, p := e.order(t)
				var m map[string]any
				require.NoError(t, json.Unmarshal(p, &m))
				m["line_items"].([]any)[0].(map[string]any)["variant_id"] = nil
				b, _ := json.Marshal(m)
				return b
			},
			status: vocab.SyncFailed, class: vocab.ClassValidation, message: "is not a product from the catalogue",
			webhook: store.WebhookFailed, noWrites: true,
		},
		{
			name: "Odoo rejects the order",
			prepare: func(e *env) []byte {
				_, p := e.order(t)
				// The partner lookup passes; the first write (partner or order) is refused.
				e.odoo.FailNext(1, odoosandbox.Validation("The product is archived and cannot be sold."))
				return p
			},
			status: vocab.SyncFailed, class: vocab.ClassValidation, message: "The product is archived",
			webhook: store.WebhookProcessed, noWrites: true,
		},
		{
			name: "the sources of truth refuse",
			opts: options{ordersRule: &store.SourceRuleInput{Family: vocab.Orders, Trigger: rules.Realtime, SweepMinutes: 15,
				FreshnessMinutes: 15, Policy: rules.MasterWins}},
			prepare: func(e *env) []byte { _, p := e.order(t); return p },
			status:  vocab.SyncRejected, class: vocab.ClassOwnership, message: "Nobody decides orders yet",
			webhook: store.WebhookProcessed, noWrites: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.start = true
			e := setup(t, tc.opts)
			id := e.deliver(t, "orders/create", tc.prepare(e))
			ss := e.endedSyncs(t, id)
			require.Len(t, ss, 1)
			s := e.sync(t, ss[0].ID)
			require.Equal(t, tc.status, s.Status, s.Message)
			require.Equal(t, tc.class, s.Class())
			require.Contains(t, s.Message, tc.message)
			require.NotEmpty(t, s.Payload, "the data is kept")
			ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, id)
			require.NoError(t, err)
			require.Equal(t, tc.webhook, ev.Status)
			if tc.noWrites {
				for _, w := range e.odoo.Writes() {
					require.NotEqual(t, "sale.order", w.Model, "nothing was written")
				}
			}
			// It is on the failed-syncs console.
			got, _, err := e.st.ListSyncs(context.Background(), store.SyncFilter{Problems: true, ErrorClass: tc.class})
			require.NoError(t, err)
			require.Len(t, got, 1)
		})
	}
}

func setJSON(t testing.TB, payload []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m[key] = v
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func TestOrderRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	o, payload := e.order(t)
	e.odoo.FailNext(2, odoosandbox.Status502)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 3, s.Attempts)
	attempts, err := e.st.SyncAttempts(context.Background(), s.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 3)
	require.Equal(t, vocab.SyncFailed, attempts[0].Status)
	require.Equal(t, vocab.ClassTransient, *attempts[0].ErrorClass)
	require.Contains(t, attempts[0].Message, "tries again")
	require.Equal(t, vocab.SyncSucceeded, attempts[2].Status)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
}

func TestOrderGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, configure: func(c *engine.Config) { c.MaxAttempts = 3 }})
	_, payload := e.order(t)
	e.odoo.FailNext(100, odoosandbox.Status500)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassTransient, s.Class())
	require.Equal(t, 3, s.Attempts)
	require.Contains(t, s.Message, "gave up after 3 attempts")
}

// lostAnswers forwards requests but, for the first n that match, throws the
// answer away and reports a broken connection: the write happened, the
// engine does not know it (a crash, a timeout, a killed process).
type lostAnswers struct {
	match func(*http.Request, []byte) bool
	n     atomic.Int32
	lost  atomic.Int32
}

func (l *lostAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && l.match(r, body) && l.n.Add(-1) >= 0 {
		res.Body.Close()
		l.lost.Add(1)
		return nil, io.ErrUnexpectedEOF
	}
	return res, err
}

func TestOrderLostAnswerCreatesNoDuplicate(t *testing.T) {
	t.Parallel()
	lost := &lostAnswers{match: func(r *http.Request, body []byte) bool {
		return strings.HasSuffix(r.URL.Path, "/sale.order/create")
	}}
	lost.n.Store(1)
	e := setup(t, options{start: true, transport: lost})
	o, payload := e.order(t)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.EqualValues(t, 1, lost.lost.Load(), "the answer of the create was lost once")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 2, s.Attempts)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1, "the retry found the order instead of creating another")
}

func TestOrderReplayAfterMappingIsFixed(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	v := e.shop.Variants()[0]
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", v.GID())
	o, payload := e.order(t, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.ClassUnmapped, s.Class())
	require.Equal(t, v.SKU+" is not mapped to an Odoo product yet", strings.SplitN(strings.SplitN(s.Message, ": ", 2)[1], ".", 2)[0])
	require.Equal(t, 1, s.Attempts, "unmapped is not retried")

	e.res.set(e.shopConn.ID, e.odooConn.ID, "variant", v.GID(), strconv.Itoa(e.productBySKU[v.SKU].ID))
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	require.Equal(t, s.ID, *r.ReplayOf)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
	got, _, err := e.st.ListSyncs(context.Background(), store.SyncFilter{Problems: true})
	require.NoError(t, err)
	require.Empty(t, got, "the replayed failure is resolved")
}

// delay holds the answers of matching requests for a while.
type delay struct {
	match func(*http.Request) bool
	by    time.Duration
}

func (d delay) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && d.match(r) {
		time.Sleep(d.by)
	}
	return res, err
}

func TestConcurrentOrdersOfOneNewCustomerMakeOnePartner(t *testing.T) {
	t.Parallel()
	// Slow partner look-ups widen the window between "not found" and "create".
	slow := delay{match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/res.partner/search_read") }, by: 100 * time.Millisecond}
	e := setup(t, options{transport: slow})
	var ids []int64
	for range 12 {
		_, p := e.order(t)
		p = setJSON(t, p, "email", "new.customer@example.com")
		p = setJSON(t, p, "customer", map[string]any{"first_name": "New", "last_name": "Customer", "email": "new.customer@example.com"})
		ids = append(ids, e.deliver(t, "orders/create", p))
	}
	e.start(t) // all at once
	for _, id := range ids {
		s := e.endedSyncs(t, id)[0]
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	}
	n := 0
	for _, p := range e.odoo.Partners() {
		if p.Email == "new.customer@example.com" {
			n++
		}
	}
	require.Equal(t, 1, n)
}

package engine_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// rule saves a source-of-truth rule for the test.
func (e *env) rule(t testing.TB, in store.SourceRuleInput) {
	t.Helper()
	in.Trigger = cmpTrigger(in.Trigger)
	if in.SweepMinutes == 0 {
		in.SweepMinutes = 15
	}
	in.FreshnessMinutes, in.Policy = 15, rules.MasterWins
	cur, err := e.st.SourceRules(context.Background())
	require.NoError(t, err)
	in.Version = cur.Rule(in.Family).Version
	_, err = e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), in)
	require.NoError(t, err)
}

func cmpTrigger(t rules.Trigger) rules.Trigger {
	if t == "" {
		return rules.Realtime
	}
	return t
}

// customersFromShopify: Shopify decides customers, Odoo receives them.
func (e *env) customersFromShopify(t testing.TB) {
	e.rule(t, store.SourceRuleInput{Family: vocab.Customers, Master: e.shopConn.ID, Receivers: []int64{e.odooConn.ID}})
}

func (e *env) partnersWithEmail(email string) []odoosandbox.Partner {
	var out []odoosandbox.Partner
	for _, p := range e.odoo.Partners() {
		if strings.EqualFold(p.Email, email) {
			out = append(out, p)
		}
	}
	return out
}

func (e *env) odooWrites(model string) int {
	n := 0
	for _, w := range e.odoo.Writes() {
		if w.Model == model {
			n++
		}
	}
	return n
}

func (e *env) customerPayload(t testing.TB, gid string) []byte {
	t.Helper()
	b, err := e.shop.CustomerPayload(gid)
	require.NoError(t, err)
	return b
}

func TestCustomerWebhooksCreateThenUpdateOnePartner(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t) // after the rules: intake reads them before it claims events
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Byron", Email: "ada@example.org",
		Phone: "+44 20 7946 0000", Address1: "12 St James's Square", City: "London", Zip: "SW1Y 4JH", Country: "GB"})
	created := e.customerPayload(t, c.GID())
	first := e.deliver(t, "customers/create", created)
	// Shopify sends customers/update for the same version as well, and
	// delivers twice now and then: neither is a second effect.
	dupUpdate := e.deliver(t, "customers/update", created)

	ss := e.endedSyncs(t, first)
	require.Len(t, ss, 1)
	s := ss[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, vocab.Customers, s.Family)
	require.Equal(t, c.GID(), s.EntityRef)
	require.Equal(t, "ada@example.org", s.EntityKey)
	require.Contains(t, s.Message, "was created in Odoo")
	ps := e.partnersWithEmail("ada@example.org")
	require.Len(t, ps, 1)
	p := ps[0]
	require.Equal(t, "Ada Byron", p.Name)
	require.Equal(t, "+44 20 7946 0000", p.Phone)
	require.Equal(t, "12 St James's Square", p.Street)
	require.Equal(t, "London", p.City)
	require.Equal(t, "SW1Y 4JH", p.Zip)
	require.Equal(t, c.GID(), p.Ref)
	require.Equal(t, s.TargetRef, strconv.Itoa(p.ID))

	wait(t, "the same version's update to be ignored", func() bool {
		ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, dupUpdate)
		require.NoError(t, err)
		return ev.Status == store.WebhookIgnored
	})

	// A real change: the city and the e-mail address. The partner is found by
	// its Shopify id and updated, not duplicated.
	_, err := e.shop.EditCustomer(c.GID(), func(c *shopsandbox.Customer) { c.City, c.Email = "Oxford", "ada.lovelace@example.org" })
	require.NoError(t, err)
	upd := e.deliver(t, "customers/update", e.customerPayload(t, c.GID()))
	ss = e.endedSyncs(t, upd)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "was updated in Odoo")
	require.Empty(t, e.partnersWithEmail("ada@example.org"))
	ps = e.partnersWithEmail("ada.lovelace@example.org")
	require.Len(t, ps, 1)
	require.Equal(t, p.ID, ps[0].ID)
	require.Equal(t, "Oxford", ps[0].City)

	// The write log: one create and one write of res.partner, nothing more.
	require.Equal(t, 2, e.odooWrites("res.partner"))
}

func TestCustomerDedupedByEmailWithTheOrdersFlowsPartner(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t) // after the rules: intake reads them before it claims events
	// An order created the partner first (found by e-mail, ref unset).
	c := e.shop.ShopCustomers()[0]
	_, payload := e.order(t)
	ss := e.endedSyncs(t, e.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Len(t, e.partnersWithEmail(c.Email), 1)
	before := e.odooWrites("res.partner")

	_, err := e.shop.EditCustomer(c.GID(), func(c *shopsandbox.Customer) { c.Phone = "+1 555 0100" })
	require.NoError(t, err)
	ss = e.endedSyncs(t, e.deliver(t, "customers/update", e.customerPayload(t, c.GID())))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	ps := e.partnersWithEmail(strings.ToUpper(c.Email))
	require.Len(t, ps, 1, "the same partner, found by e-mail")
	require.Equal(t, "+1 555 0100", ps[0].Phone)
	require.Equal(t, before+1, e.odooWrites("res.partner"), "one write, no create")
}

func TestCustomerOutOfOrderNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t) // after the rules: intake reads them before it claims events
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org", City: "Arlington"})
	v1 := e.customerPayload(t, c.GID())
	_, err := e.shop.EditCustomer(c.GID(), func(c *shopsandbox.Customer) { c.City = "New York" })
	require.NoError(t, err)
	v2 := e.customerPayload(t, c.GID())

	// The newer version arrives first, then the older one, late.
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", v2))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	late := e.deliver(t, "customers/create", v1)
	wait(t, "the late version to be ignored", func() bool {
		ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, late)
		require.NoError(t, err)
		return ev.Status == store.WebhookIgnored
	})
	ss, err = e.st.SyncsOfWebhookEvent(context.Background(), late)
	require.NoError(t, err)
	require.Empty(t, ss)
	ps := e.partnersWithEmail("grace@example.org")
	require.Len(t, ps, 1)
	require.Equal(t, "New York", ps[0].City)
	require.Equal(t, 1, e.odooWrites("res.partner"))
}

func TestCustomerBadInputBecomesValidationSyncs(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t) // after the rules: intake reads them before it claims events
	fixture, err := os.ReadFile("testdata/customers-create.2026-04.json")
	require.NoError(t, err)
	cases := []struct {
		name, payload, want string
	}{
		{"no e-mail", strings.Replace(string(fixture), `"email": "bob@biller.com"`, `"email": null`, 1), "has no e-mail address in Shopify"},
		{"not an e-mail", strings.Replace(string(fixture), `"email": "bob@biller.com"`, `"email": "bob at biller"`, 1), "which is not an e-mail address"},
		{"no date", strings.Replace(string(fixture), `"updated_at": "2021-12-31T19:00:00-05:00",`, ``, 1), "has no date"},
		{"no id", `{"email": "x@example.org", "updated_at": "2021-12-31T19:00:00-05:00"}`, "has no id"},
		{"not json", `{"id": 1, "email": `, "cannot read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEqual(t, string(fixture), tc.payload, "the case changes the fixture")
			ss := e.endedSyncs(t, e.deliver(t, "customers/update", []byte(tc.payload)))
			require.Len(t, ss, 1)
			require.Equal(t, vocab.SyncFailed, ss[0].Status)
			require.Equal(t, vocab.ClassValidation, ss[0].Class())
			require.Contains(t, ss[0].Message, tc.want)
			if tc.name != "not json" {
				require.JSONEq(t, tc.payload, string(e.sync(t, ss[0].ID).Payload), "the payload is kept as received")
			}
		})
	}
	// Shopify's documented sample itself goes through.
	ss := e.endedSyncs(t, e.deliver(t, "customers/create", fixture))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	ps := e.partnersWithEmail("bob@biller.com")
	require.Len(t, ps, 1)
	require.Equal(t, "Bob Biller", ps[0].Name)
	require.Equal(t, "Ottawa", ps[0].City)
	require.Equal(t, "555-555-5555", ps[0].Phone)
	require.Equal(t, 1, e.odooWrites("res.partner"))
}

func TestCustomerFromANonMasterIsRejected(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	// Odoo decides customers: a Shopify change is recorded, never written.
	e.rule(t, store.SourceRuleInput{Family: vocab.Customers, Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID}})
	e.start(t)
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Alan", LastName: "Turing", Email: "alan@example.org"})
	ss := e.endedSyncs(t, e.deliver(t, "customers/create", e.customerPayload(t, c.GID())))
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncRejected, ss[0].Status)
	require.Equal(t, vocab.ClassOwnership, ss[0].Class())
	require.Contains(t, ss[0].Message, "Odoo decides customers")
	require.Empty(t, e.partnersWithEmail("alan@example.org"))
	require.Zero(t, e.odooWrites("res.partner"))
}

package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/web/webtest"
)

// A customer's erasure on the demo workspace erases that customer and leaves
// what finance reads exactly as it was: the margin review (its rows and
// decisions), the payouts with their transactions and deposits, the
// discrepancies' figures, and every order's total and currency.
func TestPrivacyRedactLeavesFinanceUnchanged(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t)
	ctx := t.Context()
	shop := mustConn(t, env, "Demo Shopify store")
	var domain string
	require.NoError(t, env.Store.DB.GetContext(ctx, &domain, `SELECT settings->>'shop_domain' FROM connections WHERE id = $1`, shop))
	var customer struct {
		GID   string `db:"gid"`
		Email string `db:"email"`
	}
	require.NoError(t, env.Store.DB.GetContext(ctx, &customer, `SELECT payload->'customer'->>'id' AS gid, payload->>'email' AS email
FROM syncs WHERE entity_type = 'order' AND status = 'succeeded' AND payload->'customer'->>'id' <> '' AND payload->>'email' <> '' ORDER BY id LIMIT 1`))
	id := customer.GID[strings.LastIndexByte(customer.GID, '/')+1:]

	// What finance reads, each table as one digest; each must hold rows, so
	// that "unchanged" says something.
	finance := map[string]string{
		"margin review rows":     `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM finance_rows t`,
		"payouts":                `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM shop_payouts t`,
		"balance transactions":   `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM shop_balance_transactions t`,
		"discrepancies' figures": `SELECT count(*), md5(coalesce(string_agg(concat_ws(',', id, family, kind, key, status, master_value, other_value, size), '|' ORDER BY id), '')) FROM discrepancies`,
		"order totals":           `SELECT count(*), md5(coalesce(string_agg(concat_ws(',', id, payload->>'total', payload->>'currency', payload->>'name'), '|' ORDER BY id), '')) FROM syncs WHERE entity_type = 'order'`,
	}
	digest := func() map[string]string {
		out := map[string]string{}
		for what, q := range finance {
			var n int
			var sum string
			require.NoError(t, env.Store.DB.QueryRowContext(ctx, q).Scan(&n, &sum), what)
			require.Positive(t, n, "the demo has %s", what)
			out[what] = fmt.Sprintf("%d:%s", n, sum)
		}
		return out
	}
	before := digest()
	var held int
	require.NoError(t, env.Store.DB.GetContext(ctx, &held, `SELECT count(*) FROM syncs WHERE payload::text LIKE '%' || $1 || '%'`, customer.Email))
	require.Positive(t, held)

	privacyWebhook(t, env, shop, domain, "customers/redact",
		fmt.Sprintf(`{"shop_id":1,"shop_domain":%q,"orders_to_redact":[],"customer":{"id":%s,"email":%q,"phone":null}}`, domain, id, customer.Email))
	drain(t, env.Engine.EraseOnce)
	var status string
	require.NoError(t, env.Store.DB.GetContext(ctx, &status, `SELECT status FROM privacy_requests WHERE kind = 'customer_redact'`))
	require.Equal(t, "done", status)
	require.NoError(t, env.Store.DB.GetContext(ctx, &held, `SELECT count(*) FROM syncs WHERE payload::text LIKE '%' || $1 || '%'`, customer.Email))
	require.Zero(t, held, "the customer is erased")

	require.Equal(t, before, digest())
}

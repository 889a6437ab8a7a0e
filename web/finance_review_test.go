package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// Finance acknowledges, accepts with a reason and sends a price fix to the
// operators; each decision shows on the review and is audited; operators
// cannot take them.
func TestFinanceReviewActions(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	db := env.Store.DB
	var run, odoo, shop int64
	require.NoError(t, db.Get(&run, `SELECT id FROM recon_runs WHERE family = 'prices'`))
	require.NoError(t, db.Get(&odoo, `SELECT id FROM connections WHERE kind = 'odoo'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	// The comparison itself opens the price discrepancy of DIFF-2 (50 vs 45).
	_, err := env.Store.ComparePrices(t.Context(), run, odoo, shop)
	require.NoError(t, err)

	fin := env.SignIn(t, vocab.RoleFinance)
	op := env.SignIn(t, vocab.RoleOperator)
	require.Equal(t, http.StatusForbidden, op.PostForm("/finance/variants/1/acknowledge", url.Values{}).StatusCode)

	_, body := fin.Get("/finance")
	require.Equal(t, 4, strings.Count(body, ">Not reviewed</span>"))
	require.Contains(t, body, `formaction="/finance/variants/2/send"`, "DIFF-2 differs from Odoo: it can be sent")
	require.NotContains(t, body, `formaction="/finance/variants/1/send"`, "GOOD-1 matches Odoo: nothing to send")

	// Acknowledge, back to the filtered view it came from.
	res := fin.PostForm("/finance/variants/3/acknowledge", url.Values{"back": {"/finance?flag=negative"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/finance?flag=negative", res.Header.Get("Location"))
	_, body = fin.Get("/finance?flag=negative")
	require.Contains(t, body, "The variant is acknowledged.")
	require.Contains(t, body, ">Acknowledged<")

	// Accepting needs a reason; without one nothing changes.
	res = fin.PostForm("/finance/variants/1/accept", url.Values{"note": {"  "}, "back": {"https://evil.example/"}})
	require.Equal(t, "/finance", res.Header.Get("Location"), "an action never returns to another site")
	_, body = fin.Get("/finance")
	require.Contains(t, body, "Say why this price is accepted")
	var n int
	require.NoError(t, db.Get(&n, `SELECT count(*) FROM finance_reviews WHERE variant_id = 1`))
	require.Zero(t, n)
	fin.PostForm("/finance/variants/1/accept", url.Values{"note": {"promo until Friday"}})
	_, body = fin.Get("/finance")
	require.Contains(t, body, ">Accepted<")
	require.Contains(t, body, "promo until Friday")

	// A price fix for a variant whose price matches Odoo is refused in words.
	fin.PostForm("/finance/variants/1/send", url.Values{})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "There is no open price difference for this variant")
	require.NoError(t, db.Get(&n, `SELECT count(*) FROM finance_reviews WHERE variant_id = 1 AND state = 'accepted'`))
	require.Equal(t, 1, n, "the refused send left the accepted state alone")

	// DIFF-2: the request lands on its open price discrepancy, where operators work.
	fin.PostForm("/finance/variants/2/send", url.Values{"note": {"Odoo is right"}})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "Sent to the operators")
	require.Contains(t, body, ">Sent to operators as a price fix<")
	var d struct {
		ID     int64  `db:"id"`
		Note   string `db:"note"`
		Status string `db:"status"`
	}
	require.NoError(t, db.Get(&d, `SELECT d.id, d.note, d.status FROM discrepancies d JOIN finance_reviews f ON f.discrepancy_id = d.id WHERE f.variant_id = 2`))
	require.Equal(t, "open", d.Status)
	require.Contains(t, d.Note, "asks for a price fix")
	require.Contains(t, d.Note, "Odoo is right")
	_, body = op.Get("/reconciliation/discrepancies?family=prices")
	require.Contains(t, body, "DIFF-2")

	// Every decision is in the audit log.
	var actions []string
	require.NoError(t, db.Select(&actions, `SELECT action FROM audit_log WHERE action LIKE 'finance.%' OR action = 'discrepancy.price_fix_requested' ORDER BY id`))
	require.Equal(t, []string{"finance.acknowledge", "finance.accept", "discrepancy.price_fix_requested", "finance.send"}, actions)

	// A variant outside the latest comparison.
	fin.PostForm("/finance/variants/999/acknowledge", url.Values{})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "not in the latest comparison")
}

// Revenue impact: the Shopify price times the units sold in the last 30
// days, read from the orders flow's sync records (one per order, however
// often it was retried or replayed); sortable by it and by margin.
func TestFinanceReviewRevenue(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	db := env.Store.DB
	fin := env.SignIn(t, vocab.RoleFinance)
	_, body := fin.Get("/finance")
	require.Contains(t, body, "No order was synced in the last 30 days")

	var odoo, shop int64
	require.NoError(t, db.Get(&odoo, `SELECT id FROM connections WHERE kind = 'odoo'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	order := func(ref, key, age, lines string) {
		t.Helper()
		payload := `{"id": "` + ref + `", "name": "#` + key + `", "email": "a@example.com", "currency": "EUR", "total": "1",
  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "lines": ` + lines + `}`
		_, err := db.Exec(`INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger, entity_type, entity_ref,
  idempotency_key, max_attempts, payload, status, created_at) VALUES ('orders', 'shopify_odoo', 'orders.shopify_odoo', $1, $2, 'webhook', 'order', $3,
  $4, 5, $5, 'succeeded', now() - $6::interval)`, shop, odoo, ref, key, payload, age)
		require.NoError(t, err)
	}
	a := `[{"variant_id": "gid://shopify/ProductVariant/1", "sku": "GOOD-1", "quantity": 2, "price": "100"},
  {"variant_id": "gid://shopify/ProductVariant/3", "sku": "LOSS-3", "quantity": 5, "price": "20"}]`
	order("gid://shopify/Order/1", "1001", "1 day", a)
	order("gid://shopify/Order/1", "1001-replay", "1 hour", a) // the same order again: counted once
	order("gid://shopify/Order/2", "1002", "2 days", `[{"variant_id": "gid://shopify/ProductVariant/2", "sku": "DIFF-2", "quantity": 1, "price": "45"}]`)
	order("gid://shopify/Order/3", "1003", "40 days", `[{"variant_id": "gid://shopify/ProductVariant/2", "sku": "DIFF-2", "quantity": 100, "price": "45"}]`)
	order("gid://shopify/Order/4", "1004", "1 day", `"not lines"`) // an unreadable payload adds nothing
	// Units sold are read by the next comparison of prices.
	_, body = fin.Get("/finance")
	require.Contains(t, body, "No order was synced in the last 30 days")
	buildFinance(t, env)

	_, body = fin.Get("/finance?sort=revenue")
	require.Contains(t, body, "Revenue, last 30 days</dt><dd>345.00</dd>")
	require.Contains(t, body, "Revenue of flagged variants</dt><dd>145.00</dd>", "LOSS-3 (100) and DIFF-2 (45) are flagged")
	require.Contains(t, body, "200.00 EUR")
	order3 := []string{"GOOD-1", "LOSS-3", "DIFF-2", "NOCOST-4"}
	for i := 1; i < len(order3); i++ {
		require.Less(t, strings.Index(body, order3[i-1]), strings.Index(body, order3[i]), "highest revenue first")
	}

	// Keyset pages, one row each, in both new orders.
	th, err := env.Store.FinanceThresholds(t.Context())
	require.NoError(t, err)
	walk := func(sort string) []string {
		f := store.FinanceFilter{Sort: sort, Limit: 1}
		var skus []string
		for range 10 {
			rows, more, err := env.Store.FinanceReview(t.Context(), th, f)
			require.NoError(t, err)
			for _, r := range rows {
				skus = append(skus, r.SKU)
			}
			if !more {
				break
			}
			f.AfterID, f.AfterKey = rows[0].VariantID, rows[0].SortKey(sort)
		}
		return skus
	}
	require.Equal(t, order3, walk(store.SortRevenue))
	require.Equal(t, []string{"NOCOST-4", "LOSS-3", "DIFF-2", "GOOD-1"}, walk(store.SortMargin))

	res, csv := fin.Get("/finance.csv?sort=revenue")
	require.Contains(t, res.Header.Get("Content-Disposition"), "finance-review_sort-revenue.csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 5)
	require.True(t, strings.HasPrefix(lines[1], "GOOD-1,"), lines[1])
	require.True(t, strings.Contains(lines[1], ",2,200,,,false,"), lines[1])
}

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
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

	fin := env.SignIn(t, store.RoleFinance)
	op := env.SignIn(t, store.RoleOperator)
	require.Equal(t, http.StatusForbidden, op.PostForm("/finance/variants/1/acknowledge", url.Values{}).StatusCode)

	_, body := fin.Get("/finance")
	require.Equal(t, 4, strings.Count(body, ">Not reviewed<"))
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

package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

// Finance starts a comparison of prices and costs itself; the page says
// when the figures were read and that another comparison is on its way.
func TestFinanceStartsAComparison(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	fin := env.SignIn(t, vocab.RoleFinance)
	_, body := fin.Get("/finance")
	require.Contains(t, body, `action="/finance/compare"`)
	require.Regexp(t, `Compared \d+ \w+ \d\d:\d\d UTC, just now\.`, body)

	res := fin.PostForm("/finance/compare", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/finance", res.Header.Get("Location"))
	var run struct {
		Status string `db:"status"`
		By     string `db:"requested_by"`
	}
	require.NoError(t, env.Store.DB.Get(&run, `SELECT status, requested_by FROM recon_runs WHERE family = 'prices' ORDER BY id DESC LIMIT 1`))
	require.Equal(t, "queued", run.Status)
	require.Equal(t, env.Users[vocab.RoleFinance].Name, run.By)
	_, body = fin.Get("/finance")
	require.Contains(t, body, "Prices and costs are being compared.")
	require.Contains(t, body, "A comparison of prices and costs is waiting to start")
	require.NotContains(t, body, `action="/finance/compare"`, "one comparison at a time")

	// Twice is once.
	fin.PostForm("/finance/compare", url.Values{})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "already being compared")
	var n int
	require.NoError(t, env.Store.DB.Get(&n, `SELECT count(*) FROM recon_runs WHERE family = 'prices' AND finished_at IS NULL`))
	require.Equal(t, 1, n)

	// A comparison that fails says so, and why; the older review stays.
	_, err := env.Store.DB.Exec(`UPDATE recon_runs SET status = 'failed', started_at = now(), finished_at = now(),
  message = 'Odoo did not answer: check its address on Connections.' WHERE family = 'prices' AND finished_at IS NULL`)
	require.NoError(t, err)
	_, body = fin.Get("/finance")
	require.Contains(t, body, `id="finance-comparison-failed"`)
	require.Contains(t, body, "Odoo did not answer: check its address on Connections.")
	require.Contains(t, body, "Variants reviewed</dt><dd>4</dd>")
	require.Contains(t, body, `action="/finance/compare"`, "finance may try again")
}

// Finance sends a price fix to a chosen operator; the operator sees it on
// the discrepancy with finance's note and answers; finance sees the answer
// on the row, and the price as fixed since the comparison.
func TestFinancePriceFixRoundTrip(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	db := env.Store.DB
	var run, odoo, shop int64
	require.NoError(t, db.Get(&run, `SELECT id FROM recon_runs WHERE family = 'prices'`))
	require.NoError(t, db.Get(&odoo, `SELECT id FROM connections WHERE kind = 'odoo'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	_, err := env.Store.ComparePrices(t.Context(), run, odoo, shop)
	require.NoError(t, err)
	fin := env.SignIn(t, vocab.RoleFinance)
	op := env.SignIn(t, vocab.RoleOperator)
	opUser := env.Users[vocab.RoleOperator]

	_, body := fin.Get("/finance")
	require.Contains(t, body, fmt.Sprintf(`<option value="%d" selected>%s (Operator)</option>`, opUser.ID, opUser.Name), "the only operator is the default")
	// A bad assignee is refused in words; nothing is sent.
	fin.PostForm("/finance/variants/2/send", url.Values{"assignee": {"someone"}})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "Choose who takes the price fix from the list. Nothing was sent.")
	fin.PostForm("/finance/variants/2/send", url.Values{"assignee": {"424242"}})
	_, body = fin.Get("/finance")
	require.Contains(t, body, "That person does not exist.")

	fin.PostForm("/finance/variants/2/send", url.Values{"note": {"Odoo is right"}, "assignee": {fmt.Sprint(opUser.ID)}})
	_, body = fin.Get("/finance?review=sent")
	require.Contains(t, body, "Waiting for "+opUser.Name+".")
	require.NotContains(t, body, "LOSS-3", "filtered on sent")

	// The operator's work list: badge, filter, the request on the discrepancy.
	_, body = op.Get("/reconciliation/discrepancies?sent=operators")
	require.Contains(t, body, "data-sent-to-operators")
	require.Contains(t, body, "DIFF-2")
	var disc int64
	require.NoError(t, db.Get(&disc, `SELECT discrepancy_id FROM finance_reviews WHERE variant_id = 2`))
	discPath := fmt.Sprintf("/reconciliation/discrepancies/%d", disc)
	_, body = op.Get(discPath)
	require.Contains(t, body, `id="finance-request"`)
	require.Contains(t, body, "Their note: Odoo is right")
	_, body = fin.Get(discPath)
	require.Contains(t, body, "The operators have not answered yet.", "finance reads it, without the answer form")
	require.Equal(t, http.StatusForbidden, fin.PostForm(discPath+"/answer", url.Values{"outcome": {"done"}}).StatusCode)

	// Bad answers, in words; then the answer.
	op.RefreshCSRF(discPath)
	require.Equal(t, http.StatusBadRequest, op.PostForm(discPath+"/answer", url.Values{"outcome": {"done"}, "note": {"a\x00b"}}).StatusCode,
		"a NUL byte is turned away before any handler")
	for msg, f := range map[string]url.Values{
		"Say why the price is not a problem, so finance knows. Nothing was saved.": {"outcome": {"not_a_problem"}},
		"Choose “Done” or “Not a problem”. Nothing was saved.":                     {"outcome": {"perhaps"}},
		"Keep the note under 500 characters.":                                      {"outcome": {"done"}, "note": {strings.Repeat("é", 501)}},
	} {
		res := op.PostForm(discPath+"/answer", f)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, body = op.Get(discPath)
		require.Contains(t, body, msg)
	}
	op.PostForm(discPath+"/answer", url.Values{"outcome": {"done"}, "note": {"=sent 50 to the store"}})
	_, body = op.Get(discPath)
	require.Contains(t, body, "Finance is told the price is fixed")
	require.Contains(t, body, "Answered by "+opUser.Name)

	_, body = fin.Get("/finance")
	require.Contains(t, body, opUser.Name+": =sent 50 to the store")
	require.Contains(t, body, "Price now fixed")
	require.Contains(t, body, "Fixed since the comparison")
	require.NotContains(t, body, `formaction="/finance/variants/2/send"`, "fixed: nothing left to send")

	// The review's CSV carries names, notes, the reviewer and the answer, formula-safe.
	_, csv := fin.Get("/finance.csv?review=sent")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], "review_note,reviewer,price_fix_assignee,operators_answer,operators_note,answered_by")
	require.Contains(t, lines[1], ",Odoo is right,"+env.Users[vocab.RoleFinance].Name+","+opUser.Name+",done,'=sent 50 to the store,"+opUser.Name+",")
}

// The month-end summary covers any past month or range; its CSV lists the
// decisions of the period with names, notes, reviewer and decision.
func TestFinanceSummaryOfAnyPeriod(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	db := env.Store.DB
	fin := env.SignIn(t, vocab.RoleFinance)
	fin.PostForm("/finance/variants/3/accept", url.Values{"note": {"@clearance sale"}})
	fin.PostForm("/finance/variants/4/acknowledge", url.Values{})
	// The comparison and the acceptance were in October; the acknowledgement now.
	oct := time.Date(2026, 10, 14, 9, 30, 0, 0, time.UTC)
	_, err := db.Exec(`UPDATE finance_run_totals SET compared_at = $1`, oct)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE finance_decisions SET decided_at = $1 WHERE decision = 'accepted'`, oct.Add(time.Hour))
	require.NoError(t, err)

	res, body := fin.Get("/finance/summary?month=2026-10")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Finance summary, October 2026")
	require.Contains(t, body, "Variants reviewed</dt><dd>4</dd>", "the totals kept for October's comparison")
	require.Contains(t, body, "14 Oct 2026 09:30 UTC")
	require.Contains(t, body, "The variants of older comparisons are not kept")
	require.Contains(t, body, "@clearance sale")
	require.NotContains(t, body, "NOCOST-4", "acknowledged in another month")

	_, body = fin.Get("/finance/summary?from=2026-10-15&to=2026-10-31")
	require.Contains(t, body, "Finance summary, 15 October 2026 to 31 October 2026")
	require.Contains(t, body, "Prices and costs were not compared in this period")
	require.Contains(t, body, "No variant was reviewed in this period.")

	for q, want := range map[string]string{
		"month=2026-13":                 "Choose a month up to this one",
		"month=2999-01":                 "Choose a month up to this one",
		"from=2026-10-31&to=2026-10-01": "The range ends before it starts",
		"from=2026-10-01&to=soon":       "Enter both dates of the range as days",
		"from=2020-01-01&to=2026-10-01": "at most a year",
	} {
		res, body := fin.Get("/finance/summary?" + q)
		require.Equal(t, http.StatusOK, res.StatusCode, q)
		require.Contains(t, body, want, q)
	}

	res, csv := fin.Get("/finance/summary.csv?month=2026-10")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Disposition"), "finance-decisions_2026-10-01_to_2026-10-31.csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasPrefix(lines[0], "decided_at,sku,product,decision,note,by,"), lines[0])
	require.Contains(t, lines[1], ",LOSS-3,")
	require.Contains(t, lines[1], ",Accepted,'@clearance sale,"+env.Users[vocab.RoleFinance].Name+",")

	// The period holding the review shown lists its flagged variants too.
	_, body = fin.Get("/finance/summary")
	require.Contains(t, body, "Flagged variants, highest revenue first")
	require.Contains(t, body, "DIFF-2")
	require.Contains(t, body, "Acknowledged", "this month's decision")
}

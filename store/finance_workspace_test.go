package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// workspace is a built review of four variants (Shopify store 2, Odoo 1):
// OK-1 healthy, GAP-2 priced 45 in Shopify against Odoo's 50 (with its open
// price discrepancy), LOSS-3 sold at 20 for a cost of 25, GAP-4 priced 8
// against 10 and sold at a loss of 1; units sold are not known.
type workspace struct {
	st    *store.Store
	run   int64
	gap2  int64 // GAP-2's price discrepancy
	oli   store.User
	otto  store.User
	fin   store.Actor
	opAct store.Actor
}

func newWorkspace(t *testing.T) workspace {
	t.Helper()
	st := storetest.New(t)
	ctx := t.Context()
	w := workspace{st: st}
	require.NoError(t, st.DB.GetContext(ctx, &w.run, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at)
VALUES ('prices', 'manual', 'succeeded', now() - interval '2 minutes', now() - interval '1 minute') RETURNING id`))
	_, err := st.DB.ExecContext(ctx, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, cost, currency) VALUES
  ($1, 1, '1', 1, 'OK-1', 100, 40, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/1', 1, 'OK-1', 100, NULL, 'EUR'),
  ($1, 1, '2', 2, 'GAP-2', 50, 30, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/2', 2, 'GAP-2', 45, NULL, 'EUR'),
  ($1, 1, '3', 3, 'LOSS-3', 20, 25, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/3', 3, 'LOSS-3', 20, NULL, 'EUR'),
  ($1, 1, '4', 4, 'GAP-4', 10, 9, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/4', 4, 'GAP-4', 8, NULL, 'EUR')`, w.run)
	require.NoError(t, err)
	require.NoError(t, st.DB.GetContext(ctx, &w.gap2, `INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label,
  master_value, other_value, size, first_run_id, last_run_id) VALUES ('prices', 'price', '2:v2', 1, 2, 'GAP-2', '50', '45', 5, $1, $1) RETURNING id`, w.run))
	_, err = st.BuildFinanceReview(ctx, w.run, 1, 2)
	require.NoError(t, err)
	for _, u := range []struct {
		out  *store.User
		name string
		role vocab.Role
	}{{&w.oli, "Oli Operator", vocab.RoleOperator}, {&w.otto, "Otto Other", vocab.RoleOperator}} {
		*u.out, err = st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: strings.ToLower(strings.Fields(u.name)[0]) + "@shop.test", Name: u.name, Role: u.role, Password: "correct horse battery"})
		require.NoError(t, err)
	}
	w.fin = store.Actor{Label: "Fiona Finance"}
	w.opAct = store.Actor{UserID: w.otto.ID, Label: "Otto Other"}
	return w
}

func (w workspace) rows(t *testing.T, f store.FinanceFilter) []store.FinanceRow {
	t.Helper()
	th, err := w.st.FinanceThresholds(t.Context())
	require.NoError(t, err)
	rows, _, err := w.st.FinanceReview(t.Context(), th, f)
	require.NoError(t, err)
	return rows
}

func skus(rows []store.FinanceRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.SKU
	}
	return out
}

// Money at stake is the larger of the price gap and the loss per unit;
// the review filters by review state and sorts by it, page by page.
func TestFinanceReviewStakeAndReviewFilters(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	ctx := t.Context()
	rows := w.rows(t, store.FinanceFilter{Sort: store.SortStake})
	require.Equal(t, []string{"GAP-2", "LOSS-3", "GAP-4", "OK-1"}, skus(rows), "ties in variant order")
	stake := map[string]float64{}
	for _, r := range rows {
		require.NotNil(t, r.Stake, r.SKU)
		stake[r.SKU] = *r.Stake
	}
	// GAP-4: a gap of 2 beats its loss of 1; no orders: one unit each.
	require.Equal(t, map[string]float64{"LOSS-3": 5, "GAP-2": 5, "GAP-4": 2, "OK-1": 0}, stake)

	// Keyset pages of one row walk the same order.
	var walked []string
	f := store.FinanceFilter{Sort: store.SortStake, Limit: 1}
	th, err := w.st.FinanceThresholds(ctx)
	require.NoError(t, err)
	for range 10 {
		page, more, err := w.st.FinanceReview(ctx, th, f)
		require.NoError(t, err)
		walked = append(walked, skus(page)...)
		if !more {
			break
		}
		f.AfterID, f.AfterKey = page[0].VariantID, page[0].SortKey(store.SortStake)
	}
	require.Equal(t, skus(rows), walked)

	_, err = w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 3, Action: "accept", Note: "clearance"})
	require.NoError(t, err)
	_, err = w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 2, Action: "send"})
	require.NoError(t, err)
	for review, want := range map[string][]string{
		store.ReviewNone:         {"OK-1", "GAP-4"},
		store.ReviewSent:         {"GAP-2"},
		store.ReviewAccepted:     {"LOSS-3"},
		store.ReviewAcknowledged: {},
	} {
		got := skus(w.rows(t, store.FinanceFilter{Review: review, Sort: store.SortStake}))
		require.ElementsMatch(t, want, got, review)
	}
	// Combined with a flag.
	require.Equal(t, []string{"GAP-4"}, skus(w.rows(t, store.FinanceFilter{Review: store.ReviewNone, Flag: store.FlagPriceDiffers})))

	totals, err := w.st.FinanceReviewTotals(ctx, th)
	require.NoError(t, err)
	require.NotNil(t, totals.ComparedAt)
	require.WithinDuration(t, time.Now().Add(-2*time.Minute), *totals.ComparedAt, time.Minute, "compared when the run started reading")
}

// A price fix goes to the operator chosen, who becomes the default; the
// operators' answer closes the discrepancy and shows on finance's row, and
// the price shows as fixed since the comparison.
func TestPriceFixAssignedAndAnswered(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	ctx := t.Context()

	def, err := w.st.FinanceDefaultAssignee(ctx)
	require.NoError(t, err)
	require.Equal(t, w.oli.ID, def, "no choice yet: the first active operator by name")

	// Finance may not hand a price fix to someone who cannot take it.
	_, err = w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 2, Action: "send", AssigneeID: 999999})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["assignee"], "does not exist")

	_, err = w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 2, Action: "send", Note: "Odoo is right", AssigneeID: w.otto.ID})
	require.NoError(t, err)
	d, err := w.st.DiscrepancyByID(ctx, w.gap2)
	require.NoError(t, err)
	require.Equal(t, w.otto.ID, *d.AssigneeID)
	def, err = w.st.FinanceDefaultAssignee(ctx)
	require.NoError(t, err)
	require.Equal(t, w.otto.ID, def, "the person chosen is the default next time")
	n, err := w.st.CountSentToOperators(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	row := w.rows(t, store.FinanceFilter{Review: store.ReviewSent})[0]
	require.Equal(t, "Otto Other", row.Assignee)
	require.Equal(t, "open", row.RequestStatus)
	require.Empty(t, row.Outcome)
	require.Nil(t, row.FixedAt)

	// Bad answers change nothing, each in words.
	for name, tc := range map[string]struct {
		in   store.PriceFixAnswer
		want string
	}{
		"unknown outcome":       {store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: "maybe"}, "Choose"},
		"not a problem, no why": {store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: store.OutcomeNotProblem, Note: "  "}, "Say why"},
		"NUL byte":              {store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: store.OutcomeDone, Note: "a\x00b"}, "cannot be saved"},
	} {
		_, err := w.st.AnswerPriceFix(ctx, w.opAct, tc.in)
		var fe vocab.FieldErrors
		require.ErrorAs(t, err, &fe, name)
		require.Contains(t, fe.First("outcome", "note"), tc.want, name)
	}
	var other int64
	require.NoError(t, w.st.DB.GetContext(ctx, &other, `INSERT INTO discrepancies (family, kind, key, label, first_run_id, last_run_id)
VALUES ('prices', 'price', '2:v3', 'LOSS-3', $1, $1) RETURNING id`, w.run))
	_, err = w.st.AnswerPriceFix(ctx, w.opAct, store.PriceFixAnswer{DiscrepancyID: other, Outcome: store.OutcomeDone})
	require.ErrorIs(t, err, store.ErrNoFinanceRequest)
	_, err = w.st.AnswerPriceFix(ctx, w.opAct, store.PriceFixAnswer{DiscrepancyID: 999999, Outcome: store.OutcomeDone})
	require.ErrorIs(t, err, store.ErrNotFound)

	req, err := w.st.AnswerPriceFix(ctx, w.opAct, store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: store.OutcomeDone, Note: "sent Odoo's 50"})
	require.NoError(t, err)
	require.Equal(t, store.OutcomeDone, req.Outcome)
	_, err = w.st.AnswerPriceFix(ctx, w.opAct, store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: store.OutcomeNotProblem, Note: "x"})
	require.ErrorIs(t, err, store.ErrAnswered)

	d, err = w.st.DiscrepancyByID(ctx, w.gap2)
	require.NoError(t, err)
	require.Equal(t, store.DiscResolved, d.Status)
	require.Contains(t, d.Note, "Done (Otto Other): sent Odoo's 50")
	n, err = w.st.CountSentToOperators(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "answered: off the operators' badge")

	row = w.rows(t, store.FinanceFilter{Review: store.ReviewSent})[0]
	require.Equal(t, store.OutcomeDone, row.Outcome)
	require.Equal(t, "sent Odoo's 50", row.OutcomeNote)
	require.Equal(t, "Otto Other", row.OutcomeBy)
	require.NotNil(t, row.FixedAt, "resolved after the comparison: fixed, not different")
	require.True(t, row.PriceDiffers, "the comparison's own figures are kept")

	// Every decision is kept, with who took it and for whom.
	var decisions []string
	require.NoError(t, w.st.DB.SelectContext(ctx, &decisions, `SELECT decision || ':' || by_label || ':' || assignee FROM finance_decisions ORDER BY id`))
	require.Equal(t, []string{"sent:Fiona Finance:Otto Other", "done:Otto Other:"}, decisions)
}

// "Not a problem" ignores the discrepancy with the operators' note.
func TestPriceFixNotAProblem(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	ctx := t.Context()
	_, err := w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 2, Action: "send"})
	require.NoError(t, err)
	d, err := w.st.DiscrepancyByID(ctx, w.gap2)
	require.NoError(t, err)
	require.Equal(t, w.oli.ID, *d.AssigneeID, "nobody chosen: the default assignee")
	_, err = w.st.AnswerPriceFix(ctx, w.opAct, store.PriceFixAnswer{DiscrepancyID: w.gap2, Outcome: store.OutcomeNotProblem, Note: "promo price until Friday"})
	require.NoError(t, err)
	d, err = w.st.DiscrepancyByID(ctx, w.gap2)
	require.NoError(t, err)
	require.Equal(t, store.DiscIgnored, d.Status)
	row := w.rows(t, store.FinanceFilter{Review: store.ReviewSent})[0]
	require.Equal(t, store.OutcomeNotProblem, row.Outcome)
	require.Nil(t, row.FixedAt, "ignored is not fixed")
}

// A past period's summary reads the totals kept per comparison and the
// decisions taken in it, whatever later comparisons replaced.
func TestFinancePeriodRunsAndDecisions(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	ctx := t.Context()
	_, err := w.st.ReviewVariant(ctx, w.fin, store.FinanceAction{VariantID: 3, Action: "accept", Note: "clearance"})
	require.NoError(t, err)
	// Move the run and the decision to October.
	oct := time.Date(2026, 10, 14, 9, 30, 0, 0, time.UTC)
	_, err = w.st.DB.ExecContext(ctx, `UPDATE finance_run_totals SET compared_at = $1`, oct)
	require.NoError(t, err)
	_, err = w.st.DB.ExecContext(ctx, `UPDATE finance_decisions SET decided_at = $1`, oct.Add(time.Hour))
	require.NoError(t, err)
	// A later comparison replaces the review's rows.
	var run2 int64
	require.NoError(t, w.st.DB.GetContext(ctx, &run2, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at)
VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	_, err = w.st.BuildFinanceReview(ctx, run2, 1, 2)
	require.NoError(t, err)

	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	runs, err := w.st.FinancePeriodRuns(ctx, from, to)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, w.run, runs[0].RunID)
	tot := runs[0].Totals()
	require.EqualValues(t, 4, tot.Variants)
	require.EqualValues(t, 2, tot.PriceDiffers)
	require.EqualValues(t, 2, tot.Negative)

	ds, more, err := w.st.FinanceDecisions(ctx, from, to, 0, 10)
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, ds, 1)
	require.Equal(t, "LOSS-3", ds[0].SKU)
	require.Equal(t, "accepted", ds[0].Decision)
	require.Equal(t, "clearance", ds[0].Note)
	require.Equal(t, "Fiona Finance", ds[0].ByLabel)
	require.InDelta(t, 20, *ds[0].ShopPrice, 0.001)
	require.InDelta(t, -25, *ds[0].MarginPct, 0.001)

	ds, _, err = w.st.FinanceDecisions(ctx, to, to.AddDate(0, 1, 0), 0, 10)
	require.NoError(t, err)
	require.Empty(t, ds, "nothing decided in November")
}

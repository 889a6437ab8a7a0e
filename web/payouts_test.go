package web_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

var (
	// A transaction's amount, then its fee (0.59) in the next cell.
	txAmounts = regexp.MustCompile(`<td class="num">(1[01]\.\d\d USD)</td><td class="num">0\.59 USD</td>`)
	nextPage  = regexp.MustCompile(`href="([^"]+)">Next →`)
)

// payoutID finds the stored payout of a Shopify payout id.
func payoutID(t *testing.T, env *webtest.Env, ref string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.Store.DB.GetContext(context.Background(), &id, `SELECT id FROM shop_payouts WHERE payout_ref = $1`, ref))
	return id
}

// On the demo workspace, loading it read the payouts, looked for their
// deposits in Odoo and compared them: the dashboard counts them, the
// payout whose deposit is 3 ‰ short lists its difference in money and per
// mille, the one whose deposit never came says so, and the rest match.
func TestPayoutsOnTheDemoWorkspace(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	w := env.Server.DemoWorkspace()
	require.NotZero(t, w.Payouts.Short.ID, "the demo plants a short deposit")
	c := env.SignIn(t, vocab.RoleFinance)

	res, body := c.Get("/payouts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, want := range []string{"Payouts", "Matched to a deposit", "Not matched", "Chargebacks open",
		"Payment fees as a share of revenue", "True margin per order", "True margin per variant"} {
		require.Contains(t, body, want)
	}
	require.Contains(t, body, `class="fees-chart"`)
	require.NotContains(t, body, "gid://shopify/ShopifyPaymentsPayout", "ids stay in the technical detail")

	short := payoutID(t, env, w.Payouts.Short.GID())
	res, body = c.Get("/payouts/" + strconv.FormatInt(short, 10))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Deposit differs from the payout")
	require.Contains(t, body, "(3.0 ‰)")
	require.Contains(t, body, "Differs")

	lost := payoutID(t, env, w.Payouts.Lost.GID())
	_, body = c.Get("/payouts/" + strconv.FormatInt(lost, 10))
	require.Contains(t, body, "No deposit found")
	require.Contains(t, body, "Payout not found in the bank")

	ds, _, err := env.Store.ListDiscrepancies(t.Context(), store.DiscFilter{Family: store.ReconPayouts, Limit: 200})
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Kind]++
	}
	require.Equal(t, 1, kinds["payout_deposit_differs"], "%v", kinds)
	require.Equal(t, 1, kinds["payout_no_deposit"], "%v", kinds)
	require.Zero(t, kinds["payout_sum_differs"], "every payout adds up")

	// A payout of 120 charges: its transactions come 50 a page, in order,
	// each page linking to the next.
	issued := time.Now().UTC().Add(-5 * 24 * time.Hour)
	in := shopsandbox.NewPayout{IssuedAt: issued}
	for i := range 120 {
		in.Txs = append(in.Txs, shopsandbox.PayoutTx{Type: "CHARGE", Amount: int64(1000 + i), Fee: 59, ProcessedAt: issued.Add(-time.Duration(120-i) * time.Minute)})
	}
	big := w.Shop.AddPayout(in)
	_, err = env.Engine.RunScheduledOnce(t.Context())
	require.NoError(t, err)
	href := "/payouts/" + strconv.FormatInt(payoutID(t, env, big.GID()), 10)
	var amounts []string
	for pages := 0; href != "" && pages < 5; pages++ {
		res, body = c.Get(href)
		require.Equal(t, http.StatusOK, res.StatusCode, href)
		for _, m := range txAmounts.FindAllStringSubmatch(body, -1) {
			amounts = append(amounts, m[1])
		}
		href = ""
		if m := nextPage.FindStringSubmatch(body); m != nil {
			href = html.UnescapeString(m[1])
		}
	}
	require.Len(t, amounts, 120, "every transaction once, over three pages")
	require.Equal(t, "10.00 USD", amounts[0])
	require.Equal(t, "11.19 USD", amounts[119])
	require.True(t, slices.IsSorted(amounts), "in the order they were processed, none twice")

	// The unmatched filter lists the payout without a deposit.
	_, body = c.Get("/payouts?unmatched=1")
	require.Contains(t, body, "Payouts without a deposit")
	require.Contains(t, body, "/payouts/"+strconv.FormatInt(lost, 10))
	require.NotContains(t, body, "/payouts/"+strconv.FormatInt(short, 10)+`"`)
}

// Hostile or stale input is answered in words, never with a crash.
func TestPayoutsBadInput(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.SignIn(t, vocab.RoleFinance)
	// NUL bytes are refused for every page by the console's middleware.
	res, _ := c.Get("/payouts?before=%00_%00")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	for _, path := range []string{"/payouts?before=garbage", "/payouts?before=1_x",
		"/payouts/1?after=nope", "/payouts?before=" + strings.Repeat("9", 500) + "_1"} {
		res, body := c.Get(path)
		if strings.HasPrefix(path, "/payouts/1") {
			require.Equal(t, http.StatusNotFound, res.StatusCode, path)
			continue
		}
		require.Equal(t, http.StatusSeeOther, res.StatusCode, path)
		require.Equal(t, "/payouts", res.Header.Get("Location"), path)
		_, body = c.Get("/payouts")
		require.Contains(t, body, "That page link was damaged", path)
	}
	res, _ = c.Get("/payouts/999999")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, body := c.Get("/payouts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "No payouts are read yet", "without a source of payouts the page says what to do")
}

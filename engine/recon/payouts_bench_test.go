package recon_test

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/engine"
	"crossdock/engine/enginetest"
	"crossdock/engine/recon"
	"crossdock/store"
)

// BenchmarkPayoutsYear reads a year of a busy store's Shopify Payments (365
// daily payouts and their balance transactions) from the sandbox twin,
// looks for every deposit in the Odoo twin, compares them (one deposit
// planted 3 ‰ short), then opens every payout's page as the console reads
// it (the payout, its first page of transactions, its differences).
// CROSSDOCK_PAYOUTS_BENCH_TX sets the number of balance transactions
// (default 73,000; the year is 2,000,000). The twin answers without
// Shopify's rate limit: see the report for the time the points would take.
func BenchmarkPayoutsYear(b *testing.B) {
	total := 73000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_PAYOUTS_BENCH_TX")); err == nil && v > 0 {
		total = v
	}
	per := total / 365
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		var rc *recon.Service
		e := enginetest.Setup(b, enginetest.Options{Attach: func(eng *engine.Engine) {
			var err error
			rc, err = recon.New(eng, recon.Config{})
			require.NoError(b, err)
		}})
		env := &env{Env: e, rc: rc}
		env.payoutsRule(b)
		last := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
		e.Shop.SeedPayouts(365, per, last)
		ps := e.Shop.Payouts()
		for i, p := range ps {
			amount := float64(p.Net) / 100
			if i == len(ps)/2 {
				amount = math.Round(amount*997) / 1000
			}
			e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: p.IssuedAt.Add(48 * time.Hour), Amount: amount, Label: "SHOPIFY " + p.TraceID})
		}
		enginetest.StartEngine(b, e.Eng)
		b.StartTimer()

		start := time.Now()
		n, err := e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
		require.NoError(b, err)
		require.Equal(b, len(ps), n)
		read := time.Since(start)
		enginetest.Wait(b, "every deposit looked for", func() bool {
			var k int
			require.NoError(b, e.St.DB.GetContext(ctx, &k, `SELECT count(*) FROM payout_deposits`))
			return k == len(ps)
		})
		matched := time.Since(start) - read
		t0 := time.Now()
		run := env.reconcile(b, store.ReconPayouts)
		compared := time.Since(t0)
		require.Equal(b, store.RunSucceeded, run.Status, run.Message)
		wall := time.Since(start)

		b.StopTimer()
		var short int
		require.NoError(b, e.St.DB.GetContext(ctx, &short, `SELECT count(*) FROM discrepancies WHERE kind IN ('payout_deposit_differs', 'payout_no_deposit', 'payout_sum_differs')`))
		require.Equal(b, 1, short, "the planted 3 ‰ difference is found, and only it")
		var rows int
		require.NoError(b, e.St.DB.GetContext(ctx, &rows, `SELECT count(*) FROM shop_balance_transactions`))

		// A payout's page, as the handler reads it, for every payout.
		list, _, err := e.St.ListPayouts(ctx, store.PayoutFilter{Limit: 200})
		require.NoError(b, err)
		more, _, err := e.St.ListPayouts(ctx, store.PayoutFilter{Limit: 200, BeforeAt: list[len(list)-1].IssuedAt, BeforeID: list[len(list)-1].ID})
		require.NoError(b, err)
		var pages []time.Duration
		for _, sp := range append(list, more...) {
			t := time.Now()
			p, err := e.St.PayoutByID(ctx, sp.ID)
			require.NoError(b, err)
			_, _, err = e.St.PayoutTransactions(ctx, p, time.Time{}, 0, 50)
			require.NoError(b, err)
			_, _, err = e.St.ListDiscrepancies(ctx, store.DiscFilter{Family: store.ReconPayouts, KeyPrefix: strconv.FormatInt(p.ID, 10) + ":", Limit: 50})
			require.NoError(b, err)
			pages = append(pages, time.Since(t))
		}
		slices.Sort(pages)
		p95 := pages[len(pages)*95/100]
		b.ReportMetric(float64(rows), "balance_tx")
		b.ReportMetric(read.Seconds(), "read_s")
		b.ReportMetric(matched.Seconds(), "match_s")
		b.ReportMetric(compared.Seconds(), "compare_s")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(float64(p95.Microseconds())/1000, "page_p95_ms")
		b.ReportMetric(float64(pages[len(pages)/2].Microseconds())/1000, "page_p50_ms")
		b.StartTimer()
	}
}

package shopify

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

func cents(t *testing.T, m Money) int64 {
	t.Helper()
	f, err := strconv.ParseFloat(m.Amount, 64)
	require.NoError(t, err, m.Amount)
	if f < 0 {
		return int64(f*100 - 0.5)
	}
	return int64(f*100 + 0.5)
}

// The seeded payout is the SDK fixture's: its summary checks out as the
// fixture's does (44.52 − 1.32 + 2.13 − 0.12 − 3.54 + 0.23 = 41.90), its
// net is 41.90, and its balance transactions add up to it.
func TestPayoutsFixtureSums(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("/work/shared/fixtures/next/shopify-rest-payout-single.json")
	if err != nil {
		t.Skip("fixture not on this machine:", err)
	}
	var fx struct {
		Payout struct {
			Amount  string            `json:"amount"`
			Summary map[string]string `json:"summary"`
		} `json:"payout"`
	}
	require.NoError(t, json.Unmarshal(raw, &fx))

	c, _ := setup(t, sandbox.Options{Plan: "plus"})
	ctx := context.Background()
	pg, err := c.PayoutsIssuedSince(ctx, time.Time{}, "", 50)
	require.NoError(t, err)
	require.Len(t, pg.Payouts, 1)
	p := pg.Payouts[0]
	require.Equal(t, fx.Payout.Amount, p.Net.Amount)
	require.Equal(t, "PAID", p.Status)
	require.Equal(t, "DEPOSIT", p.TransactionType)
	require.Equal(t, "623721858", p.LegacyResourceID)
	sm := p.Summary
	require.Equal(t, fx.Payout.Summary["charges_gross_amount"], sm.ChargesGross.Amount)
	require.Equal(t, fx.Payout.Summary["charges_fee_amount"], sm.ChargesFee.Amount)
	require.Equal(t, fx.Payout.Summary["refunds_gross_amount"], sm.RefundsFeeGross.Amount)
	require.Equal(t, fx.Payout.Summary["refunds_fee_amount"], sm.RefundsFee.Amount)
	require.Equal(t, fx.Payout.Summary["adjustments_gross_amount"], sm.AdjustmentsGross.Amount)
	require.Equal(t, fx.Payout.Summary["adjustments_fee_amount"], sm.AdjustmentsFee.Amount)
	check := cents(t, sm.ChargesGross) - cents(t, sm.ChargesFee) + cents(t, sm.AdjustmentsGross) - cents(t, sm.AdjustmentsFee) +
		cents(t, sm.RefundsFeeGross) - cents(t, sm.RefundsFee) + cents(t, sm.ReservedFundsGross) - cents(t, sm.ReservedFundsFee) +
		cents(t, sm.RetriedPayoutsGross) - cents(t, sm.RetriedPayoutsFee)
	require.EqualValues(t, 4190, check)

	txs, err := c.BalanceTransactionsSince(ctx, time.Time{}, "", 100)
	require.NoError(t, err)
	require.Len(t, txs.Transactions, 4)
	var sum int64
	kinds := map[string]int{}
	for _, tx := range txs.Transactions {
		require.Equal(t, p.ID, tx.PayoutID)
		require.Equal(t, cents(t, tx.Amount)-cents(t, tx.Fee), cents(t, tx.Net), tx.ID)
		sum += cents(t, tx.Net)
		kinds[tx.Kind]++
	}
	require.EqualValues(t, 4190, sum)
	require.Equal(t, map[string]int{"charge": 2, "refund": 1, "adjustment": 1}, kinds)
	require.NotEmpty(t, txs.Transactions[0].OrderName, "charges carry their order")
}

// Pages follow one another without gaps or repeats, a high-water mark
// leaves out what was read, and each page stays under the cost limit.
func TestPayoutsPaginateIncrementally(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Plan: "plus"})
	last := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	b.shop.SeedPayouts(120, 9, last)
	ctx := context.Background()

	var payouts []Payout
	after := ""
	for {
		pg, err := c.PayoutsIssuedSince(ctx, time.Time{}, after, 50)
		require.NoError(t, err)
		payouts = append(payouts, pg.Payouts...)
		if !pg.PageInfo.HasNextPage {
			break
		}
		after = pg.PageInfo.EndCursor
	}
	require.Len(t, payouts, 121)
	seen := map[string]bool{}
	for i, p := range payouts {
		require.False(t, seen[p.ID], "payout %s twice", p.ID)
		seen[p.ID] = true
		if i > 0 {
			require.False(t, p.IssuedAt.Before(payouts[i-1].IssuedAt), "oldest first")
		}
	}
	since := payouts[100].IssuedAt
	pg, err := c.PayoutsIssuedSince(ctx, since, "", 50)
	require.NoError(t, err)
	require.Len(t, pg.Payouts, 20, "only the payouts issued after the mark")

	n, after := 0, ""
	for {
		pg, err := c.BalanceTransactionsSince(ctx, time.Time{}, after, 160)
		require.NoError(t, err)
		n += len(pg.Transactions)
		if !pg.PageInfo.HasNextPage {
			break
		}
		after = pg.PageInfo.EndCursor
	}
	require.Equal(t, 4+120*9, n)
	use := c.MeterCost()
	_, err = c.BalanceTransactionsSince(ctx, time.Time{}, "", 160) // the flow's page
	require.NoError(t, err)
	got := use.Stop()
	require.Positive(t, got.Requested)
	require.Less(t, got.Requested, 1000.0, "one page stays under Shopify's 1,000-point query limit")
}

func TestTransactionKindUnknownIsOther(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"CHARGE": "charge", "REFUND": "refund", "DISPUTE_REVERSAL": "dispute",
		"CHARGEBACK_FEE": "dispute", "ADJUSTMENT": "adjustment", "RESERVED_FUNDS_WITHDRAWAL": "reserve",
		"SHOP_CASH_CREDIT": "other", "": "other", "NEW_THING_2031": "other"} {
		require.Equal(t, want, TransactionKind(in), in)
	}
}

package recon_test

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// payoutsRule makes Shopify decide payouts and Odoo receive (reconcile) them.
func (e *env) payoutsRule(t testing.TB) {
	t.Helper()
	e.SourceRule(t, store.SourceRuleInput{Family: vocab.Payouts, Master: e.ShopConn.ID, Receivers: []int64{e.OdooConn.ID},
		Trigger: rules.Scheduled, SweepMinutes: 60, FreshnessMinutes: 1440, Policy: rules.MasterWins})
}

// payout adds a payout of charges adding up to about net cents.
func payout(e *env, issued time.Time, trace string, charges ...int64) shopsandbox.Payout {
	in := shopsandbox.NewPayout{IssuedAt: issued, TraceID: trace}
	for i, c := range charges {
		in.Txs = append(in.Txs, shopsandbox.PayoutTx{Type: "CHARGE", Amount: c, Fee: c * 3 / 100, ProcessedAt: issued.Add(-time.Duration(i+1) * time.Hour)})
	}
	return e.Shop.AddPayout(in)
}

func (e *env) waitDeposits(t testing.TB, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		enginetest.Wait(t, "payout "+ref+" looked for in Odoo", func() bool {
			p, err := e.St.PayoutByRef(context.Background(), e.ShopConn.ID, ref)
			return err == nil && p.DepositCheckedAt != nil
		})
	}
}

// The payouts flow reads payouts and balance transactions into the store
// and looks for each deposit in Odoo; reading again changes nothing; the
// payouts comparison lists a deposit 3 ‰ short, with its size in money and
// per mille, and a payout with no deposit, and nothing for the payouts that
// agree; the discrepancy goes through the shared workflow and is resolved
// by a later comparison once the systems agree.
func TestPayoutsReadMatchedAndReconciled(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.payoutsRule(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -6).Add(9 * time.Hour)

	exact := payout(e, day, "", 100000, 23456)                  // deposit of the same amount
	short := payout(e, day.Add(24*time.Hour), "", 50000, 50000) // deposit 3 ‰ short
	traced := payout(e, day.Add(48*time.Hour), "TRC-7781", 80000)
	missing := payout(e, day.Add(72*time.Hour), "", 12345)
	cents := func(p shopsandbox.Payout) float64 { return float64(p.Net) / 100 }
	e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: exact.IssuedAt.Add(48 * time.Hour), Amount: cents(exact), Label: "SHOPIFY PAYOUT"})
	shortAmount := math.Round(cents(short)*0.997*100) / 100
	e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: short.IssuedAt.Add(24 * time.Hour), Amount: shortAmount, Label: "SHOPIFY PAYOUT"})
	e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: traced.IssuedAt.Add(24 * time.Hour), Amount: cents(traced), Label: "SHOPIFY TRC-7781"})
	e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: traced.IssuedAt.Add(24 * time.Hour), Amount: 999.99, Label: "SOMEONE ELSE"})

	n, err := e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 5, n, "the fixture's payout and the four added ones")
	e.waitDeposits(t, exact.GID(), short.GID(), traced.GID(), missing.GID())

	var rows int
	require.NoError(t, e.St.DB.GetContext(ctx, &rows, `SELECT count(*) FROM shop_balance_transactions`))
	require.Equal(t, 4+2+2+1+1, rows)

	// Reading again: nothing changed, nothing new queued but the look for
	// the deposit still missing.
	n, err = e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the recent payout without a deposit is looked for again")
	var again int
	require.NoError(t, e.St.DB.GetContext(ctx, &again, `SELECT count(*) FROM shop_balance_transactions`))
	require.Equal(t, rows, again)
	var payouts int
	require.NoError(t, e.St.DB.GetContext(ctx, &payouts, `SELECT count(*) FROM shop_payouts`))
	require.Equal(t, 5, payouts)

	p, err := e.St.PayoutByRef(ctx, e.ShopConn.ID, traced.GID())
	require.NoError(t, err)
	require.True(t, p.Matched())
	require.Contains(t, *p.DepositRef, "TRC-7781", "the trace reference picks the deposit")

	run := e.reconcile(t, store.ReconPayouts)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	byPayout := map[string][]store.Discrepancy{}
	for _, d := range e.discrepancies(t, store.DiscFilter{Family: store.ReconPayouts}) {
		var det struct {
			Payout   string   `json:"payout"`
			PerMille *float64 `json:"per_mille"`
		}
		require.NoError(t, json.Unmarshal(d.Detail, &det))
		byPayout[det.Payout] = append(byPayout[det.Payout], d)
	}
	kinds := func(ref string) []string {
		var ks []string
		for _, d := range byPayout[ref] {
			if d.Kind != "payout_orders_missing" {
				ks = append(ks, d.Kind)
			}
		}
		return ks
	}
	require.Empty(t, kinds(exact.GID()))
	require.Empty(t, kinds(traced.GID()))
	require.Equal(t, []string{"payout_no_deposit"}, kinds(missing.GID()))
	require.Equal(t, []string{"payout_deposit_differs"}, kinds(short.GID()))
	d := byPayout[short.GID()][0]
	require.InDelta(t, cents(short)-shortAmount, d.Size, 0.001)
	require.True(t, strings.HasSuffix(d.OtherValue, "(3.0 ‰)"), d.OtherValue)
	require.Equal(t, "Deposit differs from the payout", d.KindText())
	require.True(t, strings.HasPrefix(d.Label, "Payout of "), d.Label)

	// The shared workflow: acknowledged with a note, then the bank's
	// correction arrives and the next comparison resolves it.
	ack, err := e.St.ActOnDiscrepancy(ctx, store.SystemActor("test"), store.DiscAction{ID: d.ID, Action: "acknowledge", Note: "Asked the bank"})
	require.NoError(t, err)
	require.Equal(t, store.DiscAcknowledged, ack.Status)
	_, err = e.St.DB.ExecContext(ctx, `UPDATE payout_deposits SET amount = $1 WHERE payout_id = (SELECT id FROM shop_payouts WHERE payout_ref = $2)`,
		cents(short), short.GID())
	require.NoError(t, err)
	e.reconcile(t, store.ReconPayouts)
	closed, err := e.St.DiscrepancyByID(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DiscResolved, closed.Status)
}

// One deposit pays one payout: two payouts of the same amount are matched
// to two deposits, never both to one.
func TestMatchDepositOneLinePerPayout(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.payoutsRule(t)
	ctx := context.Background()
	day := time.Now().UTC().AddDate(0, 0, -5)
	a := payout(e, day, "", 40000)
	b := payout(e, day.Add(time.Hour), "", 40000)
	e.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: day, Amount: float64(a.Net) / 100, Label: "SHOPIFY"})
	_, err := e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	e.waitDeposits(t, a.GID(), b.GID())
	pa, err := e.St.PayoutByRef(ctx, e.ShopConn.ID, a.GID())
	require.NoError(t, err)
	pb, err := e.St.PayoutByRef(ctx, e.ShopConn.ID, b.GID())
	require.NoError(t, err)
	require.NotEqual(t, pa.Matched(), pb.Matched(), "one of the two has the deposit, the other none")
}

// The true margin of an order is what the customer paid less its payment
// fees, refunds and the ERP cost of its lines; a variant's is its lines'
// value less cost and its share (by value) of the order's fees and refunds.
func TestTrueMarginPerOrderAndVariant(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.MapInDB(t)
	e.priceRule(t, vocab.Prices, e.OdooConn.ID, e.ShopConn.ID)
	e.priceRule(t, vocab.Costs, e.OdooConn.ID, e.ShopConn.ID)
	e.payoutsRule(t)
	ctx := context.Background()

	skus := e.MappedSKUs(t, 2)
	va, vb := e.Variant(t, skus[0]), e.Variant(t, skus[1])
	o, _ := e.Placed(t, shopsandbox.NewLine{VariantID: va.GID(), Quantity: 2}, shopsandbox.NewLine{VariantID: vb.GID(), Quantity: 1})
	run := e.reconcile(t, store.ReconPrices) // the finance review holds Odoo's costs
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)

	price := func(v shopsandbox.Variant) float64 {
		f, err := strconv.ParseFloat(v.Price, 64)
		require.NoError(t, err)
		return f
	}
	total := 2*price(va) + price(vb)
	totalCents := int64(math.Round(total * 100))
	const fee, refund = int64(321), int64(1500)
	now := time.Now().UTC()
	e.Shop.AddPayout(shopsandbox.NewPayout{IssuedAt: now.Add(-time.Hour), Txs: []shopsandbox.PayoutTx{
		{Type: "CHARGE", Amount: totalCents, Fee: fee, OrderID: o.ID, OrderName: o.Name, ProcessedAt: now.Add(-3 * time.Hour)},
		{Type: "REFUND", Amount: -refund, OrderID: o.ID, OrderName: o.Name, ProcessedAt: now.Add(-2 * time.Hour)},
	}})
	_, err := e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)

	costA, costB := e.ProductBySKU[skus[0]].StandardPrice, e.ProductBySKU[skus[1]].StandardPrice
	cost := 2*costA + costB
	ms, err := e.St.OrderMargins(ctx, now.Add(-24*time.Hour), now.Add(time.Hour), 50)
	require.NoError(t, err)
	var m *store.OrderMargin
	for i := range ms {
		if ms[i].OrderName == o.Name {
			m = &ms[i]
		}
	}
	require.NotNil(t, m, "the order paid through Shopify Payments is listed")
	require.InDelta(t, total, m.Revenue, 0.001)
	require.InDelta(t, float64(fee)/100, m.Fees, 0.001)
	require.InDelta(t, float64(refund)/100, m.Refunds, 0.001)
	require.NotNil(t, m.Cost, "every line has a cost in the finance review")
	require.InDelta(t, cost, *m.Cost, 0.001)
	require.InDelta(t, total-cost, *m.ListMargin(), 0.001)
	require.InDelta(t, total-float64(fee+refund)/100-cost, *m.TrueMargin(), 0.001)

	vs, err := e.St.VariantMargins(ctx, now.Add(-24*time.Hour), now.Add(time.Hour), 50)
	require.NoError(t, err)
	bySKU := map[string]store.VariantMargin{}
	for _, v := range vs {
		bySKU[v.SKU] = v
	}
	a := bySKU[skus[0]]
	share := 2 * price(va) / total
	require.InDelta(t, 2, a.Units, 0.001)
	require.InDelta(t, 2*price(va), a.Revenue, 0.01)
	require.InDelta(t, share*float64(fee)/100, a.Fees, 0.01)
	require.InDelta(t, share*float64(refund)/100, a.Refunds, 0.01)
	require.NotNil(t, a.ListMargin)
	require.InDelta(t, 2*price(va)-2*costA, *a.ListMargin, 0.01)
	require.InDelta(t, 2*price(va)-2*costA-share*float64(fee+refund)/100, *a.TrueMargin, 0.02)
	require.Zero(t, a.Warehouse, "no warehouse billed anything")

	// A warehouse bills 8.10 for shipping the order and takes 0.60 back:
	// the order's true margin loses 7.50, each variant its share by value.
	box, err := secretbox.New(enginetest.SecretKey)
	require.NoError(t, err)
	wh, err := e.St.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Warehouse", Kind: vocab.KindShipBob,
		Environment: vocab.EnvTest, Settings: map[string]string{"environment": "sandbox"}, Secrets: map[string]string{"access_token": "pat"}})
	require.NoError(t, err)
	require.NoError(t, e.St.SaveWarehouseCharges(ctx, wh.ID, []store.WarehouseCharge{
		{TransactionID: "T1", ShipmentRef: "501", OrderRef: m.OrderRef, Fee: "Shipping", Amount: 7.85, Currency: m.Currency, ChargedOn: now},
		{TransactionID: "T2", ShipmentRef: "501", OrderRef: m.OrderRef, Fee: "Per Pick Fee", Amount: 0.25, Currency: m.Currency, ChargedOn: now},
		{TransactionID: "T3", ShipmentRef: "501", OrderRef: m.OrderRef, Fee: "Shipping", Amount: -0.60, Currency: m.Currency, ChargedOn: now},
	}))
	ms, err = e.St.OrderMargins(ctx, now.Add(-24*time.Hour), now.Add(time.Hour), 50)
	require.NoError(t, err)
	for i := range ms {
		if ms[i].OrderName == o.Name {
			m = &ms[i]
		}
	}
	require.NotNil(t, m.WarehouseShipping)
	require.InDelta(t, 7.50, *m.WarehouseShipping, 0.001)
	require.InDelta(t, total-float64(fee+refund)/100-cost-7.50, *m.TrueMargin(), 0.001)
	vs, err = e.St.VariantMargins(ctx, now.Add(-24*time.Hour), now.Add(time.Hour), 50)
	require.NoError(t, err)
	for _, v := range vs {
		bySKU[v.SKU] = v
	}
	a = bySKU[skus[0]]
	require.InDelta(t, share*7.50, a.Warehouse, 0.01)
	require.InDelta(t, 2*price(va)-2*costA-share*(float64(fee+refund)/100+7.50), *a.TrueMargin, 0.02)
	require.InDelta(t, (1-share)*7.50, bySKU[skus[1]].Warehouse, 0.01)
}

// QuickBooks receives payouts as the deposits Crossdock makes there: the
// payouts comparison compares each payout with its deposit as it compares
// a bank line found in Odoo. A deposit someone changed in QuickBooks is
// read again by the payout's next sync and listed as differing.
func TestPayoutsComparedWithQuickBooksDeposits(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fees := strconv.Itoa(6 + len(e.VariantBySKU) + 1)
	qb := e.AddQuickBooks(t, qbsandbox.Options{}, map[string]string{quickbooks.FieldPayoutsBank: "3",
		quickbooks.FieldPayoutsClearing: "1", quickbooks.FieldPayoutsFees: fees})
	e.SourceRule(t, store.SourceRuleInput{Family: vocab.Payouts, Master: e.ShopConn.ID, Receivers: []int64{qb.Conn.ID},
		Trigger: rules.Scheduled, SweepMinutes: 60, FreshnessMinutes: 1440, Policy: rules.MasterWins})
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -6).Add(9 * time.Hour)
	same := payout(e, day, "", 100000, 23456)
	changed := payout(e, day.Add(24*time.Hour), "", 50000)
	_, err := e.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	// Every payout the shop has, the fixture's included, ends in a deposit:
	// wait for all of their syncs, not only the two added here.
	var payouts []string
	for _, p := range e.Shop.Payouts() {
		payouts = append(payouts, p.GID())
	}
	require.Len(t, payouts, 3, "the fixture's payout and the two added")
	enginetest.Wait(t, "a deposit for each of the 3 payouts", func() bool {
		var done int
		err := e.St.DB.GetContext(ctx, &done, `SELECT count(DISTINCT entity_ref) FROM syncs
			WHERE flow = 'payouts.shopify_quickbooks' AND status = $1 AND entity_ref = ANY($2)`, vocab.SyncSucceeded, pq.Array(payouts))
		return err == nil && done == len(payouts)
	})
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 3, "one deposit per payout")

	// Someone lowers the second deposit by 2.00 in QuickBooks; its sync,
	// replayed, reads it again.
	var syncID int64
	require.NoError(t, e.St.DB.GetContext(ctx, &syncID, `SELECT id FROM syncs WHERE flow = 'payouts.shopify_quickbooks' AND entity_ref = $1`, changed.GID()))
	s := e.Ended(t, syncID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	cl, _, err := e.Eng.QuickBooksClient(ctx, qb.Conn.ID)
	require.NoError(t, err)
	var dep quickbooks.Deposit
	require.NoError(t, cl.Read(ctx, quickbooks.EntityDeposit, s.TargetRef, &dep))
	dep.Line[0].Amount -= 2
	require.NoError(t, cl.SparseUpdate(ctx, quickbooks.EntityDeposit, s.TargetRef, func(id, token string) any {
		return map[string]any{"Id": id, "SyncToken": token, "sparse": true, "Line": dep.Line}
	}, nil))
	r, err := e.Eng.Replay(ctx, store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = e.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "no longer matches the payout")
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 3)

	run := e.reconcile(t, store.ReconPayouts)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	byPayout := map[string][]string{}
	var differs store.Discrepancy
	for _, d := range e.discrepancies(t, store.DiscFilter{Family: store.ReconPayouts}) {
		var det struct {
			Payout string `json:"payout"`
		}
		require.NoError(t, json.Unmarshal(d.Detail, &det))
		require.True(t, strings.HasSuffix(d.Key, ":"+strconv.FormatInt(qb.Conn.ID, 10)), "compared with QuickBooks: %s", d.Key)
		if d.Kind != "payout_orders_missing" {
			byPayout[det.Payout] = append(byPayout[det.Payout], d.Kind)
		}
		if d.Kind == "payout_deposit_differs" {
			differs = d
		}
	}
	require.Empty(t, byPayout[same.GID()], "the deposit Crossdock made agrees")
	require.Equal(t, []string{"payout_deposit_differs"}, byPayout[changed.GID()])
	require.InDelta(t, 2, differs.Size, 0.001)
}

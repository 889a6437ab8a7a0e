package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/views"
	"crossdock/vocab"
)

// PayoutsStore is what the payouts pages read.
type PayoutsStore interface {
	PayoutsSummaryOf(ctx context.Context, from, to time.Time) (store.PayoutsSummary, error)
	FeesByMonth(ctx context.Context, since time.Time) ([]store.MonthFees, error)
	ListPayouts(ctx context.Context, f store.PayoutFilter) ([]store.ShopPayout, bool, error)
	PayoutByID(ctx context.Context, id int64) (store.ShopPayout, error)
	PayoutTransactions(ctx context.Context, p store.ShopPayout, afterAt time.Time, afterID int64, limit int) ([]store.BalanceTx, bool, error)
	OrderMargins(ctx context.Context, from, to time.Time, limit int) ([]store.OrderMargin, error)
	VariantMargins(ctx context.Context, from, to time.Time, limit int) ([]store.VariantMargin, error)
	NamesBySKU(ctx context.Context, entityType string, skus []string) (map[string]string, error)
	ListDiscrepancies(ctx context.Context, f store.DiscFilter) ([]store.Discrepancy, bool, error)
	SourceRules(ctx context.Context) (rules.Rules, error)
}

// PayoutsComparer queues the payouts comparison.
type PayoutsComparer interface {
	RequestReconciliation(ctx context.Context, family, trigger, by string) (store.ReconRun, error)
}

// Payouts is the payouts dashboard and a payout's page (finance and admins).
type Payouts struct {
	Base
	Store PayoutsStore
	// Engine is nil when no engine runs: the comparison cannot be asked for.
	Engine PayoutsComparer
}

const payoutTxPage = 50

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func payoutRow(p store.ShopPayout) views.PayoutRow {
	r := views.PayoutRow{ID: p.ID, Issued: p.IssuedAt, Status: p.Status, Net: p.Net, Fees: p.Fees(), Currency: p.Currency,
		Matched: p.Matched(), Checked: p.DepositCheckedAt != nil, DepositAmount: p.DepositAmount, Open: p.Open, Store: p.ConnectionName}
	if p.DepositDate != nil {
		r.DepositDate = p.DepositDate.UTC().Format("2 Jan 2006")
	}
	return r
}

// List is the payouts dashboard.
func (h Payouts) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := time.Now().UTC()
	from := monthStart(now)
	to := from.AddDate(0, 1, 0)
	sum, err := h.Store.PayoutsSummaryOf(ctx, from, to)
	if err != nil {
		return err
	}
	fees, err := h.Store.FeesByMonth(ctx, from.AddDate(0, -11, 0))
	if err != nil {
		return err
	}
	rs, err := h.Store.SourceRules(ctx)
	if err != nil {
		return err
	}
	p := views.PayoutsPage{Meta: h.Meta(c, "Payouts", "payouts"), Now: now, Month: "This month, " + from.Format("January 2006"),
		Summary: views.PayoutsSummary{Payouts: sum.Payouts, Matched: sum.Matched, Unmatched: sum.Unmatched, Differences: sum.Differences,
			Chargebacks: sum.Chargebacks, Net: sum.Net, ChargebacksAmount: sum.ChargebacksAmount, Currency: sum.Currency},
		CanCompare: h.Engine != nil, NoSource: rs.Rule(vocab.Payouts).Master == 0, Unmatched: c.Query("unmatched") == "1",
		Warehouse: shipsThroughWarehouse(rs)}
	for _, m := range fees {
		p.Fees = append(p.Fees, views.FeeMonth{Label: m.Month.Format("Jan 2006"), Revenue: m.Revenue, Fees: m.Fees, Percent: m.Percent(), Currency: m.Currency})
	}
	f := store.PayoutFilter{Unmatched: p.Unmatched, Limit: 20}
	if b := c.Query("before"); b != "" {
		at, id, ok := parseKeyset(b)
		if !ok {
			h.Flash(c, "warning", "That page link was damaged, so here are the newest payouts.")
			return Redirect(c, "/payouts")
		}
		f.BeforeAt, f.BeforeID = at, id
	}
	ps, more, err := h.Store.ListPayouts(ctx, f)
	if err != nil {
		return err
	}
	for _, x := range ps {
		p.Payouts = append(p.Payouts, payoutRow(x))
	}
	base := "/payouts?"
	if p.Unmatched {
		base += "unmatched=1&"
	}
	if f.BeforeID != 0 {
		p.FirstHref = strings.TrimSuffix(strings.TrimSuffix(base, "&"), "?")
	}
	if more && len(ps) > 0 {
		last := ps[len(ps)-1]
		p.NextHref = base + "before=" + keyset(last.IssuedAt, last.ID)
	}
	// Margins over the last 30 days: early in a month, the month alone says little.
	mFrom, mTo := now.AddDate(0, 0, -30), now.Add(time.Hour)
	orders, err := h.Store.OrderMargins(ctx, mFrom, mTo, 20)
	if err != nil {
		return err
	}
	for _, o := range orders {
		p.Orders = append(p.Orders, views.OrderMarginRow{Order: o.OrderName, Paid: o.PaidAt, Currency: o.Currency, Revenue: o.Revenue,
			Fees: o.Fees, Refunds: o.Refunds, Disputes: o.Disputes, Cost: o.Cost, ListMargin: o.ListMargin(), TrueMargin: o.TrueMargin(),
			WarehouseShipping: o.WarehouseShipping})
	}
	vs, err := h.Store.VariantMargins(ctx, mFrom, mTo, 20)
	if err != nil {
		return err
	}
	skus := make([]string, 0, len(vs))
	for _, v := range vs {
		skus = append(skus, v.SKU)
	}
	names, err := h.Store.NamesBySKU(ctx, "variant", skus)
	if err != nil {
		return err
	}
	for _, v := range vs {
		p.Variants = append(p.Variants, views.VariantMarginRow{Name: cmpName(names[v.SKU], v.SKU), SKU: v.SKU, Currency: v.Currency,
			Units: v.Units, Revenue: v.Revenue, Fees: v.Fees, Refunds: v.Refunds, Warehouse: v.Warehouse, Cost: v.Cost, ListMargin: v.ListMargin, TrueMargin: v.TrueMargin})
	}
	return Render(c, views.Payouts(p))
}

// shipsThroughWarehouse reports whether a warehouse (ShipBob) receives the
// orders: its billing is then part of an order's margin.
func shipsThroughWarehouse(rs rules.Rules) bool {
	for _, rc := range rs.Rule(vocab.Orders).Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShipBob {
			return true
		}
	}
	return false
}

func cmpName(name, sku string) string {
	if name != "" {
		return name
	}
	return sku
}

// keyset writes a (time, id) position for a page link.
func keyset(t time.Time, id int64) string {
	return strconv.FormatInt(t.UnixMicro(), 10) + "_" + strconv.FormatInt(id, 10)
}

func parseKeyset(s string) (time.Time, int64, bool) {
	a, b, ok := strings.Cut(s, "_")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// Show is one payout: its deposit, differences, summary and transactions.
func (h Payouts) Show(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := pathID(c)
	if err != nil {
		return err
	}
	sp, err := h.Store.PayoutByID(ctx, id)
	if err != nil {
		return err
	}
	p := views.PayoutPage{Meta: h.Meta(c, "Payout of "+sp.IssuedAt.UTC().Format("2 January 2006"), "payouts"), Now: time.Now(),
		Payout: payoutRow(sp), Ref: sp.Ref, LegacyID: sp.LegacyID, TraceID: sp.TraceID}
	if sp.DepositRef != nil {
		p.DepositRef = *sp.DepositRef
	}
	lines := []views.PayoutLine{{Label: "Charges", Gross: sp.ChargesGross, Fee: sp.ChargesFee}, {Label: "Refunds", Gross: sp.RefundsGross, Fee: sp.RefundsFee},
		{Label: "Adjustments and disputes", Gross: sp.AdjustGross, Fee: sp.AdjustFee}, {Label: "Reserved funds", Gross: sp.ReservedGross, Fee: sp.ReservedFee},
		{Label: "Retried payouts", Gross: sp.RetriedGross, Fee: sp.RetriedFee}}
	for _, l := range lines {
		if l.Gross != 0 || l.Fee != 0 {
			p.Summary = append(p.Summary, l)
		}
	}
	var afterAt time.Time
	var afterID int64
	if a := c.Query("after"); a != "" {
		var ok bool
		if afterAt, afterID, ok = parseKeyset(a); !ok {
			h.Flash(c, "warning", "That page link was damaged, so here are the payout's first transactions.")
			return Redirect(c, "/payouts/"+strconv.FormatInt(id, 10))
		}
		p.FirstHref = "/payouts/" + strconv.FormatInt(id, 10)
	}
	txs, more, err := h.Store.PayoutTransactions(ctx, sp, afterAt, afterID, payoutTxPage)
	if err != nil {
		return err
	}
	for _, t := range txs {
		p.Txs = append(p.Txs, views.TxRow{When: t.ProcessedAt, Kind: t.Kind, Order: t.OrderName, Amount: t.Amount, Fee: t.Fee,
			Net: t.Net, Currency: t.Currency, Reason: t.Reason})
	}
	if more && len(txs) > 0 {
		last := txs[len(txs)-1]
		p.NextHref = fmt.Sprintf("/payouts/%d?after=%s", id, keyset(last.ProcessedAt, last.ID))
	}
	ds, _, err := h.Store.ListDiscrepancies(ctx, store.DiscFilter{Family: store.ReconPayouts, KeyPrefix: strconv.FormatInt(id, 10) + ":", Limit: 50})
	if err != nil {
		return err
	}
	for _, d := range ds {
		p.Differences = append(p.Differences, views.PayoutDifference{ID: d.ID, Kind: d.KindText(), Master: d.MasterValue,
			Other: d.OtherValue, Size: d.Size, Status: views.DiscStatusLabel(d.Status)})
	}
	return Render(c, views.Payout(p))
}

// Compare queues the payouts comparison. It writes into no system, so
// finance may ask for it.
func (h Payouts) Compare(c *fiber.Ctx) error {
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so the payouts cannot be compared now.")
	}
	r, err := h.Engine.RequestReconciliation(c.UserContext(), store.ReconPayouts, "manual", Actor(c).Label)
	switch {
	case errors.Is(err, store.ErrRunLive):
		h.Flash(c, "info", "A comparison of payouts is already waiting or running; this is it.")
	case err != nil:
		return err
	default:
		h.Flash(c, "success", "The comparison of payouts is queued. This page shows its result when it is done.")
	}
	return Redirect(c, "/reconciliation/runs/"+strconv.FormatInt(r.ID, 10))
}

package demo

import (
	"crossdock/connectors/shipbob"
	"fmt"
	"math"
	"time"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
)

// The demo's Shopify Payments: a payout a day for the last month, paying
// for the shop's past orders that reached Odoo, each deposited in Odoo's
// bank account two days later — except one deposit 3 ‰ short (the bank
// kept a charge) and one not arrived, and one chargeback still open.
const (
	demoPayouts    = 30
	payoutShortIdx = demoPayouts - 3 // its deposit is 3 ‰ short
	payoutLostIdx  = demoPayouts - 8 // its deposit never arrived
	payoutDispute  = demoPayouts - 12
)

// PayoutDrift is what the demo's payouts are set up to show.
type PayoutDrift struct {
	Payouts int
	// Short is the payout whose deposit is 3 ‰ short; Lost the one whose
	// deposit is missing (zero when the shop has too few orders).
	Short, Lost shopsandbox.Payout
	// Shipped paid orders were shipped by the warehouse before the demo
	// began; it billed Billed of them, the others not yet.
	Shipped, Billed int
}

func (w *Workspace) seedPayouts(now time.Time) PayoutDrift {
	clean := map[int64]bool{}
	for _, p := range w.plan.mapped {
		clean[p.v.ID] = true
	}
	for _, p := range w.plan.refused {
		clean[p.v.ID] = false
	}
	var orders []shopsandbox.Order
	for _, o := range w.Shop.Orders() {
		ok := len(o.LineItems) > 0
		for _, l := range o.LineItems {
			ok = ok && clean[l.VariantID]
		}
		if ok {
			orders = append(orders, o)
		}
	}
	var d PayoutDrift
	// The twin's own payout (the Shopify SDK's fixture) was deposited too.
	for _, p := range w.Shop.Payouts() {
		w.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: p.IssuedAt.Add(24 * time.Hour), Amount: float64(p.Net) / 100,
			Label: "SHOPIFY PAYMENTS PAYOUT"})
	}
	if len(orders) == 0 {
		return d
	}
	last := now.UTC().Truncate(24 * time.Hour).Add(-4*24*time.Hour + 10*time.Hour)
	for i := range demoPayouts {
		issued := last.AddDate(0, 0, i-demoPayouts+1)
		in := shopsandbox.NewPayout{IssuedAt: issued, TraceID: fmt.Sprintf("SHPY%07d", 4100+i)}
		for k := i; k < len(orders); k += demoPayouts {
			o := orders[k]
			cents := int64(math.Round(parseAmount(o.Total()) * 100))
			if cents <= 0 {
				continue
			}
			at := issued.Add(-30*time.Hour + time.Duration(k%20)*time.Minute)
			in.Txs = append(in.Txs, shopsandbox.PayoutTx{Type: "CHARGE", Amount: cents, Fee: cents*29/1000 + 30,
				OrderID: o.ID, OrderName: o.Name, ProcessedAt: at})
			w.shipPast(o, at, &d)
			if i == payoutDispute && len(in.Txs) == 1 {
				in.Txs = append(in.Txs, shopsandbox.PayoutTx{Type: "DISPUTE", Amount: -cents / 2, Fee: 1500,
					OrderID: o.ID, OrderName: o.Name, ProcessedAt: at.Add(time.Hour)})
			}
		}
		if len(in.Txs) == 0 {
			continue
		}
		p := w.Shop.AddPayout(in)
		d.Payouts++
		amount := float64(p.Net) / 100
		switch i {
		case payoutLostIdx:
			d.Lost = p
			continue
		case payoutShortIdx:
			d.Short = p
			amount = math.Round(amount*997) / 1000
		}
		w.Odoo.AddBankLineDirect(odoosandbox.BankLine{Date: issued.Add(48 * time.Hour), Amount: amount,
			Label: "SHOPIFY PAYMENTS PAYOUT " + p.TraceID})
	}
	return d
}

// shipPast records a paid past order as shipped by the warehouse, and,
// for all but every fifth, the warehouse's bill for it: shipping by the
// units, and a pick fee per line. The fifth ones are not billed yet.
func (w *Workspace) shipPast(o shopsandbox.Order, at time.Time, d *PayoutDrift) {
	var products []shipbob.OrderProduct
	units := 0
	for _, l := range o.LineItems {
		products = append(products, shipbob.OrderProduct{ReferenceID: l.SKU, SKU: l.SKU, Name: l.Title, Quantity: l.Quantity})
		units += l.Quantity
	}
	ship := w.ShipBob.ShippedOrderDirect(o.GID(), o.Name, products, at)
	d.Shipped++
	if d.Shipped%5 == 0 {
		return
	}
	w.ShipBob.ChargeDirect(ship, "Shipping", round2(5.40+0.85*float64(units)), at.Add(24*time.Hour))
	w.ShipBob.ChargeDirect(ship, "Per Pick Fee", round2(0.25*float64(len(o.LineItems))), at.Add(24*time.Hour))
	d.Billed++
}

func parseAmount(s string) float64 {
	var f float64
	_, _ = fmt.Sscanf(s, "%g", &f)
	return f
}

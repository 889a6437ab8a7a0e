package engine

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/vocab"
)

// Taxes and payment methods of orders into QuickBooks, through the
// mappings. A Shopify tax is known by its title and rate as the order
// carries them ("CA State Tax 7.25%"); it maps to a QuickBooks tax code
// (mapping type tax_code, QuickBooks' reference is the TaxCode's id). A
// Shopify payment gateway ("shopify_payments", "paypal", "manual") maps to
// a QuickBooks payment method and the account its sales receipts are
// deposited to (mapping type payment_method: the PaymentMethod's id, and
// the account as "account:<id>"). The connection's own settings (tax code
// for taxed lines, deposit account) are the fallback when a record has no
// mapping.

// qbTaxKey names a Shopify tax as the mappings know it: its title and its
// rate as a percentage ("CA State Tax 7.25%"); "" for a tax with neither.
func qbTaxKey(t shopify.OrderEventTax) string {
	title := strings.Join(strings.Fields(t.Title), " ")
	if t.Rate <= 0 {
		return title
	}
	pct := strconv.FormatFloat(math.Round(t.Rate*100*10000)/10000, 'f', -1, 64) + "%"
	return strings.TrimSpace(title + " " + pct)
}

// qbTaxKeys are the keys of a line's (or an order's) taxes that charged
// something: a tax line of rate and amount zero is an exemption, not a tax.
func qbTaxKeys(ts []shopify.OrderEventTax) []string {
	var out []string
	for _, t := range ts {
		price, _ := strconv.ParseFloat(t.Price, 64)
		if t.Rate <= 0 && price <= 0 {
			continue
		}
		if k := qbTaxKey(t); k != "" && !containsStr(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// qbGateway is the payment gateway an order is mapped by: the first one it
// was paid through, a gift card only when nothing else paid.
func qbGateway(gateways []string) string {
	for _, g := range gateways {
		if g = strings.TrimSpace(g); g != "" && g != "gift_card" {
			return g
		}
	}
	if len(gateways) > 0 {
		return strings.TrimSpace(gateways[0])
	}
	return ""
}

// qbTaxCodes gives each taxed line of an order (by variant) its QuickBooks
// tax code: the mapping of the first of its taxes that is mapped, else the
// connection's tax code for taxed lines. A line whose Shopify taxes are
// not named (older payloads) takes the connection's code, or TAX as
// QuickBooks' US companies call it. When a named tax has neither a mapping
// nor the connection's code, the order fails alone as unmapped, naming the
// taxes to map; taxes not mapped are kept as Shopify records, so the fix
// link lists them with QuickBooks' tax codes to pick from.
func (e *Engine) qbTaxCodes(ctx context.Context, s store.Sync, conn store.Connection, o qbOrderIn, label string, res *result) (map[string]string, bool) {
	fallback := strings.TrimSpace(conn.Settings[quickbooks.FieldTaxCode])
	taxed := map[string][]string{}
	var keys []string
	for _, v := range o.TaxedSKUs {
		ks := o.LineTaxes[v]
		if len(ks) == 0 {
			ks = o.Taxes
		}
		taxed[v] = ks
		for _, k := range ks {
			if !containsStr(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	mapped := map[string]string{}
	if len(keys) > 0 {
		var unmapped []string
		var err error
		if mapped, unmapped, err = e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, connectors.EntityTaxCode, keys); err == nil {
			err = e.keepShopifyRecords(ctx, s.SourceConnectionID, connectors.EntityTaxCode, unmapped)
		}
		if err != nil {
			res.err = err
			return nil, false
		}
	}
	out := map[string]string{}
	var missing []string
	for v, ks := range taxed {
		code := ""
		for _, k := range ks {
			if code = mapped[k]; code != "" {
				break
			}
		}
		switch {
		case code != "":
		case fallback != "":
			code = fallback
		case len(ks) == 0:
			code = "TAX"
		default:
			for _, k := range ks {
				if !containsStr(missing, k) {
					missing = append(missing, k)
				}
			}
		}
		out[v] = code
	}
	if len(missing) == 0 {
		return out, true
	}
	names := make([]string, len(missing))
	for i, k := range missing {
		names[i] = "Shopify's tax “" + k + "”"
	}
	res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s cannot be sent to %s: %s. Map it on the Mappings page (or set the connection's tax code for taxed lines), then try this order again.",
		label, conn.Name, notMapped(names, "a QuickBooks tax code")), nil)
	res.response = store.UnmappedResponse(connectors.EntityTaxCode, missing)
	return nil, false
}

// keepShopifyRecords keeps Shopify's taxes or payment gateways that have
// no mapping yet as records of the store, named by themselves: Shopify
// lists neither, so the orders that carry them are where the mapping pages
// learn of them (the unmapped list, its fix links).
func (e *Engine) keepShopifyRecords(ctx context.Context, conn int64, entity string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	recs := make([]store.ExternalRecord, len(ids))
	for i, id := range ids {
		recs[i] = store.ExternalRecord{ExternalID: id, Name: id}
	}
	_, err := e.cfg.Store.UpsertExternalRecords(ctx, conn, entity, recs)
	return err
}

// qbPayment is how a sales receipt says it was paid: the payment method
// and the account it is deposited to that the order's gateway maps to, or
// the connection's deposit account. Neither is required: QuickBooks puts
// a receipt without an account in Undeposited Funds.
func (e *Engine) qbPayment(ctx context.Context, s store.Sync, conn store.Connection, gateway string) (method, account *quickbooks.Ref, err error) {
	if acct := strings.TrimSpace(conn.Settings[quickbooks.FieldDepositTo]); acct != "" {
		account = &quickbooks.Ref{Value: acct}
	}
	if gateway == "" {
		return nil, account, nil
	}
	refs, unmapped, err := e.cfg.Resolver.ResolveAllRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, connectors.EntityPaymentMethod, []string{gateway})
	if err == nil {
		err = e.keepShopifyRecords(ctx, s.SourceConnectionID, connectors.EntityPaymentMethod, unmapped)
	}
	if err != nil {
		return nil, nil, err
	}
	mappedAccount := false
	for _, r := range refs[gateway] {
		if id, ok := strings.CutPrefix(r, quickbooks.AccountRefPrefix); ok {
			if !mappedAccount {
				account, mappedAccount = &quickbooks.Ref{Value: id}, true
			}
		} else if method == nil {
			method = &quickbooks.Ref{Value: r}
		}
	}
	return method, account, nil
}

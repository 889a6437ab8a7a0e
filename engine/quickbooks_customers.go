package engine

import (
	"context"
	"fmt"

	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The customers flow into QuickBooks Online: a Shopify customer becomes a
// QuickBooks customer, one per e-mail (found by it, else created), with
// display-name clashes suffixed as the orders flow does
// (ensureQuickBooksCustomer, which also takes turns on the e-mail).
const flowCustomersQuickBooks = "customers.shopify_quickbooks"

// quickbooksCustomersFlow sends Shopify customers into QuickBooks Online.
func quickbooksCustomersFlow() Flow {
	return Flow{Name: flowCustomersQuickBooks, Family: vocab.Customers, From: vocab.KindShopify, To: vocab.KindQuickBooks,
		Topics: []string{"customers/create", "customers/update"}, Plan: (*Engine).planQuickBooksCustomer,
		// The lease on the e-mail serialises its syncs (ensureQuickBooksCustomer).
		Lease: noLease, Personal: []string{"name", "email"},
		Run: runWith(runSpec[customerRec, *quickbooks.Client]{record: "customer", connect: (*Engine).quickbooks,
			check: checkCustomer, body: (*Engine).runQuickBooksCustomer})}
}

func (e *Engine) planQuickBooksCustomer(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	c, problem := parseCustomer(ev.Payload)
	base := e.customerSync(c, ev.ConnectionID, store.TriggerWebhook)
	base.Flow, base.Direction = flowCustomersQuickBooks, vocab.ShopifyToQuickBooks
	return e.planToQuickBooks(rs, ev, p, vocab.Customers, base, problem, c, c.label())
}

func (e *Engine) runQuickBooksCustomer(ctx context.Context, s store.Sync, c customerRec, cl *quickbooks.Client, conn store.Connection, _ verdict) result {
	var res result
	newer, err := e.superseded(ctx, s, entityCustomer, c.ID, c.UpdatedAt)
	if err != nil {
		res.err = err
		return res
	}
	if newer {
		res.status = vocab.SyncSkipped
		res.message = c.label() + " changed again in Shopify; the newer version is sent by its own sync, so this one is not."
		return res
	}
	res.request = map[string]any{"email": c.Email, "given_name": c.FirstName, "family_name": c.LastName}
	cust, created, err := e.ensureQuickBooksCustomer(ctx, s, cl, qbCustomer{Email: c.Email, First: c.FirstName, Last: c.LastName})
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, cust.ID
	res.response = map[string]any{"customer_id": cust.ID, "display_name": cust.DisplayName, "created": created}
	if created {
		res.message = fmt.Sprintf("%s was created in %s as %q.", c.label(), conn.Name, cust.DisplayName)
	} else {
		res.message = fmt.Sprintf("%s is in %s already (%q); nothing else was written.", c.label(), conn.Name, cust.DisplayName)
	}
	return res
}

package odoo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"crossdock/connectors"
)

// withArchived makes a domain match archived records too: Odoo leaves out
// active=False records unless the domain names the active field.
var withArchived = []any{"active", "in", []any{true, false}}

// erasedFields are the partner fields an erasure clears: the personal data
// the customers and orders flows copy into a partner (name is replaced).
var erasedFields = []string{"email", "phone", "street", "street2", "city", "zip"}

// EraseCustomer erases a customer's personal data from Odoo
// (connectors.Eraser). It finds the customer's partner as the customers and
// orders flows do — by the Shopify customer id in its reference, else by
// e-mail — archived ones included, so a second try finds the partner the
// first one archived. A partner with open documents (a quotation or a sale
// order not locked, an invoice or credit note posted and not paid) is kept,
// and the outcome names them. Otherwise the partner and its child contacts
// (delivery addresses) are archived and anonymised in one write: name
// replaced by s.Pseudonym, e-mail, phone and address cleared. Writing the
// same values again is harmless, so a retry is too.
func (c *Client) EraseCustomer(ctx context.Context, s connectors.ErasureSubject) (connectors.ErasureOutcome, error) {
	var out connectors.ErasureOutcome
	if strings.TrimSpace(s.Pseudonym) == "" {
		return out, errors.New("odoo: erase customer: no name to replace the customer's with")
	}
	p, found, err := c.erasedPartner(ctx, s)
	if err != nil || !found {
		return out, err
	}
	out.RecordID, out.Record = strconv.Itoa(p.ID), fmt.Sprintf("contact #%d", p.ID)
	children, err := c.searchIDs(ctx, "res.partner", []any{[]any{"parent_id", "=", p.ID}, withArchived}, 0, "id")
	if err != nil {
		return out, fmt.Errorf("odoo: erase customer: child contacts of #%d: %w", p.ID, err)
	}
	partners := append([]int{p.ID}, children...)
	if out.Kept, err = c.openDocuments(ctx, partners); err != nil || len(out.Kept) > 0 {
		return out, err
	}
	vals := map[string]any{"active": false, "name": s.Pseudonym}
	for _, f := range erasedFields {
		vals[f] = false // Odoo stores an empty char field as NULL
	}
	if err := c.Write(ctx, "res.partner", partners, vals, nil); err != nil {
		return out, fmt.Errorf("odoo: erase customer: anonymise contact #%d: %w", p.ID, err)
	}
	out.Erased = true
	return out, nil
}

// erasedPartner finds the partner an erasure is about: the one an earlier
// try found, else the customer's by reference, else by e-mail; top-level
// contacts only (a delivery address is erased with its customer).
func (c *Client) erasedPartner(ctx context.Context, s connectors.ErasureSubject) (Partner, bool, error) {
	var lookups [][]any
	if id, err := strconv.Atoi(strings.TrimSpace(s.RecordID)); err == nil && id > 0 {
		lookups = append(lookups, []any{[]any{"id", "=", id}, withArchived})
	}
	if ref := strings.TrimSpace(s.Ref); ref != "" {
		lookups = append(lookups, []any{[]any{"ref", "=", ref}, []any{"parent_id", "=", false}, withArchived})
	}
	if email := strings.TrimSpace(s.Email); email != "" {
		lookups = append(lookups, []any{[]any{"email", "=ilike", escapeLike(email)}, []any{"parent_id", "=", false}, withArchived})
	}
	if len(lookups) == 0 {
		return Partner{}, false, errors.New("odoo: erase customer: neither an id, a reference nor an e-mail address to find the customer by")
	}
	for _, domain := range lookups {
		ps, err := c.Partners(ctx, domain, 0, 1)
		if err != nil {
			return Partner{}, false, fmt.Errorf("odoo: erase customer: find the contact: %w", err)
		}
		if len(ps) > 0 {
			return ps[0], true, nil
		}
	}
	return Partner{}, false, nil
}

// openDocuments names, in plain words, the documents of the partners that
// still need the customer's data: quotations and sale orders not cancelled
// and not done (locked, from Odoo 17; state done before), and customer
// invoices and credit notes posted and not (fully) paid.
func (c *Client) openDocuments(ctx context.Context, partners []int) ([]string, error) {
	ids := make([]any, len(partners))
	for i, p := range partners {
		ids[i] = p
	}
	orderDomain := []any{[]any{"partner_id", "in", ids}, []any{"state", "in", []any{"draft", "sent", "sale"}}}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("odoo: erase customer: server version: %w", err)
	}
	if v.AtLeast(17, 0) {
		// Odoo 17 replaced the state "done" by the locked flag.
		orderDomain = append(orderDomain, []any{"locked", "=", false})
	}
	var orders []struct {
		Name text `json:"name"`
	}
	if err := c.searchRead(ctx, "sale.order", orderDomain, []string{"name"}, 0, 0, "id", nil, &orders); err != nil {
		return nil, fmt.Errorf("odoo: erase customer: open sale orders: %w", err)
	}
	var out []string
	names := make([]string, len(orders))
	for i, o := range orders {
		names[i] = string(o.Name)
	}
	// A quotation is a sale order too in Odoo's Sales app.
	if len(names) > 0 {
		out = append(out, named("open sale order", "open sale orders", names))
	}
	var moves []struct {
		Name     text `json:"name"`
		MoveType text `json:"move_type"`
	}
	if err := c.searchRead(ctx, "account.move", []any{[]any{"partner_id", "in", ids},
		[]any{"move_type", "in", []any{"out_invoice", "out_refund"}}, []any{"state", "=", "posted"},
		[]any{"payment_state", "in", []any{"not_paid", "partial"}}},
		[]string{"name", "move_type"}, 0, 0, "id", nil, &moves); err != nil {
		return nil, fmt.Errorf("odoo: erase customer: unpaid invoices: %w", err)
	}
	var invoices, credits []string
	for _, m := range moves {
		if m.MoveType == "out_refund" {
			credits = append(credits, string(m.Name))
		} else {
			invoices = append(invoices, string(m.Name))
		}
	}
	if len(invoices) > 0 {
		out = append(out, named("unpaid invoice", "unpaid invoices", invoices))
	}
	if len(credits) > 0 {
		out = append(out, named("credit note", "credit notes", credits)+" not settled yet")
	}
	return out, nil
}

// named lists documents of one kind in words: "open sale order S00042",
// "open sale orders S00001, S00011 and S00013", the first five and how
// many more past that.
func named(one, many string, names []string) string {
	if len(names) == 1 {
		return one + " " + names[0]
	}
	const shown = 5
	if len(names) > shown {
		return fmt.Sprintf("%s %s and %d more", many, strings.Join(names[:shown], ", "), len(names)-shown)
	}
	return many + " " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

var _ connectors.Eraser = (*Client)(nil)

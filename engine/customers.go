package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The customers flow, Shopify → Odoo partners. A customers/create or
// customers/update webhook (or the safety sweep) becomes one sync per Odoo
// receiver; the high-water mark per Shopify customer (its updated_at) drops
// duplicates and late deliveries, and a sync overtaken by a newer version
// while it waited is skipped. The partner is found by the Shopify customer id
// kept in its reference, else by e-mail (the orders flow's lookup), else
// created; the lookup and the create take turns on the e-mail under the same
// lease the orders flow uses, so an order and its new customer never create
// two partners.
const (
	flowCustomers  = "customers.shopify_odoo"
	entityCustomer = "customer"
)

// customerIn is a Shopify customer as the flow reads it; the sync's payload.
type customerRec struct {
	ID        string    `json:"id"` // GID; the partner's ref
	Email     string    `json:"email"`
	FirstName string    `json:"first_name,omitempty"`
	LastName  string    `json:"last_name,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Street    string    `json:"street,omitempty"`
	Street2   string    `json:"street2,omitempty"`
	City      string    `json:"city,omitempty"`
	Zip       string    `json:"zip,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c customerRec) name() string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	return c.Email
}

// label names the customer in sentences.
func (c customerRec) label() string {
	switch n := strings.TrimSpace(c.FirstName + " " + c.LastName); {
	case n != "" && c.Email != "":
		return fmt.Sprintf("Customer %s (%s)", n, c.Email)
	case n != "":
		return "Customer " + n
	case c.Email != "":
		return "Customer " + c.Email
	}
	return "Customer " + cmpStr(c.ID, "without a name")
}

func (c customerRec) partner() odoo.Partner {
	return odoo.Partner{Name: c.name(), Email: c.Email, Phone: c.Phone, Street: c.Street, Street2: c.Street2,
		City: c.City, Zip: c.Zip, Ref: c.ID}
}

func (c customerRec) searchKeys() []string {
	keys := []string{c.ID, c.Email, c.name()}
	if i := strings.LastIndexByte(c.ID, '/'); i >= 0 {
		keys = append(keys, c.ID[i+1:])
	}
	return keys
}

// restCustomerIn is the part of Shopify's customers/* payload the flow reads.
type restCustomerIn struct {
	ID             int64   `json:"id"`
	GID            string  `json:"admin_graphql_api_id"`
	Email          *string `json:"email"`
	FirstName      *string `json:"first_name"`
	LastName       *string `json:"last_name"`
	Phone          *string `json:"phone"`
	UpdatedAt      string  `json:"updated_at"`
	DefaultAddress *struct {
		Address1 *string `json:"address1"`
		Address2 *string `json:"address2"`
		City     *string `json:"city"`
		Zip      *string `json:"zip"`
		Phone    *string `json:"phone"`
	} `json:"default_address"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// parseCustomer reads a customers/create or customers/update payload. A
// problem is a sentence for the merchant; the customer is returned as far as
// it was read.
func parseCustomer(payload []byte) (customerRec, string) {
	var r restCustomerIn
	if err := json.Unmarshal(payload, &r); err != nil {
		return customerRec{}, "Shopify sent a customer Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	c := customerRec{ID: r.GID, Email: deref(r.Email), FirstName: deref(r.FirstName), LastName: deref(r.LastName), Phone: deref(r.Phone)}
	if c.ID == "" && r.ID != 0 {
		c.ID = "gid://shopify/Customer/" + strconv.FormatInt(r.ID, 10)
	}
	if a := r.DefaultAddress; a != nil {
		c.Street, c.Street2, c.City, c.Zip = deref(a.Address1), deref(a.Address2), deref(a.City), deref(a.Zip)
		if c.Phone == "" {
			c.Phone = deref(a.Phone)
		}
	}
	c.UpdatedAt, _ = time.Parse(time.RFC3339, r.UpdatedAt)
	switch {
	case c.ID == "":
		return c, "The customer Shopify sent has no id, so Crossdock cannot tell which customer it is. Nothing was sent on."
	case c.UpdatedAt.IsZero():
		return c, c.label() + " has no date (updated_at), so Crossdock cannot tell it from an older version of it. Nothing was sent on."
	case c.Email == "":
		return c, c.label() + " has no e-mail address in Shopify. Crossdock finds customers in the ERP by e-mail, so it cannot tell whether they are there already. Add an e-mail address in Shopify; the change is then sent on."
	case !strings.Contains(c.Email, "@"):
		return c, fmt.Sprintf("%s has the e-mail address %q, which is not an e-mail address. Correct it in Shopify; the change is then sent on.", c.label(), c.Email)
	}
	return c, ""
}

// planCustomer turns a customers/create or customers/update event into one
// sync per Odoo system that could receive it.
func (e *Engine) planCustomer(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	c, problem := parseCustomer(ev.Payload)
	return planToOdoo(rs, ev, p, vocab.Customers, e.customerSync(c, ev.ConnectionID, store.TriggerWebhook), problem, c, c.label())
}

func (e *Engine) customerSync(c customerRec, src int64, trigger string) store.NewSync {
	return store.NewSync{Family: vocab.Customers, Direction: vocab.ShopifyToOdoo, Flow: flowCustomers,
		SourceConnectionID: src, Trigger: trigger, EntityType: entityCustomer, EntityRef: c.ID,
		EntityKey: cmpStr(c.Email, c.name()), SearchKeys: c.searchKeys(), SourceVersion: c.UpdatedAt,
		IdempotencyKey: versionKey(c.ID, c.UpdatedAt), MaxAttempts: e.cfg.MaxAttempts}
}

// partnerLease is the lease the orders and customers flows take on an
// e-mail address in one Odoo before they look a partner up and create it.
func partnerLease(target int64, email string) string {
	return fmt.Sprintf("partner:%d:%s", target, strings.ToLower(strings.TrimSpace(email)))
}

// superseded reports whether a newer version of the entity was accepted
// since this sync was queued.
func (e *Engine) superseded(ctx context.Context, s store.Sync, markType, ref string, version time.Time) (bool, error) {
	marks, err := e.st.Watermarks(ctx, s.SourceConnectionID, markType, []string{ref})
	if err != nil {
		return false, err
	}
	m, ok := marks[ref]
	return ok && m.After(version), nil
}

// runCustomer creates or updates the customer's partner in Odoo. Its job
// takes no lease of its own: the partner lease on the e-mail, held from the
// lookup to the write and the staleness check under it, serialises the
// versions of one customer (and the orders of the same e-mail) while they
// wait 50 ms, not the 500 ms of a snoozed job. Versions that differ in e-mail
// take different leases; the newest still wins, as each checks its watermark
// before it writes.
func (e *Engine) runCustomer(ctx context.Context, s store.Sync) result {
	if r, err := e.decide(ctx, s); err != nil || r != nil {
		if err != nil {
			return result{err: err}
		}
		return *r
	}
	var c customerRec
	if err := json.Unmarshal(s.Payload, &c); err != nil {
		return result{err: fail(vocab.ClassInternal, "The customer recorded for this sync cannot be read: "+err.Error(), err)}
	}
	if c.Email == "" {
		return result{err: fail(vocab.ClassValidation, c.label()+" has no e-mail address, so Crossdock cannot find the customer in the ERP. Add one in Shopify.", nil)}
	}
	cl, conn, err := e.odoo(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}
	want := c.partner()
	lease := partnerLease(s.TargetConnectionID, c.Email)
	if err := e.waitLease(ctx, lease, s.ID, 2*time.Second); err != nil {
		if f := (*failure)(nil); errors.As(err, &f) && f.class == vocab.ClassTransient {
			err = fail(vocab.ClassTransient, fmt.Sprintf("Another change of %s (or an order of theirs) is being sent right now.", c.label()), nil)
		}
		res.err = err
		return res
	}
	defer e.releaseLease(ctx, lease, s.ID)
	// Checked under the lease: a newer version's sync may have written first.
	if newer, err := e.superseded(ctx, s, entityCustomer, c.ID, c.UpdatedAt); err != nil {
		res.err = err
		return res
	} else if newer {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s changed again in Shopify; the newer version is sent by its own sync, so this one is not.", c.label())
		return res
	}

	// The Shopify id first: it follows the customer through a change of e-mail.
	current, found, err := cl.FindPartnerByRef(ctx, c.ID)
	if err == nil && !found {
		current, found, err = cl.FindPartnerByEmail(ctx, c.Email)
	}
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		res.request = map[string]any{"model": "res.partner", "method": "create", "values": want}
		id, err := cl.CreatePartner(ctx, want)
		if err != nil {
			res.err = err
			return res
		}
		res.status, res.targetRef = vocab.SyncSucceeded, strconv.Itoa(id)
		res.response = map[string]any{"partner_id": id, "created": true}
		res.message = fmt.Sprintf("%s was created in %s as contact #%d.", c.label(), conn.Name, id)
		return res
	}
	vals := odoo.PartnerValues(want, current)
	res.targetRef = strconv.Itoa(current.ID)
	if len(vals) == 0 {
		res.status = vocab.SyncSkipped
		res.response = map[string]any{"partner_id": current.ID, "changed": []string{}}
		res.message = fmt.Sprintf("%s is already up to date in %s (contact #%d); nothing was written.", c.label(), conn.Name, current.ID)
		return res
	}
	res.request = map[string]any{"model": "res.partner", "method": "write", "ids": []int{current.ID}, "values": vals}
	if err := cl.UpdatePartner(ctx, current.ID, vals); err != nil {
		res.err = err
		return res
	}
	changed := slices.Sorted(maps.Keys(vals))
	res.status = vocab.SyncSucceeded
	res.response = map[string]any{"partner_id": current.ID, "changed": changed}
	res.message = fmt.Sprintf("%s was updated in %s (contact #%d).", c.label(), conn.Name, current.ID)
	return res
}

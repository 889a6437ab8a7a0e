package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// PrivacyDue is how long Shopify gives an app to act on a privacy request:
// 30 days from receipt, for the data request and both redacts
// (shopify.dev/docs/apps/build/compliance/privacy-law-compliance; shop/redact
// itself arrives 48 hours after the merchant uninstalls the app).
const PrivacyDue = 30 * 24 * time.Hour

// privacyTopics are Shopify's mandatory privacy webhooks and the kind of
// request each becomes.
var privacyTopics = map[string]string{
	"customers/data_request": store.PrivacyDataRequest,
	"customers/redact":       store.PrivacyCustomerRedact,
	"shop/redact":            store.PrivacyShopRedact,
}

// takePrivacyRequests turns the claimed events of a Shopify store's privacy
// topics into privacy requests, in the intake transaction that marks them:
// an event and its request exist together or not at all. It returns the
// other events, for planning as syncs.
func (e *Engine) takePrivacyRequests(ctx context.Context, tx *store.Tx, rs rules.Rules, evs []store.WebhookEvent) ([]store.WebhookEvent, error) {
	rest := make([]store.WebhookEvent, 0, len(evs))
	var outs []store.WebhookOutcome
	for _, ev := range evs {
		kind, ok := privacyTopics[ev.Topic]
		if c, known := rs.Conn(ev.ConnectionID); !ok || !known || c.Kind != vocab.KindShopify {
			rest = append(rest, ev)
			continue
		}
		out := store.WebhookOutcome{ID: ev.ID, Status: store.WebhookProcessed}
		r, problem := parsePrivacyRequest(kind, ev)
		if problem != "" {
			out.Status, out.Error = store.WebhookFailed, problem
		} else {
			id, inserted, err := tx.InsertPrivacyRequest(ctx, r)
			if err != nil {
				return nil, err
			}
			if !inserted {
				out.Status = store.WebhookIgnored
				out.Error = fmt.Sprintf("Already received: Shopify sent this privacy request again; it is privacy request #%d.", id)
			}
		}
		outs = append(outs, out)
	}
	return rest, tx.MarkWebhookEvents(ctx, outs)
}

// privacyID is an id Shopify sends as a JSON number (or, leniently, a string).
type privacyID string

func (p *privacyID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		s = n.String()
	}
	*p = privacyID(strings.TrimSpace(s))
	return nil
}

// privacyPayload is the body of the three privacy topics (Shopify's
// shopify-app-template-node web/privacy.js documents the shapes).
type privacyPayload struct {
	ShopID     privacyID `json:"shop_id"`
	ShopDomain string    `json:"shop_domain"`
	Customer   *struct {
		ID    privacyID `json:"id"`
		Email string    `json:"email"`
		Phone string    `json:"phone"`
	} `json:"customer"`
	OrdersRequested []privacyID `json:"orders_requested"`
	OrdersToRedact  []privacyID `json:"orders_to_redact"`
	DataRequest     *struct {
		ID privacyID `json:"id"`
	} `json:"data_request"`
}

// parsePrivacyRequest reads a privacy webhook's body. A problem is a
// sentence for the merchant.
func parsePrivacyRequest(kind string, ev store.WebhookEvent) (store.NewPrivacyRequest, string) {
	var p privacyPayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return store.NewPrivacyRequest{}, "Shopify sent a privacy request Crossdock cannot read (" + err.Error() + "). Ask Shopify's support to send it again; until then it cannot be answered."
	}
	r := store.NewPrivacyRequest{ConnectionID: ev.ConnectionID, WebhookEventID: ev.ID, EventID: ev.EventID, Kind: kind,
		ShopDomain: strings.ToLower(strings.TrimSpace(cmpStr(p.ShopDomain, ev.ShopDomain))), ShopID: string(p.ShopID),
		ReceivedAt: ev.ReceivedAt, DueAt: ev.ReceivedAt.Add(PrivacyDue)}
	// The signature proves Shopify sent the body, for any shop the app is on:
	// the body must name the shop this connection is for.
	if ev.ShopDomain != "" && r.ShopDomain != strings.ToLower(ev.ShopDomain) {
		return r, fmt.Sprintf("This privacy request names the shop %q, but it was delivered for %q: it was not acted on.", r.ShopDomain, ev.ShopDomain)
	}
	if p.Customer != nil {
		r.CustomerID, r.CustomerEmail, r.CustomerPhone = string(p.Customer.ID), strings.TrimSpace(p.Customer.Email), strings.TrimSpace(p.Customer.Phone)
	}
	orders := p.OrdersRequested
	if kind == store.PrivacyCustomerRedact {
		orders = p.OrdersToRedact
	}
	for _, o := range orders {
		if o != "" {
			r.OrderIDs = append(r.OrderIDs, string(o))
		}
	}
	if p.DataRequest != nil {
		r.ShopifyRequestID = string(p.DataRequest.ID)
	}
	if kind != store.PrivacyShopRedact && r.CustomerID == "" && r.CustomerEmail == "" {
		return r, "This privacy request names no customer (neither an id nor an e-mail address), so Crossdock cannot tell whose data it is about."
	}
	return r, ""
}

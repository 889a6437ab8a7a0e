package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"crossdock/connectors"
)

// VerifyHMAC reports whether header (X-Shopify-Hmac-Sha256) is the base64
// HMAC-SHA256 of the raw body under any of secrets. Pass the current secret and,
// during a rotation, the previous one: Shopify may sign with the old secret
// for up to an hour.
func VerifyHMAC(body []byte, header string, secrets ...string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		// Check every secret, so timing does not tell which one matched.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// WebhookMeta is what the headers of a webhook delivery say.
type WebhookMeta struct {
	Topic      string
	ShopDomain string
	APIVersion string
	HMAC       string
	// WebhookID identifies one delivery: dedupe on it.
	WebhookID string
	// EventID is shared by the re-deliveries of one event (optional).
	EventID string
	// TriggeredAt is zero when the header is absent.
	TriggeredAt time.Time
}

// Webhook header names. http.Header lookups are case-insensitive.
const (
	HeaderHMAC        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
)

// ParseWebhookHeaders reads the delivery headers; a missing required header is an error naming it.
func ParseWebhookHeaders(h http.Header) (WebhookMeta, error) {
	m := WebhookMeta{
		HMAC:       h.Get(HeaderHMAC),
		Topic:      h.Get(HeaderTopic),
		ShopDomain: h.Get(HeaderShopDomain),
		APIVersion: h.Get(HeaderAPIVersion),
		WebhookID:  h.Get(HeaderWebhookID),
		EventID:    h.Get(HeaderEventID),
	}
	for _, req := range []struct{ name, v string }{
		{HeaderHMAC, m.HMAC}, {HeaderTopic, m.Topic}, {HeaderShopDomain, m.ShopDomain},
		{HeaderAPIVersion, m.APIVersion}, {HeaderWebhookID, m.WebhookID},
	} {
		if req.v == "" {
			return m, fmt.Errorf("shopify webhook: missing header %s", req.name)
		}
	}
	if ts := h.Get(HeaderTriggeredAt); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return m, fmt.Errorf("shopify webhook: header %s: %w", HeaderTriggeredAt, err)
		}
		m.TriggeredAt = t
	}
	return m, nil
}

// ReadWebhook reads a verified delivery for the webhook receiver: one event,
// named by its headers (ParseWebhookHeaders), its account the shop domain.
func ReadWebhook(h http.Header, _ []byte) ([]connectors.WebhookEvent, error) {
	m, err := ParseWebhookHeaders(h)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "shopify webhook: "))
	}
	return []connectors.WebhookEvent{{DeliveryID: m.WebhookID, EventID: m.EventID, Topic: m.Topic, Account: m.ShopDomain,
		APIVersion: m.APIVersion, At: m.TriggeredAt}}, nil
}

// CheckShop says why a delivery's shop is not the connection's ("" when it
// is). Shopify signs the body only, and an app's secret signs the
// deliveries of every shop the app is installed on: a signed body captured
// from another shop must not pass for this one's.
func CheckShop(settings map[string]string, account string) string {
	want := strings.ToLower(strings.TrimSpace(settings["shop_domain"]))
	shop := strings.ToLower(strings.TrimSpace(account))
	switch {
	case want == "":
		return "No shop domain is saved for this connection, so Crossdock cannot tell that the delivery comes from its shop: enter the store's .myshopify.com address on the connection."
	case shop != want:
		if len(shop) > 200 {
			shop = strings.ToValidUTF8(shop[:200], "")
		}
		return fmt.Sprintf("The delivery comes from the shop %q, but this connection is for %q: it was turned away. Check the address of the webhook subscription in the other shop.", shop, want)
	}
	return ""
}

// TopicEnum turns "orders/create" into ORDERS_CREATE; enum values pass unchanged.
func TopicEnum(topic string) string {
	return strings.ToUpper(strings.ReplaceAll(topic, "/", "_"))
}

const webhookFields = `id topic uri format includeFields filter apiVersion { handle } createdAt updatedAt`

// WebhookSubscriptionsQuery lists subscriptions.
const WebhookSubscriptionsQuery = `query CrossdockWebhooks($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { ` + webhookFields + ` }
  }
}`

// CreateWebhookMutation subscribes an HTTPS endpoint to a topic (2026-04: uri, not callbackUrl).
const CreateWebhookMutation = `mutation CrossdockWebhookCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { ` + webhookFields + ` }
    userErrors { field message }
  }
}`

// DeleteWebhookMutation removes a subscription.
const DeleteWebhookMutation = `mutation CrossdockWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}`

// WebhookSubscription is a webhook subscription of the app.
type WebhookSubscription struct {
	ID            string   `json:"id"`
	Topic         string   `json:"topic"`
	URI           string   `json:"uri"`
	Format        string   `json:"format"`
	IncludeFields []string `json:"includeFields"`
	Filter        *string  `json:"filter"`
	APIVersion    struct {
		Handle string `json:"handle"`
	} `json:"apiVersion"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// WebhookSubscriptions lists every subscription of the app.
func (c *Client) WebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	var all []WebhookSubscription
	after := ""
	for {
		var out struct {
			WebhookSubscriptions struct {
				PageInfo PageInfo              `json:"pageInfo"`
				Nodes    []WebhookSubscription `json:"nodes"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.Do(ctx, WebhookSubscriptionsQuery, map[string]any{"first": 100, "after": cursor(after)}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.WebhookSubscriptions.Nodes...)
		if !out.WebhookSubscriptions.PageInfo.HasNextPage {
			return all, nil
		}
		after = out.WebhookSubscriptions.PageInfo.EndCursor
	}
}

// CreateWebhookSubscription subscribes callbackURL to topic ("orders/create" or "ORDERS_CREATE").
func (c *Client) CreateWebhookSubscription(ctx context.Context, topic, callbackURL string) (WebhookSubscription, error) {
	var out struct {
		WebhookSubscriptionCreate struct {
			WebhookSubscription *WebhookSubscription `json:"webhookSubscription"`
			UserErrors          []UserError          `json:"userErrors"`
		} `json:"webhookSubscriptionCreate"`
	}
	vars := map[string]any{
		"topic":               TopicEnum(topic),
		"webhookSubscription": map[string]any{"uri": callbackURL, "format": "JSON"},
	}
	if err := c.Do(ctx, CreateWebhookMutation, vars, &out); err != nil {
		return WebhookSubscription{}, err
	}
	if err := userErrorsToError(out.WebhookSubscriptionCreate.UserErrors); err != nil {
		return WebhookSubscription{}, err
	}
	if out.WebhookSubscriptionCreate.WebhookSubscription == nil {
		return WebhookSubscription{}, &Error{Kind: KindProtocol, Message: "webhookSubscriptionCreate returned no subscription"}
	}
	return *out.WebhookSubscriptionCreate.WebhookSubscription, nil
}

// DeleteWebhookSubscription removes a subscription by GID.
func (c *Client) DeleteWebhookSubscription(ctx context.Context, id string) error {
	var out struct {
		WebhookSubscriptionDelete struct {
			UserErrors []UserError `json:"userErrors"`
		} `json:"webhookSubscriptionDelete"`
	}
	if err := c.Do(ctx, DeleteWebhookMutation, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	return userErrorsToError(out.WebhookSubscriptionDelete.UserErrors)
}

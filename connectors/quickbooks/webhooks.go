package quickbooks

import (
	"bytes"
	"crossdock/connectors"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature: base64(HMAC-SHA256(verifier
// token, raw body)).
const SignatureHeader = "intuit-signature"

// Sign signs a body with a verifier token (the twin signs with it).
func Sign(body []byte, verifierToken string) string {
	m := hmac.New(sha256.New, []byte(verifierToken))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether signature signs body under one of the
// verifier tokens.
func VerifySignature(body []byte, signature string, tokens []string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	for _, t := range tokens {
		if t == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(t))
		m.Write(body)
		if hmac.Equal(got, m.Sum(nil)) {
			return true
		}
	}
	return false
}

// Event is one change a webhook announces: ids only, the record is read
// afterwards.
type Event struct {
	RealmID   string    // the company
	Entity    string    // Customer, Invoice, SalesReceipt… (as the API spells it)
	ID        string    // the record's id
	Operation string    // Create, Update, Delete, Merge, Void, Emailed
	Time      time.Time // when it changed
	EventID   string    // the CloudEvents id ("" in the legacy format)
}

// MaxEventsPerDelivery is how many events one delivery may carry (100 in
// the CloudEvents format).
const MaxEventsPerDelivery = 1000

// DecodeWebhook reads a delivery in either format QuickBooks sends: the
// CloudEvents array ([{specversion, id, type: "qbo.customer.created.v1",
// intuitentityid, intuitaccountid, time}]) or the legacy object
// ({"eventNotifications":[{realmId, dataChangeEvent:{entities:[…]}}]}).
func DecodeWebhook(body []byte) ([]Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("the delivery is empty")
	}
	var out []Event
	switch trimmed[0] {
	case '[':
		var ces []struct {
			SpecVersion string `json:"specversion"`
			ID          string `json:"id"`
			Type        string `json:"type"`
			Time        string `json:"time"`
			EntityID    string `json:"intuitentityid"`
			AccountID   string `json:"intuitaccountid"`
		}
		if err := json.Unmarshal(trimmed, &ces); err != nil {
			return nil, fmt.Errorf("the delivery is not a list of CloudEvents: %w", err)
		}
		for i, ce := range ces {
			entity, op, ok := parseCloudEventType(ce.Type)
			if !ok {
				return nil, fmt.Errorf("event %d has the type %q, not qbo.<entity>.<operation>.v<n>", i+1, ce.Type)
			}
			ev := Event{RealmID: ce.AccountID, Entity: entity, ID: ce.EntityID, Operation: op, EventID: ce.ID}
			ev.Time, _ = time.Parse(time.RFC3339Nano, ce.Time)
			out = append(out, ev)
		}
	case '{':
		var legacy struct {
			EventNotifications []struct {
				RealmID         string `json:"realmId"`
				DataChangeEvent struct {
					Entities []struct {
						ID          string `json:"id"`
						Operation   string `json:"operation"`
						Name        string `json:"name"`
						LastUpdated string `json:"lastUpdated"`
					} `json:"entities"`
				} `json:"dataChangeEvent"`
			} `json:"eventNotifications"`
		}
		if err := json.Unmarshal(trimmed, &legacy); err != nil {
			return nil, fmt.Errorf("the delivery is not a QuickBooks notification: %w", err)
		}
		if legacy.EventNotifications == nil {
			return nil, errors.New("the delivery has no eventNotifications")
		}
		for _, n := range legacy.EventNotifications {
			for _, en := range n.DataChangeEvent.Entities {
				ev := Event{RealmID: n.RealmID, Entity: en.Name, ID: en.ID, Operation: en.Operation}
				ev.Time, _ = time.Parse(time.RFC3339Nano, en.LastUpdated)
				out = append(out, ev)
			}
		}
	default:
		return nil, errors.New("the delivery is neither a JSON list nor a JSON object")
	}
	if len(out) > MaxEventsPerDelivery {
		return nil, fmt.Errorf("the delivery carries %d events, more than %d", len(out), MaxEventsPerDelivery)
	}
	for i, ev := range out {
		if ev.RealmID == "" || ev.ID == "" || ev.Entity == "" {
			return nil, fmt.Errorf("event %d lacks its company, record id or entity", i+1)
		}
	}
	return out, nil
}

// parseCloudEventType reads "qbo.customer.created.v1" as ("Customer",
// "Create").
func parseCloudEventType(t string) (entity, op string, ok bool) {
	parts := strings.Split(t, ".")
	if len(parts) != 4 || parts[0] != "qbo" || !strings.HasPrefix(parts[3], "v") || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	entity = entityNames[strings.ToLower(parts[1])]
	if entity == "" {
		entity = strings.ToUpper(parts[1][:1]) + parts[1][1:]
	}
	op = operations[strings.ToLower(parts[2])]
	if op == "" {
		op = strings.ToUpper(parts[2][:1]) + parts[2][1:]
	}
	return entity, op, true
}

var entityNames = map[string]string{
	"customer": EntityCustomer, "item": EntityItem, "salesreceipt": EntitySalesReceipt, "invoice": EntityInvoice,
	"refundreceipt": EntityRefundReceipt, "creditmemo": EntityCreditMemo, "deposit": EntityDeposit,
	"account": EntityAccount, "taxcode": EntityTaxCode, "paymentmethod": EntityPaymentMethod, "payment": "Payment",
	"journalentry": "JournalEntry", "vendor": "Vendor", "employee": "Employee",
}

var operations = map[string]string{
	"created": "Create", "updated": "Update", "deleted": "Delete", "merged": "Merge", "voided": "Void", "emailed": "Emailed",
}

// CloudEventType is the CloudEvents type of an entity's operation
// ("Customer", "Create" → "qbo.customer.created.v1").
func CloudEventType(entity, op string) string {
	past := strings.ToLower(op)
	for k, v := range operations {
		if v == op {
			past = k
		}
	}
	return "qbo." + strings.ToLower(entity) + "." + past + ".v1"
}

// ReadWebhook reads a verified delivery for the shared receiver: one event
// per changed record, each deduplicated on its CloudEvents id (or, in the
// legacy format, on the company, record, operation and time), its topic
// "qbo.<entity>.<operation>" and its body the event alone.
func ReadWebhook(_ http.Header, body []byte) ([]connectors.WebhookEvent, error) {
	evs, err := DecodeWebhook(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", connectors.ErrWebhookBody, err)
	}
	out := make([]connectors.WebhookEvent, 0, len(evs))
	for _, ev := range evs {
		one, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		id := ev.EventID
		if id == "" {
			id = strings.Join([]string{ev.RealmID, ev.Entity, ev.ID, ev.Operation, ev.Time.UTC().Format(time.RFC3339Nano)}, ":")
		}
		out = append(out, connectors.WebhookEvent{DeliveryID: id, EventID: ev.EventID,
			Topic: "qbo." + strings.ToLower(ev.Entity) + "." + strings.ToLower(ev.Operation), Account: ev.RealmID, At: ev.Time, Body: one})
	}
	return out, nil
}

// CheckRealm says why a delivery's company is not the connection's ("" when
// it is): one app's verifier token signs the deliveries of every company
// connected to it.
func CheckRealm(settings map[string]string, realm string) string {
	want := strings.TrimSpace(settings[FieldRealmID])
	switch {
	case want == "":
		return "This connection is not connected to a QuickBooks company yet, so Crossdock cannot tell that the delivery is for it: use \"Connect to QuickBooks Online\" on the connection."
	case strings.TrimSpace(realm) != want:
		if len(realm) > 40 {
			realm = strings.ToValidUTF8(realm[:40], "")
		}
		return fmt.Sprintf("The delivery is about the QuickBooks company %q, but this connection is for company %q: it was turned away.", realm, want)
	}
	return ""
}

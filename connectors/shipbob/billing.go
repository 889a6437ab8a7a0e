package shipbob

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Billing webhook topics (OpenAPI 2026-01, Webhooks.Topics).
const (
	TopicBillingCharge = "billing.charge.created"
	TopicBillingRefund = "billing.refund.created"
	TopicBillingCredit = "billing.credit.created"
)

// BillingTopics are the billing webhook topics, in the order above.
var BillingTopics = []string{TopicBillingCharge, TopicBillingRefund, TopicBillingCredit}

// IsBillingTopic reports whether topic is one of BillingTopics.
func IsBillingTopic(topic string) bool {
	switch topic {
	case TopicBillingCharge, TopicBillingRefund, TopicBillingCredit:
		return true
	}
	return false
}

// Transaction types of Billing.TransactionDtoV3 (BillingTransactionDtoV3TransactionType).
const (
	TransactionCharge = "Charge"
	TransactionRefund = "Refund"
	TransactionCredit = "Credit"
)

// ReferenceShipment is the reference_type of a shipment's transaction: its
// reference_id is then the shipment's id.
const ReferenceShipment = "Shipment"

// Signed is the charge as a cost: a charge as ShipBob gives it, a refund or
// a credit negative whatever sign ShipBob gives it, so that summing a
// shipment's transactions gives what it cost. Neither the OpenAPI nor a
// captured sample says how ShipBob signs a refund's amount, so both signs
// are read the same way; this is the one convention of warehouse_charges,
// for the hourly read and the webhooks alike.
func (c Charge) Signed() float64 {
	switch c.TransactionType {
	case TransactionRefund, TransactionCredit:
		return -math.Abs(c.Amount)
	}
	return c.Amount
}

// ErrBillingBody is wrapped by DecodeBillingEvent when a body cannot be
// taken as a billing transaction.
var ErrBillingBody = errors.New("shipbob: billing event")

// BillingEvent is what a billing webhook says: one transaction, in the
// model the hourly read (POST /transactions:query) gets, and when.
type BillingEvent struct {
	Charge
	EventTime time.Time
}

// DecodeBillingEvent reads a billing webhook's body (billing.charge.created,
// billing.refund.created, billing.credit.created).
//
// No billing webhook body is published: the AsyncAPI of the webhooks
// (api-evangelist/shipbob asyncapi/shipbob-webhooks-asyncapi.yml) leaves
// each topic's body open and says it "generally mirrors the corresponding
// ShipBob REST resource", and neither ShipBob's docs nor the fixtures hold
// a captured one. So the shape read here is assembled, not verbatim:
//
//   - transaction_id, amount, currency_code, charge_date, reference_id,
//     reference_type, transaction_fee, transaction_type, invoice_type,
//     invoice_id, invoiced_status, fulfillment_center: the fields of
//     Billing.TransactionDtoV3 (OpenAPI 2026-01, openapi/shipbob-openapi.json
//     in the same mirror, and the 2025-07 "Search transactions" example at
//     developer.shipbob.com), the model of the transactions API, assumed to
//     be the webhook's too;
//   - event_time: the field ShipBob's one published webhook sample carries
//     (order.shipment.tracking_received, fixtures/next), assumed here;
//   - the body is read at the top level, as that sample is, or inside a
//     "data" object, should ShipBob wrap it (an assumption too);
//   - a missing transaction_type is taken from the topic.
//
// Every field but transaction_id and amount may be missing (the model makes
// all of them nullable); an amount may come as a number or a numeric string.
func DecodeBillingEvent(topic string, body []byte) (BillingEvent, error) {
	type dto struct {
		TransactionID   json.RawMessage `json:"transaction_id"`
		Amount          json.RawMessage `json:"amount"`
		CurrencyCode    string          `json:"currency_code"`
		ChargeDate      string          `json:"charge_date"`
		InvoiceID       *int64          `json:"invoice_id"`
		InvoiceType     string          `json:"invoice_type"`
		InvoicedStatus  *bool           `json:"invoiced_status"`
		ReferenceID     json.RawMessage `json:"reference_id"`
		ReferenceType   string          `json:"reference_type"`
		TransactionFee  string          `json:"transaction_fee"`
		TransactionType string          `json:"transaction_type"`
		Centre          string          `json:"fulfillment_center"`
		EventTime       *time.Time      `json:"event_time"`
		Data            *dto            `json:"data"`
	}
	var r dto
	if err := json.Unmarshal(body, &r); err != nil {
		return BillingEvent{}, fmt.Errorf("%w: the body is not a billing transaction: %w", ErrBillingBody, err)
	}
	at := r.EventTime
	if len(r.TransactionID) == 0 && r.Data != nil {
		r = *r.Data
		if at == nil {
			at = r.EventTime
		}
	}
	var ev BillingEvent
	if at != nil {
		ev.EventTime = *at
	}
	id, err := idText(r.TransactionID)
	if err != nil || id == "" {
		return ev, fmt.Errorf("%w: it has no transaction id", ErrBillingBody)
	}
	amount, ok := amountOf(r.Amount)
	if !ok {
		return ev, fmt.Errorf("%w: transaction %s has no amount", ErrBillingBody, id)
	}
	ref, err := idText(r.ReferenceID)
	if err != nil {
		return ev, fmt.Errorf("%w: transaction %s has a reference_id that is neither text nor a number", ErrBillingBody, id)
	}
	ev.Charge = Charge{TransactionID: id, Amount: amount, CurrencyCode: strings.TrimSpace(r.CurrencyCode), ChargeDate: r.ChargeDate,
		InvoiceID: r.InvoiceID, InvoiceType: r.InvoiceType, InvoicedStatus: r.InvoicedStatus != nil && *r.InvoicedStatus,
		ReferenceID: ref, ReferenceType: strings.TrimSpace(r.ReferenceType), TransactionFee: r.TransactionFee,
		TransactionType: strings.TrimSpace(r.TransactionType), Centre: r.Centre}
	if ev.TransactionType == "" {
		ev.TransactionType = map[string]string{TopicBillingCharge: TransactionCharge, TopicBillingRefund: TransactionRefund,
			TopicBillingCredit: TransactionCredit}[topic]
	}
	return ev, nil
}

// idText reads an id sent as text or as a JSON number; "" when absent or null.
func idText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return strings.TrimSpace(s), err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}

// amountOf reads an amount sent as a JSON number or a numeric string.
func amountOf(raw json.RawMessage) (float64, bool) {
	s, err := idText(raw)
	if err != nil || s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

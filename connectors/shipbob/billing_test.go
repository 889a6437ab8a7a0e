package shipbob_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	"crossdock/connectors/shipbob/sandbox"
)

// A billing body is read in the transactions API's model, at the top level
// or inside "data", with ids and amounts as numbers or text; what it lacks
// but its id and amount is left empty, and a refund or a credit is a cost
// taken back whatever its sign.
func TestDecodeBillingEvent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, topic, body string
		want              shipbob.Charge
		signed            float64
		at                string
	}{
		{"charge in the transactions model", shipbob.TopicBillingCharge,
			`{"transaction_id":"01HZX","amount":7.1,"currency_code":"USD","charge_date":"2026-12-05","invoice_id":null,"invoice_type":"Shipping",
			  "invoiced_status":false,"reference_id":"100000042","reference_type":"Shipment","transaction_fee":"Shipping","transaction_type":"Charge",
			  "fulfillment_center":"Cicero (IL)","taxes":[],"additional_details":{"comment":"x"},"event_time":"2026-12-05T10:00:00Z"}`,
			shipbob.Charge{TransactionID: "01HZX", Amount: 7.1, CurrencyCode: "USD", ChargeDate: "2026-12-05", InvoiceType: "Shipping",
				ReferenceID: "100000042", ReferenceType: "Shipment", TransactionFee: "Shipping", TransactionType: "Charge", Centre: "Cicero (IL)"},
			7.1, "2026-12-05T10:00:00Z"},
		{"only an id and an amount, numbers as text or numbers", shipbob.TopicBillingCharge, `{"transaction_id":123,"amount":"0.25","reference_id":77}`,
			shipbob.Charge{TransactionID: "123", Amount: 0.25, ReferenceID: "77", TransactionType: "Charge"}, 0.25, ""},
		{"wrapped in data", shipbob.TopicBillingCharge, `{"event_time":"2026-12-05T11:00:00Z","data":{"transaction_id":"t-9","amount":3,"reference_id":"5"}}`,
			shipbob.Charge{TransactionID: "t-9", Amount: 3, ReferenceID: "5", TransactionType: "Charge"}, 3, "2026-12-05T11:00:00Z"},
		{"refund with a positive amount", shipbob.TopicBillingRefund, `{"transaction_id":"r1","amount":2.5,"reference_id":"5"}`,
			shipbob.Charge{TransactionID: "r1", Amount: 2.5, ReferenceID: "5", TransactionType: "Refund"}, -2.5, ""},
		{"refund with a negative amount", shipbob.TopicBillingRefund, `{"transaction_id":"r2","amount":-2.5,"reference_id":"5","transaction_type":"Refund"}`,
			shipbob.Charge{TransactionID: "r2", Amount: -2.5, ReferenceID: "5", TransactionType: "Refund"}, -2.5, ""},
		{"credit", shipbob.TopicBillingCredit, `{"transaction_id":"c1","amount":1,"reference_id":"5","invoice_type":"Credits"}`,
			shipbob.Charge{TransactionID: "c1", Amount: 1, ReferenceID: "5", InvoiceType: "Credits", TransactionType: "Credit"}, -1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := shipbob.DecodeBillingEvent(c.topic, []byte(c.body))
			require.NoError(t, err)
			require.Equal(t, c.want, ev.Charge)
			require.InDelta(t, c.signed, ev.Signed(), 1e-9)
			if c.at == "" {
				require.True(t, ev.EventTime.IsZero())
			} else {
				require.Equal(t, c.at, ev.EventTime.UTC().Format(time.RFC3339))
			}
		})
	}
}

func TestDecodeBillingEventRefusesWhatIsNoTransaction(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"amount":7.1,"reference_id":"5"}`:                    "shipbob: billing event: it has no transaction id",
		`{"transaction_id":"","amount":7.1}`:                   "it has no transaction id",
		`{"transaction_id":"t1","reference_id":"5"}`:           "transaction t1 has no amount",
		`{"transaction_id":"t1","amount":null}`:                "transaction t1 has no amount",
		`{"transaction_id":"t1","amount":"seven"}`:             "transaction t1 has no amount",
		`{"transaction_id":"t1","amount":1,"reference_id":{}}`: "reference_id that is neither text nor a number",
		`[1,2]`:                 "the body is not a billing transaction",
		`{"transaction_id":`:    "the body is not a billing transaction",
		`{"data":{"amount":1}}`: "it has no transaction id",
	} {
		_, err := shipbob.DecodeBillingEvent(shipbob.TopicBillingCharge, []byte(body))
		require.ErrorIs(t, err, shipbob.ErrBillingBody, body)
		require.ErrorContains(t, err, want, body)
	}
}

// The twin's charges, refunds and credits go to their subscriptions signed
// like its other webhooks, twice with Duplicate (the same webhook-id), and
// read back as the transactions the hourly read lists.
func TestBillingWebhooksAreSigned(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var mu sync.Mutex
	var got []shipbob.Charge
	var topics, ids []string
	var bad []error
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := shipbob.Kind().VerifyWebhookAt(body, r.Header, []string{secret}, time.Now()); err != nil {
			bad = append(bad, err)
		}
		topic := r.Header.Get(shipbob.HeaderTopic)
		ev, err := shipbob.DecodeBillingEvent(topic, body)
		if err != nil {
			bad = append(bad, err)
		}
		got, topics, ids = append(got, ev.Charge), append(topics, topic), append(ids, r.Header.Get(shipbob.HeaderWebhookID))
	}))
	t.Cleanup(recv.Close)
	sb, cl := twin(t, sandbox.Options{RateLimit: -1, Duplicate: true}, shipbob.Config{})
	sb.SubscribeDirect(recv.URL, secret, shipbob.BillingTopics...)
	sh := shippedOrder(t, sb, cl, "B1")
	day := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	charge := sb.ChargeDirect(sh.ID, "Shipping", 7.10, day)
	sb.WaitDeliveries()
	refund := sb.RefundDirect(sh.ID, "Shipping", 2, day)
	sb.WaitDeliveries()
	credit := sb.CreditDirect(sh.ID, "Shipping", 0.5, day)
	sb.WaitDeliveries()

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, bad)
	require.Equal(t, []string{"billing.charge.created", "billing.charge.created", "billing.refund.created", "billing.refund.created",
		"billing.credit.created", "billing.credit.created"}, topics)
	require.Equal(t, ids[0], ids[1], "a duplicate keeps its webhook-id")
	require.NotEqual(t, ids[0], ids[2])
	require.Equal(t, []shipbob.Charge{charge, charge, refund, refund, credit, credit}, got)
	ref := strconv.FormatInt(sh.ID, 10)
	require.Equal(t, shipbob.Charge{TransactionID: charge.TransactionID, Amount: 7.10, CurrencyCode: "USD", ChargeDate: "2026-12-05",
		InvoiceType: "Shipping", ReferenceID: ref, ReferenceType: "Shipment", TransactionFee: "Shipping", TransactionType: "Charge",
		Centre: sh.Location.Name}, charge)
	require.Equal(t, -2.0, refund.Amount)
	require.Equal(t, "Refund", refund.TransactionType)
	require.Equal(t, -0.5, credit.Signed())

	// The hourly read lists the same three, credits included.
	listed, err := cl.ShipmentCharges(context.Background(), day.Add(-time.Hour), day.Add(48*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []shipbob.Charge{charge, refund, credit}, listed)
}

// The billing topics are among those Crossdock subscribes to.
func TestWebhookTopicsIncludeBilling(t *testing.T) {
	t.Parallel()
	_, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	for _, topic := range []string{"billing.charge.created", "billing.refund.created", "billing.credit.created"} {
		require.True(t, slices.Contains(cl.WebhookTopics(), topic), topic)
		require.True(t, shipbob.IsBillingTopic(topic))
	}
	require.False(t, shipbob.IsBillingTopic(shipbob.TopicShipped))
}

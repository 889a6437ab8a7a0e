package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

const flowQB = "orders.shopify_quickbooks"

// withFields adds Shopify order fields the sandbox's payload leaves out.
func withFields(t *testing.T, payload []byte, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// qbSync waits for an event's syncs and returns the QuickBooks one.
func qbSync(t *testing.T, env *enginetest.Env, eventID int64) store.Sync {
	t.Helper()
	for _, s := range env.EndedSyncs(t, eventID) {
		if s.Flow == flowQB {
			return s
		}
	}
	t.Fatalf("event %d planned no QuickBooks sync", eventID)
	return store.Sync{}
}

func storedToken(t *testing.T, env *enginetest.Env, id int64) connectors.RefreshToken {
	t.Helper()
	c, err := env.St.ConnectionByID(context.Background(), id)
	require.NoError(t, err)
	box := mustBox(t)
	sec, err := store.ConnectionSecrets(box, c)
	require.NoError(t, err)
	return connectors.StoredToken(sec)
}

func TestQuickBooksOrderBecomesOneSalesReceipt(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	o, payload := env.Order(t)
	payload = withFields(t, payload, map[string]any{"total_discounts": "5.00", "total_tax": "3.10",
		"shipping_lines": []map[string]any{{"title": "Standard", "price": "7.50"}}})
	ev := env.Deliver(t, "orders/create", payload)
	ss := env.EndedSyncs(t, ev)
	require.Len(t, ss, 2, "one sync into Odoo, one into QuickBooks")
	s := qbSync(t, env, ev)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, vocab.ShopifyToQuickBooks, s.Direction)
	doc := strings.TrimPrefix(o.Name, "#")
	require.Contains(t, s.Message, "was created in Books as sales receipt "+doc)

	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Len(t, receipts, 1)
	r := receipts[0]
	require.Equal(t, doc, r["DocNumber"])
	require.Equal(t, s.TargetRef, r["Id"])
	lines := r["Line"].([]any)
	require.Len(t, lines, 3, "the item, shipping, the discount")
	item := lines[0].(map[string]any)["SalesItemLineDetail"].(map[string]any)
	v := env.Shop.Variants()[0]
	require.Equal(t, qb.ItemBySKU[v.SKU], item["ItemRef"].(map[string]any)["value"])
	require.Equal(t, "TAX", item["TaxCodeRef"].(map[string]any)["value"], "Shopify charged tax on the line")
	require.Equal(t, quickbooks.ShippingItemID, lines[1].(map[string]any)["SalesItemLineDetail"].(map[string]any)["ItemRef"].(map[string]any)["value"])
	require.Equal(t, "DiscountLineDetail", lines[2].(map[string]any)["DetailType"])
	customers := qb.Twin.Records(quickbooks.EntityCustomer)
	require.Len(t, customers, 1)
	require.Equal(t, o.Email, customers[0]["PrimaryEmailAddr"].(map[string]any)["Address"])

	// Tried again by hand: found by its number, nothing created again.
	again, err := env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	again = env.Ended(t, again.ID)
	require.Equal(t, vocab.SyncSucceeded, again.Status, again.Message)
	require.Contains(t, again.Message, "nothing was created again")
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1)
	// A second order of the same customer reuses the customer.
	_, payload2 := env.Order(t)
	s2 := qbSync(t, env, env.Deliver(t, "orders/create", payload2))
	require.Equal(t, vocab.SyncSucceeded, s2.Status, s2.Message)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 2)
	require.Len(t, qb.Twin.Records(quickbooks.EntityCustomer), 1, "one customer per e-mail")
}

// A person entered the order in QuickBooks before Crossdock sent it: the
// first attempt's create, with no lookup before it, is refused for its
// number (6210); the number is then looked up and the sync ends with the
// receipt found, not a second one.
func TestQuickBooksOrderEnteredByHandIsNotSentTwice(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, map[string]string{quickbooks.FieldOrdersAs: quickbooks.OrdersSalesReceipt})
	o, payload := env.Order(t)
	doc := strings.TrimPrefix(o.Name, "#")
	cl, _, err := env.Eng.QuickBooksClient(context.Background(), qb.Conn.ID)
	require.NoError(t, err)
	var byHand quickbooks.Txn
	v := env.Shop.Variants()[0]
	require.NoError(t, cl.Create(context.Background(), quickbooks.EntitySalesReceipt, quickbooks.RequestID("entered by hand"), quickbooks.Txn{DocNumber: doc,
		Line: []quickbooks.Line{{Amount: 10, DetailType: "SalesItemLineDetail", SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: qb.ItemBySKU[v.SKU]}, Qty: 1, UnitPrice: 10}}}},
		&byHand))

	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 1, s.Attempts, "found on the first attempt")
	require.Contains(t, s.Message, "was already in Books as sales receipt "+doc)
	require.Equal(t, byHand.ID, s.TargetRef)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1)
}

func TestQuickBooksUnpaidOrderBecomesAnInvoice(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	_, payload := env.Order(t)
	s := qbSync(t, env, env.Deliver(t, "orders/create", withFields(t, payload, map[string]any{"financial_status": "pending"})))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "as invoice")
	require.Len(t, qb.Twin.Records(quickbooks.EntityInvoice), 1)
	require.Empty(t, qb.Twin.Records(quickbooks.EntitySalesReceipt))
}

// lostQB drops the answer of the first matching request: QuickBooks did
// the work, Crossdock never heard.
type lostQB struct {
	match func(*http.Request) bool
	n     atomic.Int32
}

func (l *lostQB) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && l.match(r) && l.n.Add(-1) >= 0 {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return res, err
}

func TestQuickBooksLostAnswerCreatesNoDuplicate(t *testing.T) {
	t.Parallel()
	lost := &lostQB{match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/salesreceipt")
	}}
	lost.n.Store(1)
	env := enginetest.Setup(t, enginetest.Options{Start: true, Transport: lost})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	// No document number to find it by: only the requestid stands between
	// the retry and a second receipt.
	_, payload := env.Order(t)
	payload = withFields(t, payload, map[string]any{"name": "", "order_number": 0})
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 2, s.Attempts, "the first answer was lost")
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1, "the retry's requestid got the first answer")
	var withID int
	for _, w := range qb.Twin.Writes() {
		if w.Entity == quickbooks.EntitySalesReceipt {
			require.NotEmpty(t, w.RequestID)
			withID++
		}
	}
	require.Equal(t, 1, withID)
}

func TestQuickBooksUnmappedOrderIsTriedAgainOnceMapped(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	v := env.Shop.Variants()[0]
	env.Res.Unset(env.ShopConn.ID, qb.Conn.ID, "variant", v.GID())
	_, payload := env.Order(t)
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassUnmapped, s.Class())
	require.Contains(t, s.Message, v.SKU+" is not mapped to a QuickBooks product yet")
	require.Empty(t, qb.Twin.Records(quickbooks.EntitySalesReceipt))

	failed, _, err := env.St.ListSyncs(context.Background(), store.SyncFilter{Problems: true})
	require.NoError(t, err)
	require.NotEmpty(t, failed, "it is among the failed syncs")

	env.Res.Set(env.ShopConn.ID, qb.Conn.ID, "variant", v.GID(), qb.ItemBySKU[v.SKU])
	r, err := env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1)
}

func TestQuickBooksRateLimitIsNotAFailure(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	qb.Twin.ThrottleNext(2)
	_, payload := env.Order(t)
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 1, s.Attempts, "the client waited and sent again; no attempt was spent")
	_, throttled := qb.Twin.Calls()
	require.Equal(t, 2, throttled)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1)
}

func TestQuickBooksStaleSyncTokenIsReadAgain(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	o, payload := env.Order(t)
	// The customer is in QuickBooks already, without names; someone edits
	// it twice while Crossdock fills them in.
	id := qb.Twin.AddCustomer("Walk-in "+o.Email, o.Email)
	qb.Twin.ConflictNextUpdates(2)
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	var cust map[string]any
	for _, c := range qb.Twin.Records(quickbooks.EntityCustomer) {
		if c["Id"] == id {
			cust = c
		}
	}
	require.NotEmpty(t, cust["GivenName"], "the names were written after two re-reads")
	require.Len(t, qb.Twin.Records(quickbooks.EntityCustomer), 1)
	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Equal(t, id, receipts[0]["CustomerRef"].(map[string]any)["value"])
}

func TestQuickBooksDisplayNameClashGetsTheEmail(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	o, payload := env.Order(t)
	var p struct {
		Customer struct {
			First string `json:"first_name"`
			Last  string `json:"last_name"`
		} `json:"customer"`
	}
	require.NoError(t, json.Unmarshal(payload, &p))
	name := strings.TrimSpace(p.Customer.First + " " + p.Customer.Last)
	require.NotEmpty(t, name)
	qb.Twin.AddCustomer(name, "someone.else@example.com")
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	var names []string
	for _, c := range qb.Twin.Records(quickbooks.EntityCustomer) {
		names = append(names, c["DisplayName"].(string))
	}
	require.ElementsMatch(t, []string{name, name + " (" + o.Email + ")"}, names)
	// The next order of the same e-mail finds the suffixed customer.
	_, payload2 := env.Order(t)
	require.Equal(t, vocab.SyncSucceeded, qbSync(t, env, env.Deliver(t, "orders/create", payload2)).Status)
	require.Len(t, qb.Twin.Records(quickbooks.EntityCustomer), 2)
}

func TestQuickBooksRefreshRotatedMidRun(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	first := storedToken(t, env, qb.Conn.ID)
	_, payload := env.Order(t)
	require.Equal(t, vocab.SyncSucceeded, qbSync(t, env, env.Deliver(t, "orders/create", payload)).Status)
	second := storedToken(t, env, qb.Conn.ID)
	require.NotEqual(t, first.Token, second.Token, "the first refresh rotated the token, and it was stored")
	require.Equal(t, first.Token, second.Previous, "the one before it is kept")
	require.False(t, second.HardExpiresAt.IsZero(), "the 5-year limit is kept")

	qb.Twin.ExpireAccessTokens() // the access token dies between two orders
	_, payload = env.Order(t)
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	third := storedToken(t, env, qb.Conn.ID)
	require.NotEqual(t, second.Token, third.Token)
	require.True(t, qb.Twin.ValidRefreshToken(third.Token))
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 2)
}

func TestQuickBooksCrashBetweenRefreshAndSave(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	kept := storedToken(t, env, qb.Conn.ID)
	// Another replica refreshed with the stored token and died before it
	// saved the new one: QuickBooks rotated, the database did not.
	id, secret := qb.Twin.ClientCredentials()
	crashed, err := quickbooks.NewClient(quickbooks.Config{BaseURL: qb.URL, TokenURL: qbsandbox.TokenURL(qb.URL), RealmID: qb.Twin.RealmID(),
		ClientID: id, ClientSecret: secret, RefreshToken: kept.Token})
	require.NoError(t, err)
	_, err = crashed.CompanyInfo(context.Background())
	require.NoError(t, err)
	require.Equal(t, kept.Token, storedToken(t, env, qb.Conn.ID).Token, "nothing was saved")

	_, payload := env.Order(t)
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.NotEqual(t, kept.Token, storedToken(t, env, qb.Conn.ID).Token, "the next run refreshed from the kept token and stored the new one")

	// Once QuickBooks refuses every token, the failure says what to do.
	qb.Twin.RevokeRefreshTokens()
	qb.Twin.ExpireAccessTokens()
	_, payload = env.Order(t)
	s = qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassAuth, s.Class())
	require.Contains(t, s.Message, "Connect to QuickBooks")
}

func TestQuickBooksOrderBadPayloadFailsAlone(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	_, payload := env.Order(t)
	bad := withFields(t, payload, map[string]any{"total_discounts": "lots"})
	s := qbSync(t, env, env.Deliver(t, "orders/create", bad))
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Contains(t, s.Message, "discount Crossdock cannot read")
	_, good := env.Order(t)
	require.Equal(t, vocab.SyncSucceeded, qbSync(t, env, env.Deliver(t, "orders/create", bytes.Clone(good))).Status)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1)
}

func mustBox(t *testing.T) *secretbox.Box {
	t.Helper()
	box, err := secretbox.New(secretKey)
	require.NoError(t, err)
	return box
}

package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

func flowSync(t *testing.T, env *enginetest.Env, eventID int64, flow string) store.Sync {
	t.Helper()
	for _, s := range env.EndedSyncs(t, eventID) {
		if s.Flow == flow {
			return s
		}
	}
	t.Fatalf("event %d planned no %s sync", eventID, flow)
	return store.Sync{}
}

func TestQuickBooksCustomerOncePerEmail(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	env.SourceRule(t, store.SourceRuleInput{Family: vocab.Customers, Master: env.ShopConn.ID, Receivers: []int64{qb.Conn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	c := env.Shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.com"})
	payload, err := env.Shop.CustomerPayload(c.GID())
	require.NoError(t, err)
	qb.Twin.AddCustomer("Grace Hopper", "") // a namesake without an e-mail
	s := flowSync(t, env, env.Deliver(t, "customers/create", payload), "customers.shopify_quickbooks")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, `"Grace Hopper (grace@example.com)"`)
	// Replayed: found by e-mail, nothing created again.
	r, err := env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "nothing else was written")
	require.Len(t, qb.Twin.Records(quickbooks.EntityCustomer), 2)
}

func TestQuickBooksRefundBecomesARefundReceipt(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	env.SourceRule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: env.ShopConn.ID, Receivers: []int64{qb.Conn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	o, payload := env.Order(t)

	// The refund arrives before its order reached QuickBooks: it waits.
	_, refund := refundPayload(t, o, 1)
	early := env.Deliver(t, "refunds/create", refund)
	enginetest.Wait(t, "the refund to wait for its order", func() bool {
		ss, err := env.St.SyncsOfWebhookEvent(context.Background(), early)
		require.NoError(t, err)
		for _, s := range ss {
			if s.Flow == "refunds.shopify_quickbooks" && s.Attempts >= 1 {
				require.NotEqual(t, vocab.SyncSucceeded, s.Status)
				return true
			}
		}
		return false
	})
	require.Equal(t, vocab.SyncSucceeded, qbSync(t, env, env.Deliver(t, "orders/create", payload)).Status)
	s := flowSync(t, env, early, "refunds.shopify_quickbooks")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "as refund receipt R")
	refunds := qb.Twin.Records(quickbooks.EntityRefundReceipt)
	require.Len(t, refunds, 1)
	receipt := qb.Twin.Records(quickbooks.EntitySalesReceipt)[0]
	require.Equal(t, receipt["CustomerRef"].(map[string]any)["value"], refunds[0]["CustomerRef"].(map[string]any)["value"])
	// Replayed: found by its number.
	r, err := env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Len(t, qb.Twin.Records(quickbooks.EntityRefundReceipt), 1)
}

// A repeat buyer's customer is remembered between orders; made inactive in
// QuickBooks meanwhile, the next order is refused (610), looks the customer
// up again and goes to a new one, once.
func TestQuickBooksRememberedCustomerMadeInactive(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil)
	_, first := env.Order(t)
	s1 := qbSync(t, env, env.Deliver(t, "orders/create", first))
	require.Equal(t, vocab.SyncSucceeded, s1.Status, s1.Message)
	customers := qb.Twin.Records(quickbooks.EntityCustomer)
	require.Len(t, customers, 1)
	old := customers[0]["Id"].(string)

	// The second order of the same buyer: one request, its receipt.
	calls, _ := qb.Twin.Calls()
	_, second := env.Order(t)
	s2 := qbSync(t, env, env.Deliver(t, "orders/create", second))
	require.Equal(t, vocab.SyncSucceeded, s2.Status, s2.Message)
	after, _ := qb.Twin.Calls()
	require.Equal(t, 1, after-calls, "the receipt created, nothing looked up: the customer remembered, the number not asked on a first attempt")

	// Someone merges the customer away in QuickBooks (it becomes inactive).
	require.True(t, qb.Twin.MakeInactive(quickbooks.EntityCustomer, old))
	_, third := env.Order(t)
	s3 := qbSync(t, env, env.Deliver(t, "orders/create", third))
	require.Equal(t, vocab.SyncSucceeded, s3.Status, s3.Message)
	require.Equal(t, 1, s3.Attempts, "looked up again within the attempt")
	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Len(t, receipts, 3)
	now := receipts[2]["CustomerRef"].(map[string]any)["value"]
	require.NotEqual(t, old, now, "the third receipt names the active customer")
	require.Len(t, qb.Twin.Records(quickbooks.EntityCustomer), 2)
}

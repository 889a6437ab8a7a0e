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

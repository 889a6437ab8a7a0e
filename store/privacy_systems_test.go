package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// privacyFixture is a shop and an ERP connection, and a customer's erasure
// requested by the shop.
func privacyFixture(t *testing.T, st *store.Store) (shop, erp store.Connection, requestID int64) {
	t.Helper()
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")
	shop, err = st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "shop.myshopify.com"}, Secrets: map[string]string{"access_token": "shpat_1", "api_secret": "s"}})
	require.NoError(t, err)
	erp, err = st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "ERP", Kind: vocab.KindOdoo, Environment: vocab.EnvTest,
		Settings: map[string]string{"url": "https://erp.example.com", "database": "db", "username": "bot"}, Secrets: map[string]string{"api_key": "k"}})
	require.NoError(t, err)
	now := time.Now()
	requestID, inserted, err := st.InsertPrivacyRequest(ctx, store.NewPrivacyRequest{ConnectionID: shop.ID, Kind: store.PrivacyCustomerRedact,
		ShopDomain: "shop.myshopify.com", CustomerID: "42", CustomerEmail: "ada@example.org", ReceivedAt: now, DueAt: now.Add(time.Hour)})
	require.NoError(t, err)
	require.True(t, inserted)
	return shop, erp, requestID
}

// An erasure to send is claimed once (held while it is sent), its failures
// keep the e-mail it needs and are not in the audit log, a found record lets
// the e-mail go, and an admin's "try again" applies to a settled erasure
// only, once.
func TestSystemErasureLifecycle(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	shop, erp, req := privacyFixture(t, st)
	admin := store.SystemActor("Ada Admin")

	require.NoError(t, st.SetErasureSetting(ctx, admin, erp.ID, true))
	require.ErrorIs(t, st.SetErasureSetting(ctx, admin, 999999, true), store.ErrNotFound)
	settings, err := st.ErasureSettings(ctx)
	require.NoError(t, err)
	require.Len(t, settings, 2)
	for _, s := range settings {
		require.Equal(t, s.ConnectionID == erp.ID, s.Send, s.Name)
	}

	require.NoError(t, st.PlanSystemErasures(ctx, []store.SystemErasure{
		{RequestID: req, ConnectionID: erp.ID, Outcome: store.SystemErasureSending, LookupEmail: "ada@example.org"},
		{RequestID: req, ConnectionID: shop.ID, Outcome: store.SystemErasureNotSupported, Detail: "not supported — erase by hand in Shop"},
	}))
	// Planned twice (a retried planning step): nothing changes.
	require.NoError(t, st.PlanSystemErasures(ctx, []store.SystemErasure{{RequestID: req, ConnectionID: erp.ID, Outcome: store.SystemErasureNotSent}}))

	w, err := st.ClaimSystemErasure(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, erp.ID, w.ConnectionID)
	require.Equal(t, "42", w.CustomerID)
	require.Equal(t, shop.ID, w.ShopConnectionID)
	require.Equal(t, "ada@example.org", w.LookupEmail)
	require.Equal(t, 1, w.Attempts)
	_, err = st.ClaimSystemErasure(ctx, time.Minute)
	require.ErrorIs(t, err, store.ErrNotFound, "held while it is sent")

	later := time.Now().Add(time.Hour)
	require.NoError(t, st.FinishSystemErasure(ctx, store.SystemErasureResult{RequestID: req, ConnectionID: erp.ID,
		Outcome: store.SystemErasureFailed, Detail: "failed: ERP did not answer", RetryAt: &later}))
	rows, err := st.SystemErasures(ctx, req)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "ERP", rows[0].ConnectionName)
	require.Equal(t, store.SystemErasureFailed, rows[0].Outcome)
	require.Equal(t, "ada@example.org", rows[0].LookupEmail, "kept to find the customer on the next try")
	require.ErrorIs(t, st.RetrySystemErasure(ctx, admin, req, shop.ID), store.ErrConflict, "nothing to send to a system that cannot erase")

	_, err = st.DB.ExecContext(ctx, `UPDATE privacy_system_erasures SET next_attempt_at = now() WHERE request_id = $1 AND connection_id = $2`, req, erp.ID)
	require.NoError(t, err)
	w, err = st.ClaimSystemErasure(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 2, w.Attempts)
	require.NoError(t, st.FinishSystemErasure(ctx, store.SystemErasureResult{RequestID: req, ConnectionID: erp.ID,
		Outcome: store.SystemErasureKept, Detail: "kept: open sale order S00042", RecordID: "7", Record: "contact #7"}))
	rows, err = st.SystemErasures(ctx, req)
	require.NoError(t, err)
	require.Equal(t, store.SystemErasureKept, rows[0].Outcome)
	require.Equal(t, "7", rows[0].RecordID)
	require.Empty(t, rows[0].LookupEmail, "found: the e-mail is no longer needed")
	require.Nil(t, rows[0].NextAttemptAt)

	require.NoError(t, st.RetrySystemErasure(ctx, admin, req, erp.ID))
	require.ErrorIs(t, st.RetrySystemErasure(ctx, admin, req, erp.ID), store.ErrConflict, "sending already")
	require.ErrorIs(t, st.RetrySystemErasure(ctx, admin, req+1, erp.ID), store.ErrNotFound)
	w, err = st.ClaimSystemErasure(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "7", w.RecordID, "the next try starts from the record found")

	entries, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "privacy_request"})
	require.NoError(t, err)
	var summaries []string
	for _, e := range entries {
		summaries = append(summaries, e.Summary)
	}
	require.Contains(t, summaries, fmt.Sprintf("Privacy request #%d in ERP: kept: open sale order S00042", req))
	require.Contains(t, summaries, fmt.Sprintf("Privacy request #%d: the erasure is sent to ERP again.", req))
	for _, s := range summaries {
		require.NotContains(t, s, "ada@example.org", "the audit log holds no personal data")
		require.NotContains(t, s, "did not answer", "a failure tried again later is not in the audit log")
	}
}

// A shop's erasure deletes in chunks no larger than asked, one step after
// the other, and only the shop's rows.
func TestShopErasureChunks(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	shop, erp, _ := privacyFixture(t, st)
	for i := range 12 {
		_, _, err := st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: shop.ID, WebhookID: fmt.Sprintf("s-%d", i), Topic: "orders/create", Payload: []byte(`{}`)})
		require.NoError(t, err)
	}
	for i := range 3 {
		_, _, err := st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: erp.ID, WebhookID: fmt.Sprintf("e-%d", i), Topic: "x", Payload: []byte(`{}`)})
		require.NoError(t, err)
	}
	now := time.Now()
	req, _, err := st.InsertPrivacyRequest(ctx, store.NewPrivacyRequest{ConnectionID: shop.ID, Kind: store.PrivacyShopRedact,
		ShopDomain: "shop.myshopify.com", ReceivedAt: now, DueAt: now.Add(time.Hour)})
	require.NoError(t, err)

	err = st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ClaimShopErasure(ctx)
		return err
	})
	require.ErrorIs(t, err, store.ErrNotFound, "an enabled shop waits for a confirmation")
	require.NoError(t, st.ConfirmShopErasure(ctx, store.SystemActor("Ada Admin"), req))
	require.ErrorIs(t, st.ConfirmShopErasure(ctx, store.SystemActor("Ada Admin"), req), store.ErrConflict)

	var deliveries []int
	for range 20 {
		var w store.ShopErasure
		done := false
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if w, err = tx.ClaimShopErasure(ctx); err != nil {
				return err
			}
			require.Equal(t, req, w.ID)
			step := w.Step
			n, stepDone, err := tx.EraseShopChunk(ctx, &w, 5)
			if err != nil {
				return err
			}
			if step == store.ShopStepDeliveries {
				deliveries = append(deliveries, n)
			}
			w.Counts[step] += n
			if stepDone {
				w.Step++
			}
			done = w.Step >= store.ShopStepDone
			return tx.AdvanceShopErasure(ctx, w, "step", done)
		}))
		if done {
			break
		}
	}
	require.Equal(t, []int{5, 5, 2}, deliveries, "12 deliveries, in chunks of at most 5")
	var left, theirs int
	require.NoError(t, st.DB.GetContext(ctx, &left, `SELECT count(*) FROM webhook_events WHERE connection_id = $1`, shop.ID))
	require.NoError(t, st.DB.GetContext(ctx, &theirs, `SELECT count(*) FROM webhook_events WHERE connection_id = $1`, erp.ID))
	require.Zero(t, left)
	require.Equal(t, 3, theirs)
	r, err := st.PrivacyRequestByID(ctx, req)
	require.NoError(t, err)
	require.Equal(t, store.PrivacyDone, r.Status)
}

package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// count runs a count query.
func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.st.DB.GetContext(context.Background(), &n, query, args...))
	return n
}

// shopRows counts what Crossdock holds of one connection.
func (e *env) shopRows(t *testing.T, id int64) map[string]int {
	t.Helper()
	return map[string]int{
		"syncs":            e.count(t, `SELECT count(*) FROM syncs WHERE source_connection_id = $1 OR target_connection_id = $1`, id),
		"webhook_events":   e.count(t, `SELECT count(*) FROM webhook_events WHERE connection_id = $1`, id),
		"external_records": e.count(t, `SELECT count(*) FROM external_records WHERE connection_id = $1`, id),
		"mapping_refs":     e.count(t, `SELECT count(*) FROM mapping_refs WHERE connection_id = $1`, id),
		"sync_watermarks":  e.count(t, `SELECT count(*) FROM sync_watermarks WHERE connection_id = $1`, id),
		"finance_rows":     e.count(t, `SELECT count(*) FROM finance_rows WHERE run_id IN (SELECT run_id FROM finance_runs WHERE connection_id = $1)`, id),
	}
}

// The proof of a shop's erasure: while the shop's connection is enabled it
// waits for an admin's confirmation; confirmed, it disables the connection
// and deletes the shop's syncs, deliveries, catalogue, mappings and marks,
// takes its credentials away, and keeps the audit log and the request — and
// another store's data, and Odoo's side of the mappings, stay.
func TestPrivacyShopRedactRemovesThatShopsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{realMappings: true})
	e.customersFromShopify(t)
	e.start(t)
	_, payload := e.order(t)
	placed := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, placed.Status, placed.Message)
	_, err := e.st.UpsertExternalRecords(ctx, e.shopConn.ID, "customer", []store.ExternalRecord{{ExternalID: "gid://shopify/Customer/77", Name: "Ada Byron", Email: "ada@example.org"}})
	require.NoError(t, err)

	// Another store, with data of its own.
	other, err := e.st.CreateConnection(ctx, store.SystemActor("test"), e.eng.SecretBox(), store.ConnectionInput{Name: "Other store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": "other.myshopify.com"}, Secrets: map[string]string{"access_token": "shpat_x", "api_secret": "s"}})
	require.NoError(t, err)
	_, _, err = e.st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: other.ID, WebhookID: "other-1", Topic: "orders/create",
		ShopDomain: "other.myshopify.com", Payload: []byte(`{"id":1}`)})
	require.NoError(t, err)
	_, err = e.st.UpsertExternalRecords(ctx, other.ID, "variant", []store.ExternalRecord{{ExternalID: "gid://shopify/ProductVariant/1", SKU: "OTHER-1"}})
	require.NoError(t, err)
	// A finance review of each store.
	for i, conn := range []int64{e.shopConn.ID, other.ID} {
		_, err = e.st.DB.ExecContext(ctx, `INSERT INTO finance_runs (run_id, connection_id) VALUES ($1, $2)`, 9000+i, conn)
		require.NoError(t, err)
		_, err = e.st.DB.ExecContext(ctx, `INSERT INTO finance_rows (run_id, variant_id, sku, price_differs, cost_missing, currency_differs)
VALUES ($1, 1, 'SKU-1', false, false, false)`, 9000+i)
		require.NoError(t, err)
	}
	otherBefore, odooBefore := e.shopRows(t, other.ID), e.shopRows(t, e.odooConn.ID)
	shopBefore := e.shopRows(t, e.shopConn.ID)
	for _, k := range []string{"syncs", "webhook_events", "external_records", "mapping_refs", "finance_rows"} {
		require.NotZero(t, shopBefore[k], "the shop holds %s before", k)
	}
	require.NotZero(t, odooBefore["mapping_refs"])

	evID := e.deliverPrivacy(t, "shop/redact", "evt-shop-redact", e.privacyFixture(t, "shop-redact.json"))
	require.Equal(t, store.WebhookProcessed, e.event(t, evID).Status)
	var req store.PrivacyRequest
	for _, r := range e.privacyRequests(t) {
		if r.Kind == store.PrivacyShopRedact {
			req = r
		}
	}
	require.NotZero(t, req.ID)

	// Enabled: it waits for an admin.
	s, err := e.eng.ShopErasure(ctx, req.ID, false)
	require.NoError(t, err)
	require.True(t, s.NeedsConfirmation)
	require.Contains(t, engine.ShopScopeSentence(s), "1 catalogue record")
	did, err := e.eng.EraseShopOnce(ctx)
	require.NoError(t, err)
	require.False(t, did, "nothing is erased before the confirmation")
	shopBefore["webhook_events"]++ // the shop/redact delivery itself
	require.Equal(t, shopBefore, e.shopRows(t, e.shopConn.ID))

	require.NoError(t, e.eng.ConfirmShopErasure(ctx, store.SystemActor("Ada Admin"), req.ID))
	require.ErrorIs(t, e.eng.ConfirmShopErasure(ctx, store.SystemActor("Ada Admin"), req.ID), store.ErrConflict)
	wait(t, "the shop's erasure", func() bool {
		r, err := e.st.PrivacyRequestByID(ctx, req.ID)
		require.NoError(t, err)
		req = r
		return r.Status == store.PrivacyDone
	})
	require.Contains(t, req.Progress, "Erased the data of "+e.shopConn.Name+" from Crossdock:")
	require.Contains(t, req.Progress, "the audit log and this request are kept")
	for k, n := range e.shopRows(t, e.shopConn.ID) {
		require.Zero(t, n, "the shop's %s are gone", k)
	}
	require.Equal(t, otherBefore, e.shopRows(t, other.ID), "another store's data stays")
	odooAfter := e.shopRows(t, e.odooConn.ID)
	require.Equal(t, odooBefore["mapping_refs"], odooAfter["mapping_refs"], "Odoo's side of the mappings stays")
	require.Equal(t, odooBefore["external_records"], odooAfter["external_records"])

	c, err := e.st.ConnectionByID(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.False(t, c.Enabled)
	require.Empty(t, c.Sealed, "the shop's credentials are gone")
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "privacy_request"})
	require.NoError(t, err)
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	require.Contains(t, actions, "privacy_request.received", "the audit log is kept")
	require.Contains(t, actions, "privacy_request.shop_erasure_confirmed")
	require.Contains(t, actions, "privacy_request.shop_erased")
}

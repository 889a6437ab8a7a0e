package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

type syncEnv struct {
	st         *store.Store
	shop, odoo store.Connection
}

func syncSetup(t *testing.T) syncEnv {
	t.Helper()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")
	shop, err := st.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(t, err)
	odoo, err := st.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
	require.NoError(t, err)
	return syncEnv{st: st, shop: shop, odoo: odoo}
}

func (e syncEnv) newSync(ref string, keys ...string) store.NewSync {
	return store.NewSync{Family: "orders", Direction: "shopify_to_odoo", Flow: "orders.shopify_odoo",
		SourceConnectionID: e.shop.ID, TargetConnectionID: e.odoo.ID, Trigger: store.TriggerWebhook, EntityType: "order",
		EntityRef: ref, EntityKey: ref, SearchKeys: keys, Payload: map[string]string{"id": ref}, IdempotencyKey: ref, MaxAttempts: 8}
}

func TestInsertSyncsOnceAndInOrder(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	evID, _, err := e.st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: e.shop.ID, WebhookID: "w1", Topic: "orders/create",
		ShopDomain: "s.myshopify.com", APIVersion: "2026-04", Payload: []byte(`{}`)})
	require.NoError(t, err)

	a, b := e.newSync("A", "SKU-1", " Sku-2 ", ""), e.newSync("B")
	a.WebhookEventID = evID
	b.Status, b.ErrorClass, b.Message = vocab.SyncFailed, vocab.ClassValidation, "No lines."
	b.Payload = []byte("{\"note\":\"\\u0000\"}") // valid JSON that jsonb refuses as is
	ids, err := e.st.InsertSyncs(ctx, []store.NewSync{a, b})
	require.NoError(t, err)
	require.Len(t, ids, 2)
	require.Less(t, ids[0], ids[1])

	got, err := e.st.SyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, "A", got.EntityRef)
	require.Equal(t, vocab.SyncPending, got.Status)
	require.Equal(t, []string{"sku-1", "sku-2"}, []string(got.SearchKeys))
	require.JSONEq(t, `{"id":"A"}`, string(got.Payload))
	require.Nil(t, got.Request)
	require.Nil(t, got.FinishedAt)
	got, err = e.st.SyncByID(ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, vocab.ClassValidation, got.Class())
	require.NotNil(t, got.FinishedAt, "a sync created failed has ended")
	require.JSONEq(t, `{"note":"\ufffd"}`, string(got.Payload))

	// The same delivery into the same target is one sync, whatever retries.
	again, err := e.st.InsertSyncs(ctx, []store.NewSync{e.newSync("C"), a})
	require.NoError(t, err)
	require.NotZero(t, again[0])
	require.Zero(t, again[1])

	// So is the same item of the same batch.
	item := e.newSync("item-1")
	item.ParentID = ids[1]
	first, err := e.st.InsertSyncs(ctx, []store.NewSync{item})
	require.NoError(t, err)
	second, err := e.st.InsertSyncs(ctx, []store.NewSync{item})
	require.NoError(t, err)
	require.NotZero(t, first[0])
	require.Zero(t, second[0])
	items, err := e.st.SyncItems(ctx, ids[1], 10)
	require.NoError(t, err)
	require.Len(t, items, 1)
}

func TestListSyncsFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	var all []store.NewSync
	for i := range 25 {
		s := e.newSync(fmt.Sprintf("#%d", 1000+i), fmt.Sprintf("SKU-%d", i%5))
		switch i % 5 {
		case 0:
			s.Status, s.ErrorClass = vocab.SyncFailed, vocab.ClassUnmapped
		case 1:
			s.Status, s.ErrorClass = vocab.SyncRejected, vocab.ClassOwnership
		case 2:
			s.Status = vocab.SyncSucceeded
		}
		all = append(all, s)
	}
	ids, err := e.st.InsertSyncs(ctx, all)
	require.NoError(t, err)

	tests := []struct {
		name string
		f    store.SyncFilter
		want int
	}{
		{"everything", store.SyncFilter{Limit: 100}, 25},
		{"problems", store.SyncFilter{Problems: true, Limit: 100}, 10},
		{"problems of a class", store.SyncFilter{Problems: true, ErrorClass: vocab.ClassUnmapped, Limit: 100}, 5},
		{"a status", store.SyncFilter{Status: vocab.SyncSucceeded, Limit: 100}, 5},
		{"by SKU, any case", store.SyncFilter{Search: "sku-3", Limit: 100}, 5},
		{"by order name", store.SyncFilter{Search: "#1007", Limit: 100}, 0}, // keys are what the flow gave
		{"by target", store.SyncFilter{TargetConnectionID: e.odoo.ID, Limit: 100}, 25},
		{"by source (none)", store.SyncFilter{SourceConnectionID: e.odoo.ID, Limit: 100}, 0},
		{"by family", store.SyncFilter{Family: "inventory", Limit: 100}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, more, err := e.st.ListSyncs(ctx, tc.f)
			require.NoError(t, err)
			require.False(t, more)
			require.Len(t, got, tc.want)
		})
	}

	// Keyset pages: newest first, no overlap, no gap.
	var seen []int64
	f := store.SyncFilter{Limit: 10}
	for {
		page, more, err := e.st.ListSyncs(ctx, f)
		require.NoError(t, err)
		for _, s := range page {
			seen = append(seen, s.ID)
			require.Nil(t, s.Payload, "lists leave the payload out")
		}
		if !more {
			break
		}
		last := page[len(page)-1]
		f.BeforeAt, f.BeforeID = last.CreatedAt, last.ID
	}
	require.Len(t, seen, 25)
	for i := range seen {
		require.Equal(t, ids[len(ids)-1-i], seen[i])
	}

	// Resolving takes a sync off the console.
	require.NoError(t, e.st.ResolveSync(ctx, ids[0]))
	got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Problems: true, ErrorClass: vocab.ClassUnmapped})
	require.NoError(t, err)
	require.Len(t, got, 4)
}

func TestSyncAttemptsAreRecorded(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	ids, err := e.st.InsertSyncs(ctx, []store.NewSync{e.newSync("A")})
	require.NoError(t, err)
	id := ids[0]

	s, err := e.st.BeginSyncAttempt(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 1, s.Attempts)
	require.Equal(t, vocab.SyncRunning, s.Status)
	require.JSONEq(t, `{"id":"A"}`, string(s.Payload))
	next := time.Now().Add(time.Minute)
	require.NoError(t, e.st.FinishSyncAttempt(ctx, store.SyncOutcome{ID: id, Attempt: 1, Status: vocab.SyncRetrying,
		ErrorClass: vocab.ClassTransient, Message: "Odoo is down.", Request: map[string]int{"n": 1},
		Response: map[string]int{"status": 502}, NextAttemptAt: next}))
	s, err = e.st.SyncByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, vocab.SyncRetrying, s.Status)
	require.WithinDuration(t, next, *s.NextAttemptAt, time.Millisecond)
	require.Nil(t, s.FinishedAt)
	require.True(t, s.Problem())

	s, err = e.st.BeginSyncAttempt(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, s.Attempts)
	require.NoError(t, e.st.FinishSyncAttempt(ctx, store.SyncOutcome{ID: id, Attempt: 2, Status: vocab.SyncSucceeded,
		Message: "Created.", Response: map[string]int{"id": 57}, TargetRef: "57"}))

	s, err = e.st.SyncByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, vocab.SyncSucceeded, s.Status)
	require.Empty(t, s.Class())
	require.JSONEq(t, `{"n":1}`, string(s.Request), "the request is kept from the attempt that sent it")
	require.JSONEq(t, `{"id":57}`, string(s.Response))
	require.Equal(t, "57", s.TargetRef)
	require.NotNil(t, s.FinishedAt)

	attempts, err := e.st.SyncAttempts(ctx, id)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, vocab.SyncFailed, attempts[0].Status)
	require.Equal(t, vocab.ClassTransient, *attempts[0].ErrorClass)
	require.JSONEq(t, `{"status":502}`, string(attempts[0].Response))
	require.Equal(t, vocab.SyncSucceeded, attempts[1].Status)
	require.Positive(t, attempts[1].Duration()+time.Nanosecond)

	_, err = e.st.BeginSyncAttempt(ctx, id)
	require.ErrorIs(t, err, store.ErrSyncDone, "an ended sync does not run again")
}

func TestWatermarksAcceptOnlyNewer(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	w := func(id string, at time.Time, digest string) store.Watermark {
		return store.Watermark{ConnectionID: e.shop.ID, EntityType: "order", ExternalID: id, Version: at, Digest: digest}
	}
	got, err := e.st.AdvanceWatermarks(ctx, []store.Watermark{w("a", t0, ""), w("b", t0, ""), w("a", t0, "")})
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, false}, got, "a duplicate within one batch is accepted once")

	got, err = e.st.AdvanceWatermarks(ctx, []store.Watermark{w("a", t0, ""), w("b", t0.Add(-time.Second), ""), w("c", t0, "")})
	require.NoError(t, err)
	require.Equal(t, []bool{false, false, true}, got, "equal and older versions are refused")

	got, err = e.st.AdvanceWatermarks(ctx, []store.Watermark{w("a", t0.Add(time.Second), ""), w("a", t0.Add(2*time.Second), "")})
	require.NoError(t, err)
	require.Equal(t, []bool{false, true}, got, "of two versions in one batch the newest wins")

	marks, err := e.st.Watermarks(ctx, e.shop.ID, "order", []string{"a", "b", "z"})
	require.NoError(t, err)
	require.True(t, marks["a"].Equal(t0.Add(2*time.Second)))
	require.True(t, marks["b"].Equal(t0))
	require.NotContains(t, marks, "z")

	// Sweeps: the same version is accepted again only with other content.
	got, err = e.st.AdvanceWatermarksOrEqual(ctx, []store.Watermark{w("q", t0, "5"), w("r", t0, "1")})
	require.NoError(t, err)
	require.Equal(t, []bool{true, true}, got)
	got, err = e.st.AdvanceWatermarksOrEqual(ctx, []store.Watermark{w("q", t0, "5"), w("r", t0, "2")})
	require.NoError(t, err)
	require.Equal(t, []bool{false, true}, got)
}

func TestWatermarksUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	// Ten replicas receive the same webhook at once: exactly one wins it.
	// require must fail the test from its own goroutine: errors are
	// collected and asserted after Wait.
	var wg sync.WaitGroup
	wins := make(chan bool, 10)
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			got, err := e.st.AdvanceWatermarks(ctx, []store.Watermark{{ConnectionID: e.shop.ID, EntityType: "order", ExternalID: "x", Version: t0}})
			if err != nil {
				errs <- err
				return
			}
			wins <- got[0]
		})
	}
	wg.Wait()
	close(wins)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	require.Equal(t, 1, n)
}

func TestLeases(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	ok, err := e.st.AcquireLease(ctx, "order:1:A", 10, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = e.st.AcquireLease(ctx, "order:1:A", 11, time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "held by another sync")
	ok, err = e.st.AcquireLease(ctx, "order:1:A", 10, time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "its holder renews it")
	require.NoError(t, e.st.ReleaseLease(ctx, "order:1:A", 11), "only the holder releases")
	ok, err = e.st.AcquireLease(ctx, "order:1:A", 11, time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, e.st.ReleaseLease(ctx, "order:1:A", 10))
	ok, err = e.st.AcquireLease(ctx, "order:1:A", 11, time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	time.Sleep(20 * time.Millisecond)
	ok, err = e.st.AcquireLease(ctx, "order:1:A", 12, time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease (its holder died) is taken over")
}

func TestClaimWebhookEventsSkipsLockedRows(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	for i := range 5 {
		_, _, err := e.st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: e.shop.ID, WebhookID: fmt.Sprint("w", i),
			Topic: "orders/create", ShopDomain: "s.myshopify.com", APIVersion: "2026-04", Payload: []byte(`{}`)})
		require.NoError(t, err)
	}
	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- e.st.InTx(context.Background(), func(tx *store.Tx) error {
			evs, err := tx.ClaimWebhookEvents(ctx, 3)
			if err != nil {
				return err
			}
			if len(evs) != 3 {
				return fmt.Errorf("claimed %d", len(evs))
			}
			close(holding)
			<-release
			return fmt.Errorf("crash") // rolled back: the events stay received
		})
	}()
	<-holding
	var claimed []store.WebhookEvent
	require.NoError(t, e.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimWebhookEvents(ctx, 10)
		if err != nil {
			return err
		}
		outs := make([]store.WebhookOutcome, len(claimed))
		for i, ev := range claimed {
			outs[i] = store.WebhookOutcome{ID: ev.ID, Status: store.WebhookProcessed}
		}
		return tx.MarkWebhookEvents(ctx, outs)
	}))
	require.Len(t, claimed, 2, "the other replica's rows are skipped, not waited for")
	require.Equal(t, "w3", claimed[0].WebhookID)
	close(release)
	require.EqualError(t, <-done, "crash")

	var left []store.WebhookEvent
	require.NoError(t, e.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		left, err = tx.ClaimWebhookEvents(ctx, 10)
		return err
	}))
	require.Len(t, left, 3, "a claim rolled back loses nothing")
}

func TestClaimSweepOncePerInterval(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	c, due, err := e.st.ClaimSweep(ctx, e.odoo.ID, "odoo_quants", time.Hour)
	require.NoError(t, err)
	require.True(t, due)
	require.Nil(t, c.PositionAt)
	_, due, err = e.st.ClaimSweep(ctx, e.odoo.ID, "odoo_quants", time.Hour)
	require.NoError(t, err)
	require.False(t, due, "not again within the hour")
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, e.st.SaveSyncCursor(ctx, store.SyncCursor{ConnectionID: e.odoo.ID, Name: "odoo_quants", PositionAt: &at, PositionID: 9}))
	c, due, err = e.st.ClaimSweep(ctx, e.odoo.ID, "odoo_quants", 0)
	require.NoError(t, err)
	require.True(t, due, "forced")
	require.True(t, at.Equal(*c.PositionAt))
	require.EqualValues(t, 9, c.PositionID)
}

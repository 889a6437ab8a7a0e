package store_test

import (
	"bytes"
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

func webhookSetup(t *testing.T, secret string) (*store.Store, *secretbox.Box, store.Connection) {
	t.Helper()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	c, err := st.CreateConnection(t.Context(), store.SystemActor("test"), box, store.ConnectionInput{Name: "Main store",
		Kind: vocab.KindShopify, Environment: vocab.EnvTest, Secrets: map[string]string{"api_secret": secret}})
	require.NoError(t, err)
	return st, box, c
}

func event(c store.Connection, webhookID, topic string) store.NewWebhookEvent {
	return store.NewWebhookEvent{ConnectionID: c.ID, WebhookID: webhookID, EventID: "evt-" + webhookID, Topic: topic,
		ShopDomain: "main.myshopify.com", APIVersion: "2026-04", Headers: map[string]string{"X-Shopify-Topic": topic},
		Payload: []byte(`{"id":1}`)}
}

func TestInsertWebhookEventOnceAndByteExact(t *testing.T) {
	t.Parallel()
	st, _, c := webhookSetup(t, "s")
	ctx := t.Context()
	// \u0000 is valid JSON that jsonb refuses: bytea keeps whatever Shopify signed.
	payload := []byte("{\"note\":\"\\u0000\",  \"total\": \"10.00\"}\n")
	e := event(c, "w-1", "orders/create")
	e.Payload = payload
	e.TriggeredAt = time.Date(2026, 4, 2, 9, 20, 11, 0, time.UTC)

	id, inserted, err := st.InsertWebhookEvent(ctx, e)
	require.NoError(t, err)
	require.True(t, inserted)
	again, inserted, err := st.InsertWebhookEvent(ctx, e)
	require.NoError(t, err)
	require.False(t, inserted, "the same webhook id is one delivery")
	require.Zero(t, again)

	got, err := st.WebhookEventByID(ctx, c.ID, id)
	require.NoError(t, err)
	require.Equal(t, payload, got.Payload)
	require.Equal(t, int64(len(payload)), got.PayloadSize)
	require.Equal(t, store.WebhookReceived, got.Status)
	require.True(t, e.TriggeredAt.Equal(*got.TriggeredAt))
	require.JSONEq(t, `{"X-Shopify-Topic":"orders/create"}`, string(got.Headers))

	_, err = st.WebhookEventByID(ctx, c.ID+1, id)
	require.ErrorIs(t, err, store.ErrNotFound, "an event is found only under its own connection")
}

func TestWebhookPayloadsKeepEveryByte(t *testing.T) {
	t.Parallel()
	st, _, c := webhookSetup(t, "s")
	tests := []struct {
		name    string
		payload []byte
	}{
		{"multibyte UTF-8", []byte(`{"title":"Crème brûlée 🍮","vendor":"Łódź"}`)},
		{"backslashes bytea would read as escapes", []byte(`{"note":"\\x41 \\\\ \\000"}`)},
		{"not UTF-8", []byte("{\"name\":\"caf\xe9\"}")},
		{"a raw NUL byte", []byte("{\"a\":\"\x00\"}")},
		{"empty", []byte{}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := event(c, fmt.Sprint("bytes-", i), "orders/create")
			e.Payload = tc.payload
			id, inserted, err := st.InsertWebhookEvent(t.Context(), e)
			require.NoError(t, err)
			require.True(t, inserted)
			got, err := st.WebhookEventByID(t.Context(), c.ID, id)
			require.NoError(t, err)
			require.Equal(t, tc.payload, got.Payload)
		})
	}
}

func TestListWebhookEventsPagesAndFilters(t *testing.T) {
	t.Parallel()
	st, _, c := webhookSetup(t, "s")
	ctx := t.Context()
	for i := range 7 {
		topic := "orders/create"
		if i%2 == 1 {
			topic = "products/update"
		}
		_, _, err := st.InsertWebhookEvent(ctx, event(c, fmt.Sprint("w-", i), topic))
		require.NoError(t, err)
	}
	_, err := st.DB.ExecContext(ctx, `UPDATE webhook_events SET status = 'failed' WHERE webhook_id = 'w-2'`)
	require.NoError(t, err)

	var seen []string
	f := store.WebhookEventFilter{ConnectionID: c.ID, Limit: 3}
	for page := 0; ; page++ {
		events, more, err := st.ListWebhookEvents(ctx, f)
		require.NoError(t, err)
		for _, e := range events {
			require.Empty(t, e.Payload, "lists leave payloads out")
			require.Equal(t, int64(8), e.PayloadSize)
			seen = append(seen, e.WebhookID)
		}
		if !more {
			require.Equal(t, 2, page)
			break
		}
		last := events[len(events)-1]
		f.BeforeAt, f.BeforeID = last.ReceivedAt, last.ID
	}
	require.Equal(t, []string{"w-6", "w-5", "w-4", "w-3", "w-2", "w-1", "w-0"}, seen, "newest first, each once")

	events, more, err := st.ListWebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: c.ID, Topic: "products/update"})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, events, 3)
	events, _, err = st.ListWebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: c.ID, Status: store.WebhookFailed})
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "w-2", events[0].WebhookID)

	topics, err := st.WebhookTopics(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"orders/create", "products/update"}, topics)
	topics, err = st.WebhookTopics(ctx, c.ID+1)
	require.NoError(t, err)
	require.Empty(t, topics)
}

func TestWebhookRejections(t *testing.T) {
	t.Parallel()
	st, _, c := webhookSetup(t, "s")
	ctx := t.Context()
	for i := range 3 {
		_, err := st.RecordWebhookRejection(ctx, store.NewWebhookRejection{ConnectionID: c.ID, Reason: store.RejectBadSignature,
			Detail: "Signature did not match", StatusCode: 401, WebhookID: fmt.Sprint("w-", i), Body: []byte("abc"), BodySize: 10,
			Headers: map[string]string{"X-Shopify-Topic": "orders/create"}, RemoteAddr: "203.0.113.9"})
		require.NoError(t, err)
	}
	rs, more, err := st.ListWebhookRejections(ctx, store.WebhookRejectionFilter{ConnectionID: c.ID, Limit: 2})
	require.NoError(t, err)
	require.True(t, more)
	require.Equal(t, "w-2", rs[0].WebhookID)
	require.Empty(t, rs[0].Body, "lists leave bodies out")
	rs2, more, err := st.ListWebhookRejections(ctx, store.WebhookRejectionFilter{ConnectionID: c.ID, Limit: 2, BeforeAt: rs[1].ReceivedAt, BeforeID: rs[1].ID})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, rs2, 1)
	require.Equal(t, "w-0", rs2[0].WebhookID)

	r, err := st.WebhookRejectionByID(ctx, c.ID, rs2[0].ID)
	require.NoError(t, err)
	require.Equal(t, []byte("abc"), r.Body)
	require.Equal(t, int64(3), r.BodyStored)
	require.Equal(t, int64(10), r.BodySize)

	n, err := st.CountRecentWebhookRejections(ctx, c.ID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = st.CountRecentWebhookRejections(ctx, c.ID, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestWebhookTargetsCacheSecrets(t *testing.T) {
	t.Parallel()
	st, box, c := webhookSetup(t, "first")
	ctx := t.Context()
	a := store.SystemActor("test")
	targets := st.NewWebhookTargets(box, time.Hour)

	got, err := targets.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookTarget{ConnectionID: c.ID, Kind: vocab.KindShopify, Enabled: true, Settings: map[string]string{}, Secrets: []string{"first"}}, got)

	_, err = st.UpdateConnection(ctx, a, box, c.ID, store.ConnectionInput{Name: c.Name, Kind: c.Kind, Environment: c.Environment,
		Secrets: map[string]string{"api_secret": "second"}})
	require.NoError(t, err)
	got, err = targets.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"first"}, got.Secrets, "cached until the TTL or a refresh")

	// The first refresh is rate-limited against the load that just happened.
	_, refreshed, err := targets.Refresh(ctx, c.ID)
	require.NoError(t, err)
	require.False(t, refreshed, "at most one forced read a second")

	// A cache with no TTL to speak of reads the row every time.
	fresh := st.NewWebhookTargets(box, time.Nanosecond)
	got, err = fresh.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"second", "first"}, got.Secrets, "current, then previous during the grace period")

	_, err = st.SetConnectionEnabled(ctx, a, c.ID, false)
	require.NoError(t, err)
	got, err = fresh.Target(ctx, c.ID)
	require.NoError(t, err)
	require.False(t, got.Enabled, "a change of updated_at is seen")

	_, err = st.DB.ExecContext(ctx, `UPDATE connections SET previous_secret_valid_until = now() - interval '1 second', updated_at = now() WHERE id = $1`, c.ID)
	require.NoError(t, err)
	got, err = fresh.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"second"}, got.Secrets, "the previous secret ends with its grace period")

	_, err = fresh.Target(ctx, c.ID+100)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestWebhookTargetsNeverCachePastTheGracePeriod(t *testing.T) {
	t.Parallel()
	st, box, c := webhookSetup(t, "first")
	ctx := t.Context()
	_, err := st.UpdateConnection(ctx, store.SystemActor("test"), box, c.ID, store.ConnectionInput{Name: c.Name, Kind: c.Kind,
		Environment: c.Environment, Secrets: map[string]string{"api_secret": "second"}})
	require.NoError(t, err)
	// The grace period ends at until; the cache's TTL is an hour. The
	// cache's clock is moved past until rather than slept past it, so a
	// slow machine cannot reach the end before the first read.
	until := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	_, err = st.DB.ExecContext(ctx, `UPDATE connections SET previous_secret_valid_until = $2 WHERE id = $1`, c.ID, until)
	require.NoError(t, err)
	targets := st.NewWebhookTargets(box, time.Hour)
	now := until.Add(-time.Millisecond)
	store.SetWebhookTargetsClock(targets, func() time.Time { return now })
	got, err := targets.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"second", "first"}, got.Secrets)
	now = until.Add(time.Millisecond)
	got, err = targets.Target(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"second"}, got.Secrets, "the entry expired with the previous secret")
}

func TestUnsignedWebhookRejectionsAreABoundedSampleCappedPerHour(t *testing.T) {
	t.Parallel()
	st, box, c := webhookSetup(t, "s")
	other, err := st.CreateConnection(t.Context(), store.SystemActor("test"), box, store.ConnectionInput{Name: "Second store",
		Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(t, err)
	ctx := t.Context()
	hour := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	body := bytes.Repeat([]byte("x"), 64<<10)
	reject := func(conn int64, at time.Time, signed bool) (int64, error) {
		return st.RecordWebhookRejection(ctx, store.NewWebhookRejection{ConnectionID: conn, Reason: store.RejectBadSignature,
			Detail: "Signature did not match", StatusCode: 401, Body: body, BodySize: int64(len(body)), Signed: signed, ReceivedAt: at})
	}

	// A flood, from several clients at once, within one hour.
	const sent = store.RejectionsKeptPerHour + 25
	var wg sync.WaitGroup
	errs := make(chan error, sent)
	for i := range sent {
		wg.Go(func() {
			_, err := reject(c.ID, hour.Add(time.Duration(i)*time.Second), false)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var kept []struct {
		Stored int64 `db:"stored"`
		Size   int64 `db:"body_size"`
	}
	require.NoError(t, st.DB.SelectContext(ctx, &kept, `SELECT octet_length(body) AS stored, body_size FROM webhook_rejections WHERE connection_id = $1`, c.ID))
	require.Len(t, kept, store.RejectionsKeptPerHour, "only the hour's sample is stored")
	for _, k := range kept {
		require.Equal(t, int64(store.RejectionSampleBytes), k.Stored, "the body is cut to the sample size")
		require.Equal(t, int64(len(body)), k.Size, "the size sent is kept")
	}
	dropped, err := st.DroppedWebhookRejections(ctx, c.ID, hour.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(25), dropped, "the rest are counted")
	wf, err := st.WebhookFailuresSince(ctx, hour.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, sent, wf.Rejected, "the alert on rejected webhooks counts the ones not kept too")

	// A delivery with a valid signature is Shopify's own: kept whole, always.
	id, err := reject(c.ID, hour.Add(30*time.Minute), true)
	require.NoError(t, err)
	r, err := st.WebhookRejectionByID(ctx, c.ID, id)
	require.NoError(t, err)
	require.Len(t, r.Body, len(body))
	// The next hour, and another connection, have their own samples.
	id, err = reject(c.ID, hour.Add(time.Hour), false)
	require.NoError(t, err)
	require.NotZero(t, id)
	id, err = reject(other.ID, hour.Add(time.Minute), false)
	require.NoError(t, err)
	require.NotZero(t, id)
	dropped, err = st.DroppedWebhookRejections(ctx, other.ID, hour.Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, dropped)

	// Retention: what is older than the cutoff goes, rejections and counts.
	n, err := st.PruneWebhookRejections(ctx, hour.Add(time.Hour), 40)
	require.NoError(t, err)
	require.Equal(t, int64(40), n, "one batch at a time")
	for n == 40 {
		n, err = st.PruneWebhookRejections(ctx, hour.Add(time.Hour), 40)
		require.NoError(t, err)
	}
	var left int
	require.NoError(t, st.DB.GetContext(ctx, &left, `SELECT count(*) FROM webhook_rejections`))
	require.Equal(t, 1, left, "only the rejection of the next hour is left")
	dropped, err = st.DroppedWebhookRejections(ctx, c.ID, hour.Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, dropped, "the counts of the pruned hours went with them")
}

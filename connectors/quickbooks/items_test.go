package quickbooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	"crossdock/connectors/quickbooks/sandbox"
)

// steppingClock is a twin's clock that moves one second on every reading,
// so each seeded or edited record has a time of its own.
func steppingClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

func TestItemsReadWithStockPriceAndCost(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{Items: []sandbox.SeedItem{
		{SKU: "TENT-1", Name: "Tent", Price: 120, Cost: 70, Inventory: true, Qty: 12},
		{SKU: "GIFT-1", Name: "Gift wrap", Price: 4},
	}})
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	id, ok := tw.srv.ItemBySKU("TENT-1")
	require.True(t, ok)
	it, err := cl.Item(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "Tent", it.Name)
	require.Equal(t, "TENT-1", it.Sku)
	require.Equal(t, 120.0, it.UnitPrice)
	require.Equal(t, 70.0, it.PurchaseCost)
	require.Equal(t, 12.0, it.QtyOnHand)
	require.True(t, it.TracksQuantity())
	require.False(t, it.Updated().IsZero())

	gift, _ := tw.srv.ItemBySKU("GIFT-1")
	// An inactive item is still read by id; an unknown id is left out.
	_, ok = tw.srv.EditItem(gift, map[string]any{"Active": false})
	require.True(t, ok)
	items, err := cl.ItemsByID(ctx, []string{id, gift, "999999"})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.False(t, items[1].TracksQuantity())

	_, err = cl.Item(ctx, "999999")
	require.True(t, quickbooks.IsKind(err, quickbooks.KindNotFound), "%v", err)
}

// More than 1000 items changed: a change data capture answer holds 1000,
// and which 1000 QuickBooks keeps is not documented — the twin keeps the
// oldest or the newest — so a full answer is set aside and the items are
// read by query: every change is listed once either way, edits made since
// are found from a later time, and a window older than 30 days is refused
// as QuickBooks refuses it.
func TestItemsChangedSinceListsAFullWindowWhicheverEndQuickBooksKeeps(t *testing.T) {
	t.Parallel()
	for _, newest := range []bool{false, true} {
		t.Run(fmt.Sprintf("newest kept %v", newest), func(t *testing.T) {
			t.Parallel()
			start := time.Now().Add(-2 * time.Hour)
			var seed []sandbox.SeedItem
			for i := range 2500 {
				seed = append(seed, sandbox.SeedItem{SKU: fmt.Sprintf("S-%04d", i), Price: 1})
			}
			tw := newTwin(t, sandbox.Options{Items: seed, Now: steppingClock(start), CDCNewest: newest})
			cl := tw.client(t, nil, nil)
			ctx := context.Background()

			// One answer is capped at 1000, from the end the twin keeps.
			ch, err := cl.CDC(ctx, []string{quickbooks.EntityItem}, start)
			require.NoError(t, err)
			require.Len(t, ch[quickbooks.EntityItem], quickbooks.CDCLimit)
			var first quickbooks.Item
			require.NoError(t, json.Unmarshal(ch[quickbooks.EntityItem][0], &first))
			require.Equal(t, !newest, first.Sku < "S-1000", "the answer kept the %s changes", map[bool]string{false: "oldest", true: "newest"}[newest])

			items, err := cl.ItemsChangedSince(ctx, start)
			require.NoError(t, err)
			require.Len(t, items, 2500)
			seen := map[string]bool{}
			for _, it := range items {
				require.False(t, seen[it.Sku], "%s listed twice", it.Sku)
				seen[it.Sku] = true
			}

			// An edit after the first read is found from a later time.
			id, _ := tw.srv.ItemBySKU("S-0007")
			ch1, ok := tw.srv.EditItem(id, map[string]any{"UnitPrice": 9.5})
			require.True(t, ok)
			items, err = cl.ItemsChangedSince(ctx, ch1.At.Add(-time.Millisecond))
			require.NoError(t, err)
			require.Len(t, items, 1)
			require.Equal(t, 9.5, items[0].UnitPrice)

			_, err = cl.ItemsChangedSince(ctx, time.Now().Add(-quickbooks.CDCLookBack-24*time.Hour))
			require.True(t, quickbooks.IsKind(err, quickbooks.KindValidation), "%#v", err)
		})
	}
}

// BenchmarkItemsChangedSince reads QB_BENCH_ITEMS [5,000] changed items
// from the twin — a full change data capture answer, then the query's pages
// of 1000 — and reports the items read a second and the calls made
// (items ÷ 1000 + 2 expected).
func BenchmarkItemsChangedSince(b *testing.B) {
	n := envInt("QB_BENCH_ITEMS", 5000)
	start := time.Now().Add(-24 * time.Hour)
	seed := make([]sandbox.SeedItem, n)
	for i := range seed {
		seed[i] = sandbox.SeedItem{SKU: fmt.Sprintf("B-%05d", i), Price: 10, Cost: 4, Inventory: true, Qty: 3}
	}
	tw := newTwinTB(b, sandbox.Options{Items: seed, Now: steppingClock(start)})
	id, secret := tw.srv.ClientCredentials()
	cl, err := quickbooks.NewClient(quickbooks.Config{BaseURL: tw.url, TokenURL: sandbox.TokenURL(tw.url), RealmID: tw.srv.RealmID(),
		ClientID: id, ClientSecret: secret, RefreshToken: tw.srv.IssueRefreshToken(), RatePerMinute: 1e6})
	require.NoError(b, err)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		before, _ := tw.srv.Calls()
		items, err := cl.ItemsChangedSince(ctx, start)
		require.NoError(b, err)
		require.Len(b, items, n)
		after, _ := tw.srv.Calls()
		b.ReportMetric(float64(after-before), "calls/op")
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
}

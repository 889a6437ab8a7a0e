package shopify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A restore rate near zero in Shopify's answer once made the wait overflow
// into a negative duration: callers did not wait at all and spun.
func TestBucketWaitIsBoundedWhateverShopifyReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ts   ThrottleStatus
		cost float64
		want time.Duration
	}{
		{"restore rate near zero", ThrottleStatus{MaximumAvailable: 2000, CurrentlyAvailable: 0, RestoreRate: 1e-300}, 10, maxRefillWait},
		{"hugely negative availability", ThrottleStatus{MaximumAvailable: 1e300, CurrentlyAvailable: -1e300, RestoreRate: 100}, 10, maxRefillWait},
		{"an ordinary refill", ThrottleStatus{MaximumAvailable: 2000, CurrentlyAvailable: 0, RestoreRate: 100}, 50, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := NewBucket()
			var slept []time.Duration
			b.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			// Reported in the future, so that no refill happens before Wait.
			b.Update(tc.ts, time.Now().Add(time.Hour))
			require.NoError(t, b.Wait(context.Background(), tc.cost))
			require.Equal(t, []time.Duration{tc.want}, slept)
		})
	}
}

package shopify

import (
	"context"
	"math"
	"sync"
	"time"
)

// ThrottleStatus is extensions.cost.throttleStatus of a GraphQL answer.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Cost is extensions.cost of a GraphQL answer. ActualQueryCost is nil on a throttled answer.
type Cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// Bucket is the client's estimate of Shopify's leaky bucket for one app and shop.
// It knows nothing until the first answer carries a throttle status; the size
// and restore rate always come from Shopify, never from a constant.
type Bucket struct {
	mu        sync.Mutex
	known     bool
	max       float64
	available float64
	rate      float64
	at        time.Time
	// pending is the cost of requests reserved but not answered yet: Shopify's
	// reported status does not include them, so it is subtracted from it.
	pending float64
	sleep   func(ctx context.Context, d time.Duration) error
}

// NewBucket returns an empty-knowledge bucket.
func NewBucket() *Bucket { return &Bucket{sleep: sleepCtx} }

// Update records the throttle status Shopify reported at time at.
func (b *Bucket) Update(ts ThrottleStatus, at time.Time) {
	if ts.MaximumAvailable <= 0 || ts.RestoreRate <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known = true
	b.max = ts.MaximumAvailable
	b.available = ts.CurrentlyAvailable - b.pending
	b.rate = ts.RestoreRate
	b.at = at
}

// settle marks a reserved cost as answered (or never sent).
func (b *Bucket) settle(cost float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = math.Max(0, b.pending-cost)
}

// Available estimates the points available at now. It returns +Inf before
// Shopify has reported anything.
func (b *Bucket) Available(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		return math.Inf(1)
	}
	return b.availableLocked(now)
}

func (b *Bucket) availableLocked(now time.Time) float64 {
	el := now.Sub(b.at).Seconds()
	if el < 0 {
		el = 0
	}
	return math.Min(b.max, b.available+el*b.rate)
}

// Wait reserves cost points and sleeps exactly as long as the bucket needs to
// refill to cover them. Reserving before sleeping makes concurrent callers
// queue behind each other instead of all waking at once and being throttled.
func (b *Bucket) Wait(ctx context.Context, cost float64) error {
	b.mu.Lock()
	if !b.known {
		b.pending += cost
		b.mu.Unlock()
		return ctx.Err()
	}
	if cost > b.max {
		// Shopify refuses such a query anyway (MAX_COST_EXCEEDED); don't wait forever.
		cost = b.max
	}
	now := time.Now()
	avail := b.availableLocked(now) - cost
	b.available, b.at = avail, now
	b.pending += cost
	rate := b.rate
	b.mu.Unlock()
	if avail >= 0 {
		return ctx.Err()
	}
	return b.sleep(ctx, refillWait(-avail, rate))
}

// maxRefillWait bounds one wait on the bucket. Shopify's buckets refill in
// about 20 seconds; a longer wait comes from numbers that cannot be right (a
// restore rate near zero), and asking again gets fresh ones.
const maxRefillWait = time.Minute

// refillWait is how long rate points a second take to refill deficit points.
// The division can overflow a Duration, which would wrap to a negative wait
// and make callers spin: it is bounded first.
func refillWait(deficit, rate float64) time.Duration {
	secs := deficit / rate
	if !(secs < maxRefillWait.Seconds()) { // also NaN
		return maxRefillWait
	}
	return time.Duration(secs * float64(time.Second))
}

// refund gives back reserved points when a request never reached Shopify.
func (b *Bucket) refund(cost float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = math.Max(0, b.pending-cost)
	if b.known {
		b.available = math.Min(b.max, b.available+cost)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package engine

import (
	"context"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// limiter holds, per target connection, a concurrency limit and a circuit
// breaker. Both live in memory, per replica: a breaker opened here does not
// open on the other replicas (each learns on its own after a few failures),
// and the concurrency limit multiplies by the number of replicas. The
// breakers' states are published to the database (replica_state.go) so that
// alerts and metrics see every replica's.
type limiter struct {
	size      int
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	// changed is called (outside the lock) when a breaker opens or closes.
	changed func()

	mu    sync.Mutex
	conns map[int64]*connState
}

type connState struct {
	slots chan struct{}
	// Breaker: consecutive failures; while openUntil is in the future the
	// breaker is open. After it, one probe goes through (half open): its
	// success closes the breaker, its failure opens it again for longer.
	failures  int
	opens     int
	openUntil time.Time
	probing   bool
}

func newLimiter(size, threshold int, cooldown time.Duration) *limiter {
	return &limiter{size: size, threshold: threshold, cooldown: cooldown, now: time.Now, conns: map[int64]*connState{}}
}

func (l *limiter) state(id int64) *connState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.conns[id]
	if s == nil {
		s = &connState{slots: make(chan struct{}, l.size)}
		l.conns[id] = s
	}
	return s
}

// admit says whether a sync against connection id may run now. When the
// breaker is open it answers how long to wait; in half-open state it lets
// exactly one probe through.
func (l *limiter) admit(id int64) (wait time.Duration, ok bool) {
	s := l.state(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	switch {
	case now.Before(s.openUntil):
		return s.openUntil.Sub(now), false
	case s.failures >= l.threshold && s.probing:
		return time.Second, false // a probe is out; wait for its verdict
	case s.failures >= l.threshold:
		s.probing = true
	}
	return 0, true
}

// acquire takes one of the connection's slots, waiting at most patience. A
// sync that cannot get one is snoozed by its caller, so a slow system holds
// at most patience of a queue worker's time, never the worker.
func (l *limiter) acquire(ctx context.Context, id int64, patience time.Duration) (release func(), ok bool) {
	s := l.state(id)
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	default:
	}
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// record feeds an outcome to the breaker: systemFailure is true for failures
// that say the system is in trouble; neutral outcomes (a record refused) pass
// false with success false.
func (l *limiter) record(id int64, success, systemFailure bool) {
	s := l.state(id)
	l.mu.Lock()
	wasProbe, wasOpen := s.probing, !s.openUntil.IsZero()
	s.probing = false
	switch {
	case success:
		s.failures, s.opens, s.openUntil = 0, 0, time.Time{}
	case systemFailure:
		s.failures++
		if s.failures >= l.threshold {
			s.opens++
			d := l.cooldown << min(s.opens-1, 4)
			s.openUntil = l.now().Add(min(d, 5*time.Minute))
		}
	case wasProbe:
		// A neutral answer still proves the system answers.
		s.failures, s.opens, s.openUntil = 0, 0, time.Time{}
	}
	changed := wasOpen != !s.openUntil.IsZero() || (systemFailure && s.failures >= l.threshold)
	l.mu.Unlock()
	if changed && l.changed != nil {
		l.changed()
	}
}

// cancelProbe gives the half-open probe back when the probing sync did not
// run after all (no slot, lease busy).
func (l *limiter) cancelProbe(id int64) {
	s := l.state(id)
	l.mu.Lock()
	s.probing = false
	l.mu.Unlock()
}

// backoff is the delay before retry number attempt (1 = the first retry) of a
// sync: base·2^(attempt-1), with ±25 % jitter so that the syncs failed by one
// outage do not all come back in the same second. The jitter is derived from
// the sync id and attempt, so the delay shown and the delay used agree.
func backoff(base time.Duration, syncID int64, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 20)
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(syncID, 10) + "/" + strconv.Itoa(attempt)))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	jitter := 0.75 + r.Float64()/2 // 0.75 .. 1.25
	return time.Duration(float64(d) * jitter)
}

// jittered spreads short waits (snoozes) over [d/2, d·3/2).
func jittered(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"crossdock/store"
)

// Connection health comes from the engine's real traffic: every HTTP call a
// connector makes through the engine (syncs, scheduled checks, comparisons)
// is noted in memory, per connection, and the notes are written to the
// connection at most every StatePublishInterval (with the breaker states) —
// one UPDATE per connection that had calls, never one write per call.

// callHealth holds the calls not yet written, per connection.
type callHealth struct {
	mu    sync.Mutex
	conns map[int64]*callNote
	now   func() time.Time
}

type callNote struct {
	okAt, failedAt time.Time
	failure        string
	ok, failed     int
}

func newCallHealth() *callHealth {
	return &callHealth{conns: map[int64]*callNote{}, now: time.Now}
}

// note records one call's outcome: ok when the system answered; failure in
// plain words otherwise.
func (h *callHealth) note(id int64, ok bool, failure string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.conns[id]
	if n == nil {
		n = &callNote{}
		h.conns[id] = n
	}
	t := h.now()
	if ok {
		n.okAt = t
		n.ok++
		return
	}
	n.failedAt, n.failure = t, failure
	n.failed++
}

// take returns the calls noted since the last take, and forgets them.
func (h *callHealth) take() []store.ConnectionTraffic {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]store.ConnectionTraffic, 0, len(h.conns))
	for id, n := range h.conns {
		t := store.ConnectionTraffic{ConnectionID: id, OK: n.ok, Failed: n.failed, Failure: n.failure}
		if !n.okAt.IsZero() {
			at := n.okAt
			t.LastOKAt = &at
		}
		if !n.failedAt.IsZero() {
			at := n.failedAt
			t.LastFailedAt = &at
		}
		out = append(out, t)
	}
	clear(h.conns)
	return out
}

// giveBack puts back calls whose write failed, so the next flush carries them.
func (h *callHealth) giveBack(ts []store.ConnectionTraffic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range ts {
		n := h.conns[t.ConnectionID]
		if n == nil {
			n = &callNote{}
			h.conns[t.ConnectionID] = n
		}
		n.ok += t.OK
		n.failed += t.Failed
		if t.LastOKAt != nil && t.LastOKAt.After(n.okAt) {
			n.okAt = *t.LastOKAt
		}
		if t.LastFailedAt != nil && t.LastFailedAt.After(n.failedAt) {
			n.failedAt, n.failure = *t.LastFailedAt, t.Failure
		}
	}
}

// FlushConnectionHealth writes the calls noted since the last flush to their
// connections (last answered, last failure, calls per hour). The publish loop
// calls it every StatePublishInterval and when the engine stops.
func (e *Engine) FlushConnectionHealth(ctx context.Context) error {
	ts := e.calls.take()
	if len(ts) == 0 {
		return nil
	}
	if err := e.st.RecordConnectionTraffic(ctx, ts); err != nil {
		e.calls.giveBack(ts)
		return err
	}
	return nil
}

// countingTransport notes the outcome of every call made through it.
type countingTransport struct {
	base   http.RoundTripper
	id     int64
	system string
	health *callHealth
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	switch {
	case err != nil:
		if r.Context().Err() != nil {
			return res, err // our own cancellation (timeout of a job, shutdown) says nothing of the system
		}
		t.health.note(t.id, false, fmt.Sprintf("%s did not answer: %s", t.system, transportError(err)))
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		t.health.note(t.id, false, fmt.Sprintf("%s refused Crossdock's credentials (HTTP %d).", t.system, res.StatusCode))
	case res.StatusCode >= 500:
		t.health.note(t.id, false, fmt.Sprintf("%s answered with an error (HTTP %d %s).", t.system, res.StatusCode, http.StatusText(res.StatusCode)))
	default:
		// It answered: a 4xx about one record (or a throttle) still proves the
		// connection works.
		t.health.note(t.id, true, "")
	}
	return res, err
}

// transportError drops the request's address from a transport error: the
// connection's page already says where it points.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "it took too long to answer."
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// httpClientFor is the engine's HTTP client, noting every call's outcome
// against connection c.
func (e *Engine) httpClientFor(c store.Connection) *http.Client {
	base := e.cfg.HTTPClient
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{Transport: &countingTransport{base: rt, id: c.ID, system: c.Name, health: e.calls},
		CheckRedirect: base.CheckRedirect, Jar: base.Jar, Timeout: base.Timeout}
}

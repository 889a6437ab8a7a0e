package engine

import (
	"math"
	"slices"
	"sync"
	"time"
)

// ConnectionState is what this replica knows of a target system right now:
// its circuit breaker and, for Shopify, the rate-limit budget its client
// estimates. Metrics and alerts read it; both are per replica.
type ConnectionState struct {
	ConnectionID int64
	Name, Kind   string
	BreakerOpen  bool
	OpenUntil    time.Time
	// OpenReplicas counts the replicas whose breaker is open (SharedConnections only).
	OpenReplicas int
	// BudgetKnown is false until the system reported a budget.
	BudgetKnown                bool
	BudgetAvailable, BudgetMax float64
	BudgetRestoreRate          float64
	BudgetSeenAt               time.Time
}

// Connections lists the breaker and budget of every connection this replica
// has talked to, by id.
func (e *Engine) Connections() []ConnectionState {
	byID := map[int64]*ConnectionState{}
	get := func(id int64) *ConnectionState {
		if byID[id] == nil {
			byID[id] = &ConnectionState{ConnectionID: id}
		}
		return byID[id]
	}
	e.limits.mu.Lock()
	now := e.limits.now()
	for id, s := range e.limits.conns {
		cs := get(id)
		cs.BreakerOpen, cs.OpenUntil = now.Before(s.openUntil), s.openUntil
	}
	e.limits.mu.Unlock()

	e.clientsMu.Lock()
	for id, en := range e.shops {
		cs := get(id)
		cs.Name, cs.Kind = en.conn.Name, string(en.conn.Kind)
		if b := en.client.Budget(); !b.SeenAt.IsZero() && !math.IsInf(b.EstimatedAvailable, 0) {
			cs.BudgetKnown = true
			cs.BudgetAvailable, cs.BudgetMax, cs.BudgetRestoreRate, cs.BudgetSeenAt = b.EstimatedAvailable, b.MaximumAvailable, b.RestoreRate, b.SeenAt
		}
	}
	for id, en := range e.odoos {
		cs := get(id)
		cs.Name, cs.Kind = en.conn.Name, string(en.conn.Kind)
	}
	e.clientsMu.Unlock()

	out := make([]ConnectionState, 0, len(byID))
	for _, cs := range byID {
		out = append(out, *cs)
	}
	slices.SortFunc(out, func(a, b ConnectionState) int { return int(a.ConnectionID - b.ConnectionID) })
	return out
}

// SyncCount counts the attempts of one family that ended in one status and
// error class on this replica since it started.
type SyncCount struct {
	Family, Status, Class string
	N                     uint64
}

// syncCounter counts finished attempts in memory (a Prometheus counter:
// per replica, reset at start, summed by the scraper).
type syncCounter struct {
	mu sync.Mutex
	n  map[[3]string]uint64
}

func (c *syncCounter) add(family, status, class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[[3]string]uint64{}
	}
	c.n[[3]string{family, status, class}]++
}

// SyncCounts returns the attempts finished on this replica since it started,
// by family, status and error class.
func (e *Engine) SyncCounts() []SyncCount {
	e.counts.mu.Lock()
	defer e.counts.mu.Unlock()
	out := make([]SyncCount, 0, len(e.counts.n))
	for k, n := range e.counts.n {
		out = append(out, SyncCount{Family: k[0], Status: k[1], Class: k[2], N: n})
	}
	return out
}

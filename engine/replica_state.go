package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"crossdock/store"
)

// Breakers and API budgets live in each replica's memory. A replica publishes
// its own to replica_connection_states when a breaker opens or closes, and
// every StatePublishInterval otherwise; the breaker alert reads every
// replica's rows, so it fires whichever replica evaluates it.

func newReplicaID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publishLoop publishes the replica's states on every breaker change and
// every interval, and writes the connections' health from the calls made
// since (callhealth.go), until ctx ends; then it removes the replica's rows.
func (e *Engine) publishLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.StatePublishInterval)
	defer t.Stop()
	for {
		if err := e.publishStates(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("publish breaker and budget states", "err", err)
		}
		if err := e.FlushConnectionHealth(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("record connection health", "err", err)
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := e.FlushConnectionHealth(fctx); err != nil {
				e.log.Warn("record connection health", "err", err)
			}
			if err := e.st.ForgetReplica(fctx, e.replica); err != nil {
				e.log.Warn("forget replica states", "err", err)
			}
			return
		case <-t.C:
		case <-e.statesChanged:
		}
	}
}

// stateChanged asks the publish loop to publish now; a publish already
// asked for covers this change too.
func (e *Engine) stateChanged() {
	select {
	case e.statesChanged <- struct{}{}:
	default:
	}
}

// publishStates writes what this replica knows of each connection.
func (e *Engine) publishStates(ctx context.Context) error {
	local := e.Connections()
	rows := make([]store.ReplicaConnState, 0, len(local))
	for _, cs := range local {
		r := store.ReplicaConnState{ConnectionID: cs.ConnectionID}
		if cs.BreakerOpen {
			r.BreakerOpenUntil = &cs.OpenUntil
		}
		if cs.BudgetKnown {
			r.BudgetAvailable, r.BudgetMax, r.BudgetRestoreRate, r.BudgetSeenAt = &cs.BudgetAvailable, &cs.BudgetMax, &cs.BudgetRestoreRate, &cs.BudgetSeenAt
		}
		rows = append(rows, r)
	}
	return e.st.PublishReplicaStates(ctx, e.replica, rows)
}

// SharedConnections is Connections across every replica: this replica's own
// live state, plus the breakers the other replicas published as open (and
// how many replicas have each open), and their budget when it is fresher.
func (e *Engine) SharedConnections(ctx context.Context) ([]ConnectionState, error) {
	local := e.Connections()
	others, err := e.st.SharedConnectionStates(ctx, store.ReplicaStatesFresh, e.replica)
	if err != nil {
		return local, err
	}
	byID := map[int64]int{}
	for i := range local {
		byID[local[i].ConnectionID] = i
		if local[i].BreakerOpen {
			local[i].OpenReplicas = 1
		}
	}
	for _, s := range others {
		i, ok := byID[s.ConnectionID]
		if !ok {
			local = append(local, ConnectionState{ConnectionID: s.ConnectionID})
			i = len(local) - 1
			byID[s.ConnectionID] = i
		}
		cs := &local[i]
		cs.Name, cs.Kind = s.Name, s.Kind
		if s.OpenReplicas > 0 {
			cs.BreakerOpen = true
			cs.OpenReplicas += s.OpenReplicas
			if s.OpenUntil != nil && s.OpenUntil.After(cs.OpenUntil) {
				cs.OpenUntil = *s.OpenUntil
			}
		}
		if s.BudgetSeenAt != nil && s.BudgetSeenAt.After(cs.BudgetSeenAt) && s.BudgetAvailable != nil && s.BudgetMax != nil {
			cs.BudgetKnown = true
			cs.BudgetAvailable, cs.BudgetMax, cs.BudgetSeenAt = *s.BudgetAvailable, *s.BudgetMax, *s.BudgetSeenAt
			if s.BudgetRestoreRate != nil {
				cs.BudgetRestoreRate = *s.BudgetRestoreRate
			}
		}
	}
	return local, nil
}

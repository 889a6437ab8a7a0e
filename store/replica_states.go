package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// ReplicaConnState is what one replica's engine knows of a connection right
// now: until when its circuit breaker is open (nil: closed) and the last
// rate-limit budget its client estimated (nil: none reported).
type ReplicaConnState struct {
	ConnectionID      int64
	BreakerOpenUntil  *time.Time
	BudgetAvailable   *float64
	BudgetMax         *float64
	BudgetRestoreRate *float64
	BudgetSeenAt      *time.Time
}

// PublishReplicaStates replaces the replica's rows with states, in one
// statement: connections it no longer knows of lose their row.
func (q q) PublishReplicaStates(ctx context.Context, replica string, states []ReplicaConnState) error {
	n := len(states)
	// Timestamps travel as text: lib/pq's arrays know strings and numbers.
	ts := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		v := t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
		return &v
	}
	ids, opens := make([]int64, n), make([]*string, n)
	avail, maxs, rates, seen := make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*string, n)
	for i, s := range states {
		ids[i], opens[i] = s.ConnectionID, ts(s.BreakerOpenUntil)
		avail[i], maxs[i], rates[i], seen[i] = s.BudgetAvailable, s.BudgetMax, s.BudgetRestoreRate, ts(s.BudgetSeenAt)
	}
	_, err := q.ext.ExecContext(ctx, `WITH s AS (
  SELECT * FROM unnest($2::bigint[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::timestamptz[])
    AS t(connection_id, breaker_open_until, budget_available, budget_max, budget_restore_rate, budget_seen_at)
  WHERE EXISTS (SELECT 1 FROM connections c WHERE c.id = t.connection_id)),
gone AS (DELETE FROM replica_connection_states r WHERE r.replica_id = $1
  AND NOT EXISTS (SELECT 1 FROM s WHERE s.connection_id = r.connection_id))
INSERT INTO replica_connection_states (replica_id, connection_id, breaker_open_until, budget_available, budget_max,
  budget_restore_rate, budget_seen_at, updated_at)
SELECT $1, connection_id, breaker_open_until, budget_available, budget_max, budget_restore_rate, budget_seen_at, now() FROM s
ON CONFLICT (connection_id, replica_id) DO UPDATE SET breaker_open_until = EXCLUDED.breaker_open_until,
  budget_available = EXCLUDED.budget_available, budget_max = EXCLUDED.budget_max,
  budget_restore_rate = EXCLUDED.budget_restore_rate, budget_seen_at = EXCLUDED.budget_seen_at, updated_at = now()`,
		replica, pq.Array(ids), pq.Array(opens), pq.Array(avail), pq.Array(maxs), pq.Array(rates), pq.Array(seen))
	if err != nil {
		return fmt.Errorf("store: publish replica states: %w", err)
	}
	return nil
}

// ForgetReplica removes a stopping replica's rows.
func (q q) ForgetReplica(ctx context.Context, replica string) error {
	_, err := q.ext.ExecContext(ctx, `DELETE FROM replica_connection_states WHERE replica_id = $1`, replica)
	return err
}

// ReplicaStatesFresh is how recently a replica must have refreshed its rows
// for them to count: replicas refresh every few seconds, so a replica silent
// this long has stopped (its rows go when it stops cleanly).
const ReplicaStatesFresh = time.Minute

// SharedConnState is a connection's state across the replicas that
// refreshed their rows recently.
type SharedConnState struct {
	ConnectionID int64  `db:"connection_id"`
	Name         string `db:"name"`
	Kind         string `db:"kind"`
	// OpenReplicas counts the replicas whose breaker is open; OpenUntil is
	// the latest end of those.
	OpenReplicas int        `db:"open_replicas"`
	OpenUntil    *time.Time `db:"open_until"`
	// The freshest budget any replica reported.
	BudgetAvailable   *float64   `db:"budget_available"`
	BudgetMax         *float64   `db:"budget_max"`
	BudgetRestoreRate *float64   `db:"budget_restore_rate"`
	BudgetSeenAt      *time.Time `db:"budget_seen_at"`
}

// SharedConnectionStates merges the rows of the replicas that refreshed them
// within fresh, one row per connection, leaving out the replica exclude (a
// replica that knows its own live state; "" leaves out none).
func (q q) SharedConnectionStates(ctx context.Context, fresh time.Duration, exclude string) ([]SharedConnState, error) {
	var out []SharedConnState
	err := sqlxSelect(ctx, q, &out, `SELECT r.connection_id, c.name, c.kind,
  count(*) FILTER (WHERE r.breaker_open_until > now()) AS open_replicas,
  max(r.breaker_open_until) FILTER (WHERE r.breaker_open_until > now()) AS open_until,
  b.budget_available, b.budget_max, b.budget_restore_rate, b.budget_seen_at
FROM replica_connection_states r
JOIN connections c ON c.id = r.connection_id
LEFT JOIN LATERAL (SELECT x.budget_available, x.budget_max, x.budget_restore_rate, x.budget_seen_at
                   FROM replica_connection_states x
                   WHERE x.connection_id = r.connection_id AND x.budget_seen_at IS NOT NULL AND x.updated_at > now() - $1::interval
                     AND x.replica_id <> $2
                   ORDER BY x.budget_seen_at DESC LIMIT 1) b ON true
WHERE r.updated_at > now() - $1::interval AND r.replica_id <> $2
GROUP BY r.connection_id, c.name, c.kind, b.budget_available, b.budget_max, b.budget_restore_rate, b.budget_seen_at
ORDER BY r.connection_id`, fmt.Sprintf("%d milliseconds", fresh.Milliseconds()), exclude)
	if err != nil {
		return nil, fmt.Errorf("store: shared connection states: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// OpenFailures counts the open failures the Failed syncs page lists for f
// (its default view: status open), by kind of data, exactly and cheaply: from
// the summary of causes FailedGroups reads (failure_groups plus the changes
// not folded yet), a few hundred rows however many failures there are. Only
// the filters on a cause's own fields apply (kind of data, direction, system,
// environment); the Overview uses none or the kind of data.
func (q q) OpenFailures(ctx context.Context, f FailedFilter) (map[string]int, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := "TRUE"
	if cw := f.causeWhere(arg); len(cw) > 0 {
		w = strings.Join(cw, " AND ")
	}
	var rows []struct {
		Family string `db:"family"`
		N      int    `db:"n"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, sum(n)::bigint AS n FROM (
    SELECT error_class, family, direction, source_connection_id, target_connection_id, cause, n FROM failure_groups
    UNION ALL
    SELECT error_class, family, direction, source_connection_id, target_connection_id, cause, n FROM failure_group_changes) u
  WHERE `+w+`
  GROUP BY family HAVING sum(n) > 0`, args...); err != nil {
		return nil, fmt.Errorf("store: count open failures: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Family] = r.N
	}
	return out, nil
}

// ConnectionTraffic is what the engine saw of one connection's calls since
// its last flush.
type ConnectionTraffic struct {
	ConnectionID int64
	OK, Failed   int
	LastOKAt     *time.Time
	LastFailedAt *time.Time
	Failure      string // the last failure, in plain words
}

// RecordConnectionTraffic writes the engine's calls to the connections'
// health, one statement for all of them: the latest answer and failure win
// (several replicas flush in any order), and the calls are added to the
// connection's hour.
func (q q) RecordConnectionTraffic(ctx context.Context, ts []ConnectionTraffic) error {
	if len(ts) == 0 {
		return nil
	}
	ids, oks, fails := make([]int64, len(ts)), make([]int64, len(ts)), make([]int64, len(ts))
	okAt, failAt, msgs := make([]*time.Time, len(ts)), make([]*time.Time, len(ts)), make([]string, len(ts))
	for i, t := range ts {
		ids[i], oks[i], fails[i], okAt[i], failAt[i], msgs[i] = t.ConnectionID, int64(t.OK), int64(t.Failed), t.LastOKAt, t.LastFailedAt, t.Failure
	}
	_, err := q.ext.ExecContext(ctx, `WITH t AS (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::text[])
    AS t(id, ok, failed, ok_at, failed_at, failure)),
c AS (
  UPDATE connections c SET
    last_success_at = GREATEST(c.last_success_at, t.ok_at),
    last_error_at   = GREATEST(c.last_error_at, t.failed_at),
    last_error      = CASE WHEN t.failed_at IS NOT NULL AND (c.last_error_at IS NULL OR t.failed_at > c.last_error_at)
                           THEN t.failure ELSE c.last_error END
  FROM t WHERE c.id = t.id RETURNING c.id)
INSERT INTO connection_call_hours (connection_id, hour, ok, failed)
SELECT t.id, date_trunc('hour', now()), t.ok, t.failed FROM t JOIN c ON c.id = t.id
ON CONFLICT (connection_id, hour) DO UPDATE SET ok = connection_call_hours.ok + EXCLUDED.ok,
  failed = connection_call_hours.failed + EXCLUDED.failed`,
		pq.Array(ids), pq.Array(oks), pq.Array(fails), pq.Array(timeArray(okAt)), pq.Array(timeArray(failAt)), pq.Array(msgs))
	if err != nil {
		return fmt.Errorf("store: record connection traffic: %w", err)
	}
	return nil
}

// timeArray renders optional times for a timestamptz[] parameter.
func timeArray(ts []*time.Time) []sql.NullString {
	out := make([]sql.NullString, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = sql.NullString{String: t.UTC().Format(time.RFC3339Nano), Valid: true}
		}
	}
	return out
}

// tryListKey is the setting recording that a person dismissed the Overview's
// "what to try" list of the demo workspace.
func tryListKey(userID int64) string {
	return "overview_try_dismissed:" + strconv.FormatInt(userID, 10)
}

// TryListDismissed reports whether the person dismissed the "what to try" list.
func (q q) TryListDismissed(ctx context.Context, userID int64) (bool, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM app_settings WHERE key = $1`, tryListKey(userID)); err != nil {
		return false, fmt.Errorf("store: try list: %w", err)
	}
	return n > 0, nil
}

// DismissTryList hides the "what to try" list for the person; doing it twice
// is doing it once.
func (q q) DismissTryList(ctx context.Context, userID int64) error {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, jsonb_build_object('at', now()))
ON CONFLICT (key) DO NOTHING`, tryListKey(userID)); err != nil {
		return fmt.Errorf("store: dismiss try list: %w", err)
	}
	return nil
}

// sentToOperatorsSQL selects the discrepancies finance sent to the operators
// (a price fix asked from the finance review) that are still to deal with.
const sentToOperatorsSQL = `EXISTS (SELECT 1 FROM finance_reviews fr WHERE fr.discrepancy_id = d.id AND fr.state = 'sent')`

// CountSentToOperators counts the open discrepancies finance sent to the
// operators: the operators' badge in the navigation and the Overview's count.
func (q q) CountSentToOperators(ctx context.Context) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM finance_reviews fr JOIN discrepancies d ON d.id = fr.discrepancy_id
WHERE fr.state = 'sent' AND d.status IN ('open', 'acknowledged')`); err != nil {
		return 0, fmt.Errorf("store: count sent to operators: %w", err)
	}
	return n, nil
}

// SourcesFirstSet says when a source was first saved for each data family
// (the family's oldest rules version); a family never set is absent.
func (q q) SourcesFirstSet(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Family string    `db:"family"`
		At     time.Time `db:"at"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, min(saved_at) AS at FROM source_rule_versions GROUP BY family`); err != nil {
		return nil, fmt.Errorf("store: sources first set: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.Family] = r.At
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// FlowHour is what the syncs of one family created in one hour became.
type FlowHour struct {
	Hour      time.Time // the start of the hour
	Succeeded int
	Failed    int
	Other     int // pending, running, retrying, rejected, skipped
}

// FlowStat is the recent health of one data family's flow.
type FlowStat struct {
	Family vocab.Family
	// Hours lists the hours of the window that had syncs, oldest first
	// (by created_at).
	Hours []FlowHour
	// Total, Succeeded and Failed count the syncs created in the window.
	Total, Succeeded, Failed int
	// FailedLastHour counts the window's syncs that failed within the last hour;
	// LastFailedAt is when the latest of the window's failures happened.
	FailedLastHour int
	LastFailedAt   *time.Time
	// SucceededLastHour counts the window's syncs that succeeded within the last hour.
	SucceededLastHour int
	// LastSucceededAt is when the latest success ended (any time, not only the window).
	LastSucceededAt *time.Time
	// OldestWaitingAt is the creation of the oldest sync still pending or
	// retrying: the queue lag is its age.
	OldestWaitingAt *time.Time
	Retrying        int
}

type flowHourRow struct {
	Family       string       `db:"family"`
	Hour         time.Time    `db:"hour"`
	Status       vocab.Status `db:"status"`
	N            int          `db:"n"`
	FailedRecent int          `db:"failed_recent"`
	OKRecent     int          `db:"succeeded_recent"`
	LastFailed   *time.Time   `db:"last_failed"`
}

type flowSummaryRow struct {
	Family        string     `db:"family"`
	LastSucceeded *time.Time `db:"last_succeeded"`
	OldestWaiting *time.Time `db:"oldest_waiting"`
	Retrying      int        `db:"retrying"`
}

// FlowStats returns the health of every data family, in page order, over the
// syncs created since since, in two queries: one range scan of the window on
// syncs_created_idx grouped by family, hour and status, and one probe per
// family into the small partial indexes of 00008 (last success, oldest waiting).
func (q q) FlowStats(ctx context.Context, since time.Time) ([]FlowStat, error) {
	var hours []flowHourRow
	if err := sqlxSelect(ctx, q, &hours, `SELECT family, date_trunc('hour', created_at) AS hour, status, count(*) AS n,
  count(*) FILTER (WHERE status = 'failed' AND updated_at >= now() - interval '1 hour') AS failed_recent,
  count(*) FILTER (WHERE status = 'succeeded' AND updated_at >= now() - interval '1 hour') AS succeeded_recent,
  max(updated_at) FILTER (WHERE status = 'failed') AS last_failed
FROM syncs WHERE created_at >= $1
GROUP BY 1, 2, 3 ORDER BY 1, 2`, since); err != nil {
		return nil, fmt.Errorf("store: flow stats by hour: %w", err)
	}
	families := vocab.AllFamilies()
	names := make([]string, len(families))
	for i, f := range families {
		names[i] = string(f)
	}
	var sums []flowSummaryRow
	if err := sqlxSelect(ctx, q, &sums, `SELECT f.family,
  (SELECT s.updated_at FROM syncs s WHERE s.family = f.family AND s.status = 'succeeded'
   ORDER BY s.updated_at DESC LIMIT 1) AS last_succeeded,
  (SELECT min(s.created_at) FROM syncs s WHERE s.family = f.family AND s.status IN ('pending', 'retrying')) AS oldest_waiting,
  (SELECT count(*) FROM syncs s WHERE s.family = f.family AND s.status IN ('pending', 'retrying')
   AND s.status = 'retrying') AS retrying
FROM unnest($1::text[]) AS f(family)`, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("store: flow stats: %w", err)
	}
	out := make([]FlowStat, len(families))
	byFamily := make(map[string]*FlowStat, len(families))
	for i, f := range families {
		out[i].Family = f
		byFamily[string(f)] = &out[i]
	}
	for _, s := range sums {
		if fs := byFamily[s.Family]; fs != nil {
			fs.LastSucceededAt, fs.OldestWaitingAt, fs.Retrying = s.LastSucceeded, s.OldestWaiting, s.Retrying
		}
	}
	for _, r := range hours {
		fs := byFamily[r.Family]
		if fs == nil {
			continue // a family the rules no longer know
		}
		if n := len(fs.Hours); n == 0 || !fs.Hours[n-1].Hour.Equal(r.Hour) {
			fs.Hours = append(fs.Hours, FlowHour{Hour: r.Hour})
		}
		h := &fs.Hours[len(fs.Hours)-1]
		fs.Total += r.N
		switch r.Status {
		case vocab.SyncSucceeded:
			h.Succeeded += r.N
			fs.Succeeded += r.N
		case vocab.SyncFailed:
			h.Failed += r.N
			fs.Failed += r.N
		default:
			h.Other += r.N
		}
		fs.FailedLastHour += r.FailedRecent
		fs.SucceededLastHour += r.OKRecent
		if r.LastFailed != nil && (fs.LastFailedAt == nil || r.LastFailed.After(*fs.LastFailedAt)) {
			fs.LastFailedAt = r.LastFailed
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Hours, func(a, b FlowHour) int { return a.Hour.Compare(b.Hour) })
	}
	return out, nil
}

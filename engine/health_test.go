package engine

import (
	"testing"
	"time"
)

func TestFlowState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	fresh := 2 * time.Minute
	for _, tc := range []struct {
		name string
		in   FlowSignals
		want string
	}{
		{"no syncs at all is not healthy", FlowSignals{}, FlowNoSyncs},
		{"no syncs in the window, an old success", FlowSignals{LastSucceededAt: ago(48 * time.Hour)}, FlowNoSyncs},
		{"recent successes", FlowSignals{Total: 10, LastSucceededAt: ago(time.Minute), SucceededLastHour: 10}, FlowHealthy},
		{"53 % failed is failing, even with a success 5 minutes ago",
			FlowSignals{Total: 100, Failed: 53, FailedLastHour: 3, SucceededLastHour: 40, LastSucceededAt: ago(5 * time.Minute), LastFailedAt: ago(time.Minute)}, FlowFailing},
		{"exactly the failing share", FlowSignals{Total: 2, Failed: 1, SucceededLastHour: 1, LastSucceededAt: ago(time.Minute)}, FlowFailing},
		{"everything of the last hour failed", FlowSignals{Total: 1000, Failed: 3, FailedLastHour: 3, LastFailedAt: ago(10 * time.Minute), LastSucceededAt: ago(2 * time.Hour)}, FlowFailing},
		{"failures, none succeeded ever", FlowSignals{Total: 3, Failed: 3, FailedLastHour: 3, LastFailedAt: ago(10 * time.Minute)}, FlowFailing},
		{"a failure after successes in the same hour is not failing",
			FlowSignals{Total: 100, Failed: 1, FailedLastHour: 1, SucceededLastHour: 20, LastFailedAt: ago(time.Minute), LastSucceededAt: ago(5 * time.Minute), OpenFailures: 1}, FlowTrouble},
		{"6 % failed: some failing", FlowSignals{Total: 100, Failed: 6, SucceededLastHour: 5, LastSucceededAt: ago(time.Minute)}, FlowTrouble},
		{"4 % failed, all dealt with: healthy", FlowSignals{Total: 100, Failed: 4, SucceededLastHour: 5, LastSucceededAt: ago(time.Minute)}, FlowHealthy},
		{"old open failures, quiet day", FlowSignals{OpenFailures: 2500, LastSucceededAt: ago(30 * time.Hour)}, FlowTrouble},
		{"retrying items", FlowSignals{Total: 5, Retrying: 1, LastSucceededAt: ago(time.Minute), SucceededLastHour: 4}, FlowBehind},
		{"work waiting beyond target, no success within it", FlowSignals{Total: 1, OldestWaitingAt: ago(5 * time.Minute), LastSucceededAt: ago(time.Hour)}, FlowBehind},
		{"work waiting beyond target, never succeeded", FlowSignals{Total: 1, OldestWaitingAt: ago(5 * time.Minute)}, FlowBehind},
		{"work waiting beyond target, but a success within it", FlowSignals{Total: 2, OldestWaitingAt: ago(5 * time.Minute), LastSucceededAt: ago(time.Minute), SucceededLastHour: 1}, FlowHealthy},
		{"work just arrived", FlowSignals{Total: 1, OldestWaitingAt: ago(30 * time.Second), LastSucceededAt: ago(time.Hour)}, FlowHealthy},
		{"failing beats behind", FlowSignals{Total: 3, Failed: 1, FailedLastHour: 1, LastFailedAt: ago(time.Minute), Retrying: 2}, FlowFailing},
	} {
		tc.in.Now, tc.in.Freshness = now, fresh
		if got := FlowState(tc.in); got != tc.want {
			t.Errorf("%s: FlowState = %q, want %q", tc.name, got, tc.want)
		}
	}
}

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
		{"quiet family", FlowSignals{}, FlowHealthy},
		{"recent success", FlowSignals{LastSucceededAt: ago(time.Minute)}, FlowHealthy},
		{"failures, none succeeded ever", FlowSignals{FailedLastHour: 3, LastFailedAt: ago(10 * time.Minute)}, FlowFailing},
		{"failures, no success since", FlowSignals{FailedLastHour: 3, LastFailedAt: ago(10 * time.Minute), LastSucceededAt: ago(20 * time.Minute)}, FlowFailing},
		{"failures, then a success", FlowSignals{FailedLastHour: 3, LastFailedAt: ago(10 * time.Minute), LastSucceededAt: ago(5 * time.Minute)}, FlowHealthy},
		{"retrying items", FlowSignals{Retrying: 1, LastSucceededAt: ago(time.Minute)}, FlowBehind},
		{"work waiting beyond target, no success within it", FlowSignals{OldestWaitingAt: ago(5 * time.Minute), LastSucceededAt: ago(time.Hour)}, FlowBehind},
		{"work waiting beyond target, never succeeded", FlowSignals{OldestWaitingAt: ago(5 * time.Minute)}, FlowBehind},
		{"work waiting beyond target, but a success within it", FlowSignals{OldestWaitingAt: ago(5 * time.Minute), LastSucceededAt: ago(time.Minute)}, FlowHealthy},
		{"work just arrived", FlowSignals{OldestWaitingAt: ago(30 * time.Second), LastSucceededAt: ago(time.Hour)}, FlowHealthy},
		{"failing beats behind", FlowSignals{FailedLastHour: 1, LastFailedAt: ago(time.Minute), Retrying: 2}, FlowFailing},
	} {
		tc.in.Now, tc.in.Freshness = now, fresh
		if got := FlowState(tc.in); got != tc.want {
			t.Errorf("%s: FlowState = %q, want %q", tc.name, got, tc.want)
		}
	}
}

package engine

import "time"

// Flow states: how a flow is doing, decided from the facts the Overview shows.
const (
	FlowHealthy = "healthy"
	FlowBehind  = "behind"
	FlowFailing = "failing"
)

// FlowSignals are the facts a flow's state is decided from.
type FlowSignals struct {
	Now             time.Time
	Freshness       time.Duration
	LastSucceededAt *time.Time
	LastFailedAt    *time.Time
	FailedLastHour  int
	OldestWaitingAt *time.Time
	Retrying        int
}

// FlowState decides a flow's state: failing when syncs failed in the last
// hour and none succeeded since; behind when items are retrying, or work has
// waited longer than the freshness target with no success within it;
// healthy otherwise.
func FlowState(s FlowSignals) string {
	if s.FailedLastHour > 0 && (s.LastSucceededAt == nil || (s.LastFailedAt != nil && !s.LastSucceededAt.After(*s.LastFailedAt))) {
		return FlowFailing
	}
	if s.Retrying > 0 {
		return FlowBehind
	}
	if s.OldestWaitingAt != nil && s.Now.Sub(*s.OldestWaitingAt) > s.Freshness &&
		(s.LastSucceededAt == nil || s.Now.Sub(*s.LastSucceededAt) > s.Freshness) {
		return FlowBehind
	}
	return FlowHealthy
}

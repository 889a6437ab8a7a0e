package engine

import "time"

// Flow states: how a flow is doing, decided from the numbers the Overview
// shows beside its badge, so that the badge never contradicts them.
const (
	FlowNoSyncs = "no_syncs" // nothing happened in the window and nothing is open or waiting
	FlowHealthy = "healthy"
	FlowTrouble = "trouble" // some syncs fail, or failures wait for someone
	FlowBehind  = "behind"
	FlowFailing = "failing"
)

// The thresholds of the flow states, in one place. The Overview's badges,
// its advice and the tests read these; change them here only.
const (
	// FailingShare: at least this share of the window's syncs failed, the flow
	// is Failing (at 53 % failed it is never "Healthy").
	FailingShare = 0.5
	// TroubleShare: at least this share failed (and less than FailingShare),
	// the flow is "Some failing". So is a flow with any open failure, however
	// old: someone has to deal with it.
	TroubleShare = 0.05
)

// FlowSignals are the facts a flow's state is decided from.
type FlowSignals struct {
	Now       time.Time
	Freshness time.Duration
	// Total and Failed count the syncs created in the window (24 hours or 7 days).
	Total, Failed int
	// FailedLastHour and SucceededLastHour count the syncs that ended so in the last hour.
	FailedLastHour, SucceededLastHour int
	LastSucceededAt                   *time.Time
	LastFailedAt                      *time.Time
	// OpenFailures is what the Failed syncs page lists as open for the family.
	OpenFailures    int
	OldestWaitingAt *time.Time
	Retrying        int
}

// FailedShare is the share of the window's syncs that failed (0 without syncs).
func (s FlowSignals) FailedShare() float64 {
	if s.Total <= 0 {
		return 0
	}
	return float64(s.Failed) / float64(s.Total)
}

// FailingNow reports whether syncs failed in the last hour and none
// succeeded in it: the flow stopped working, whatever the day looked like.
func (s FlowSignals) FailingNow() bool {
	return s.FailedLastHour > 0 && s.SucceededLastHour == 0
}

// FlowState decides a flow's state, the first rule that holds:
//
//   - Failing: at least FailingShare of the window's syncs failed, or syncs
//     failed in the last hour and none succeeded in it;
//   - Behind: syncs are retrying, or work has waited longer than the freshness
//     target with no success within it;
//   - Some failing: at least TroubleShare of the window's syncs failed, or
//     failures are open (the Failed syncs page lists them);
//   - No syncs: the window had no sync, and nothing is open or waiting;
//   - Healthy otherwise.
func FlowState(s FlowSignals) string {
	if (s.Total > 0 && s.FailedShare() >= FailingShare) || s.FailingNow() {
		return FlowFailing
	}
	if s.Retrying > 0 {
		return FlowBehind
	}
	if s.OldestWaitingAt != nil && s.Now.Sub(*s.OldestWaitingAt) > s.Freshness &&
		(s.LastSucceededAt == nil || s.Now.Sub(*s.LastSucceededAt) > s.Freshness) {
		return FlowBehind
	}
	if (s.Total > 0 && s.FailedShare() >= TroubleShare) || s.OpenFailures > 0 {
		return FlowTrouble
	}
	if s.Total == 0 && s.OldestWaitingAt == nil {
		return FlowNoSyncs
	}
	return FlowHealthy
}

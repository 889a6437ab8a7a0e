package handlers

import "time"

// FlowWindow is the span the Overview's flow cards and charts cover.
type FlowWindow struct {
	Key, Label, Ago string
	Bars            int
	Bucket          time.Duration
	BucketNoun      string
	TimeFormat      string
}

// The Overview's windows: the last 24 hours by hour, the last 7 days by 6 hours.
var (
	Last24Hours = FlowWindow{Key: "24h", Label: "Last 24 hours", Ago: "24 h ago", Bars: 24, Bucket: time.Hour, BucketNoun: "hour", TimeFormat: "15:04"}
	Last7Days   = FlowWindow{Key: "7d", Label: "Last 7 days", Ago: "7 days ago", Bars: 28, Bucket: 6 * time.Hour, BucketNoun: "6 hours", TimeFormat: "Mon 15:04"}
)

func flowWindowOf(key string) FlowWindow {
	if key == Last7Days.Key {
		return Last7Days
	}
	return Last24Hours
}

// start is the beginning of the window's first bar: whole buckets (UTC),
// ending with the current one.
func (w FlowWindow) start(at time.Time) time.Time {
	return at.UTC().Truncate(w.Bucket).Add(-time.Duration(w.Bars-1) * w.Bucket)
}

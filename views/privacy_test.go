package views

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPrivacyDue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	day := 24 * time.Hour
	for _, tc := range []struct {
		name        string
		due         time.Time
		completed   *time.Time
		words, kind string
	}{
		{"just received", now.Add(30 * day), nil, "Due in 30 days", "neutral"},
		{"part of a day left counts as a day", now.Add(29*day + time.Hour), nil, "Due in 30 days", "neutral"},
		{"a week left", now.Add(7 * day), nil, "Due in 7 days", "warning"},
		{"an hour left", now.Add(time.Hour), nil, "Due in 1 day", "warning"},
		{"an hour late", now.Add(-time.Hour), nil, "Overdue by less than a day", "critical"},
		{"three days and a bit late", now.Add(-3*day - 5*time.Hour), nil, "Overdue by 3 days", "critical"},
		{"answered in time", now.Add(day), at(0), "Answered in time", "success"},
		{"answered late", now.Add(-2 * day), at(0), "Answered 2 days late", "warning"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			words, kind := PrivacyDue(tc.due, tc.completed, now)
			require.Equal(t, tc.words, words)
			require.Equal(t, tc.kind, kind)
		})
	}
}

package handlers

import (
	"testing"
	"time"

	"crossdock/store"
)

func TestFlowBarsPlaceHoursAndScale(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	bars, summary := flowBars(nil, start, Last24Hours)
	if len(bars) != 24 || summary != "Attempts, last 24 hours: 0 succeeded, 0 failed." {
		t.Fatalf("empty chart: %d bars, %q", len(bars), summary)
	}
	bars, summary = flowBars([]store.FlowHour{{Hour: start.Add(23 * time.Hour), Succeeded: 6, Failed: 2}, {Hour: start, Succeeded: 1}}, start, Last24Hours)
	if summary != "Attempts, last 24 hours: 7 succeeded, 2 failed. Busiest hour: 8 attempts." {
		t.Errorf("summary %q", summary)
	}
	last := bars[23]
	if last.SucceededH != 30 || last.FailedH != 10 || last.FailedY != 0 || last.X != 230 {
		t.Errorf("last bar %+v", last)
	}
	if bars[0].SucceededH != 5 || bars[0].Title != "00:00–01:00 UTC: 1 succeeded, 0 failed" {
		t.Errorf("first bar %+v", bars[0])
	}
}

func TestFlowBarsOverSevenDays(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 8, 13, 20, 0, 0, time.UTC) // a Sunday
	start := Last7Days.start(at)
	if want := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Fatalf("start %s, want %s", start, want)
	}
	hours := []store.FlowHour{
		{Hour: start.Add(-time.Hour), Succeeded: 99},                       // before the window
		{Hour: start.Add(2 * time.Hour), Succeeded: 3},                     // first bar
		{Hour: start.Add(5 * time.Hour), Failed: 1},                        // first bar too
		{Hour: time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC), Succeeded: 4}, // the current bar
	}
	bars, summary := flowBars(hours, start, Last7Days)
	if len(bars) != 28 {
		t.Fatalf("%d bars", len(bars))
	}
	if summary != "Attempts, last 7 days: 7 succeeded, 1 failed. Busiest 6 hours: 4 attempts." {
		t.Errorf("summary %q", summary)
	}
	if bars[0].Title != "Sun 18:00–Mon 00:00 UTC: 3 succeeded, 1 failed" {
		t.Errorf("first bar %q", bars[0].Title)
	}
	if bars[27].SucceededH != 40 || bars[27].X != 270 {
		t.Errorf("last bar %+v", bars[27])
	}
}

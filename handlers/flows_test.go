package handlers

import (
	"testing"
	"time"

	"crossdock/store"
)

func TestFlowBarsPlaceHoursAndScale(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	bars, summary := flowBars(nil, start)
	if len(bars) != 24 || summary != "Last 24 hours: 0 succeeded, 0 failed." {
		t.Fatalf("empty chart: %d bars, %q", len(bars), summary)
	}
	bars, summary = flowBars([]store.FlowHour{{Hour: start.Add(23 * time.Hour), Succeeded: 6, Failed: 2}, {Hour: start, Succeeded: 1}}, start)
	if summary != "Last 24 hours: 7 succeeded, 2 failed. Busiest hour: 8 syncs." {
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

package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// Flows renders only the Overview's flows section (its htmx refresh).
func (h Overview) Flows(c *fiber.Ctx) error {
	sec, err := h.flowsSection(c, now(), nil)
	if err != nil {
		return err
	}
	return Render(c, views.Flows(sec))
}

// flowsSection builds the flows; open is the open failures by kind of data
// when the caller read them already (nil: read them).
func (h Overview) flowsSection(c *fiber.Ctx, at time.Time, open map[string]int) (views.FlowsSection, error) {
	ctx := c.UserContext()
	rs, err := h.Store.SourceRules(ctx)
	if err != nil {
		return views.FlowsSection{}, err
	}
	w := flowWindowOf(c.Query("range"))
	stats, err := h.Store.FlowStats(ctx, w.start(at))
	if err != nil {
		return views.FlowsSection{}, err
	}
	pauses, err := h.Store.FlowPauses(ctx)
	if err != nil {
		return views.FlowsSection{}, err
	}
	u := CurrentUser(c)
	if open == nil {
		if open, err = h.Store.OpenFailures(ctx, store.FailedFilter{}); err != nil {
			return views.FlowsSection{}, err
		}
	}
	sec := BuildFlowsOver(rs, stats, open, at, w, u != nil && u.Role != vocab.RoleFinance)
	sec.CanPause, sec.CSRF = isAdmin(c), h.CSRF(c)
	for i, card := range sec.Cards {
		if p, ok := pauses[card.Family]; ok {
			sec.Cards[i].Paused = true
			sec.Cards[i].PausedNote = fmt.Sprintf("Paused by %s %s", p.By, components.Relative(p.PausedAt, at))
			if p.Reason != "" {
				sec.Cards[i].PausedNote += ": " + p.Reason
			}
			sec.Cards[i].PausedNote += ". Changes are recorded and wait; nothing is written until the flow is resumed."
		}
	}
	return sec, nil
}

// FlowStore is what pausing and resuming a flow needs.
type FlowStore interface {
	PauseFlow(ctx context.Context, a store.Actor, family, reason string) error
	ResumeFlow(ctx context.Context, a store.Actor, family string) error
}

// Flows pauses and resumes flows (admins).
type Flows struct {
	Base
	Store FlowStore
}

func flowFamily(c *fiber.Ctx) (vocab.Family, error) {
	f := vocab.Family(c.Params("family"))
	if !f.Valid() {
		return "", store.ErrNotFound
	}
	return f, nil
}

// Pause stops a flow's writes until it is resumed.
func (h Flows) Pause(c *fiber.Ctx) error {
	f, err := flowFamily(c)
	if err != nil {
		return err
	}
	reason, ok := form(c, "reason", 2000)
	if !ok {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "reason too long")
	}
	err = h.Store.PauseFlow(c.UserContext(), Actor(c), string(f), reason)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		h.Flash(c, "critical", fe.Error())
		return Redirect(c, "/")
	}
	if err != nil {
		return err
	}
	h.Flash(c, "warning", fmt.Sprintf("The %s flow is paused: changes are recorded and wait, nothing is written until you resume it.", f.Noun()))
	return Redirect(c, "/")
}

// Resume lets a paused flow's waiting syncs run.
func (h Flows) Resume(c *fiber.Ctx) error {
	f, err := flowFamily(c)
	if err != nil {
		return err
	}
	if err := h.Store.ResumeFlow(c.UserContext(), Actor(c), string(f)); err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("The %s flow is resumed: the changes that waited are being sent now.", f.Noun()))
	return Redirect(c, "/")
}

// BuildFlows turns the rules and the stats of the last 24 hours into the flows
// section, for someone who may open the failed syncs.
func BuildFlows(rs rules.Rules, stats []store.FlowStat, open map[string]int, at time.Time) views.FlowsSection {
	return BuildFlowsOver(rs, stats, open, at, Last24Hours, true)
}

// BuildFlowsOver turns the rules, the stats of window w and the open failures
// per family (what the Failed syncs page lists) into the flows section. A
// flow in trouble points to its failed syncs, or, for someone who may not
// open them (finance), to its problems on the Syncs page.
//
// The badge follows the numbers shown beside it (engine.FlowState): the
// chart and the volume count attempts, the "open failures" line counts what
// is still to fix.
func BuildFlowsOver(rs rules.Rules, stats []store.FlowStat, open map[string]int, at time.Time, w FlowWindow, failedPage bool) views.FlowsSection {
	by := make(map[vocab.Family]store.FlowStat, len(stats))
	for _, s := range stats {
		by[s.Family] = s
	}
	start := w.start(at)
	sec := views.FlowsSection{Range: w.Key, RangeLabel: w.Label}
	for _, f := range vocab.AllFamilies() {
		rule := rs.Rule(f)
		if rule.Master == 0 {
			sec.Unset = append(sec.Unset, f.Noun())
			continue
		}
		st := by[f]
		fresh := time.Duration(rule.FreshnessMinutes) * time.Minute
		card := views.FlowCard{Family: string(f), Label: f.Label(), Sentence: rs.Explain(f), Now: at,
			LastSuccess: st.LastSucceededAt, Total: st.Total, Failed: st.Failed, Open: open[string(f)],
			Target:       rules.Minutes(rule.FreshnessMinutes),
			ProblemsHref: "/syncs?" + url.Values{"family": {string(f)}, "problems": {"1"}}.Encode()}
		problems := "Syncs → Problems"
		if failedPage {
			card.ProblemsHref, problems = "/failed?"+url.Values{"family": {string(f)}}.Encode(), "Failed syncs"
		}
		sig := engine.FlowSignals{Now: at, Freshness: fresh, Total: st.Total, Failed: st.Failed,
			FailedLastHour: st.FailedLastHour, SucceededLastHour: st.SucceededLastHour,
			LastSucceededAt: st.LastSucceededAt, LastFailedAt: st.LastFailedAt, OpenFailures: card.Open,
			OldestWaitingAt: st.OldestWaitingAt, Retrying: st.Retrying}
		card.State = engine.FlowState(sig)
		card.StateLabel, card.StateTone = flowBadge(card.State, st.LastSucceededAt != nil, w)
		card.FailureRate = views.Percent(st.Failed, st.Total)
		if st.Total > 0 {
			card.Volume = fmt.Sprintf("%s, %s failed (%s)", views.Count(st.Total, "attempt"), views.Thousands(st.Failed), card.FailureRate)
		} else {
			card.Volume = "No attempts"
		}
		if card.Open > 0 {
			card.OpenText = views.Count(card.Open, "open failure")
		} else {
			card.OpenText = "None"
		}
		if st.OldestWaitingAt != nil {
			card.QueueLag = duration(at.Sub(*st.OldestWaitingAt))
		}
		if st.LastSucceededAt != nil {
			card.Freshness = fmt.Sprintf("last change sent %s; target: within %s", components.Relative(*st.LastSucceededAt, at), card.Target)
		} else {
			card.Freshness = fmt.Sprintf("no change sent yet; target: within %s", card.Target)
		}
		card.Advice = flowAdvice(card, sig, st, problems, w, at)
		card.Bars, card.ChartSummary = flowBars(st.Hours, start, w)
		card.ChartWidth, card.ChartFrom, card.RangeLabel = len(card.Bars)*10, w.Ago, w.Label
		sec.Cards = append(sec.Cards, card)
	}
	return sec
}

// flowBadge is the words and tone of a flow state's badge.
func flowBadge(state string, everSucceeded bool, w FlowWindow) (label, tone string) {
	switch state {
	case engine.FlowFailing:
		return "Failing", "critical"
	case engine.FlowBehind:
		return "Behind", "warning"
	case engine.FlowTrouble:
		return "Some failing", "warning"
	case engine.FlowNoSyncs:
		if everSucceeded {
			return "No syncs in the " + strings.ToLower(strings.TrimPrefix(w.Label, "Last ")), "neutral"
		}
		return "No syncs yet", "neutral"
	}
	return "Healthy", "success"
}

// flowAdvice says why a flow is not healthy and where to go, in words that
// agree with the numbers on its card.
func flowAdvice(card views.FlowCard, s engine.FlowSignals, st store.FlowStat, problems string, w FlowWindow, at time.Time) string {
	open := ""
	if card.Open > 0 {
		open = fmt.Sprintf(" %s open in %s.", views.Count(card.Open, "failure is", "failures are"), problems)
	}
	window := strings.ToLower(w.Label)
	switch card.State {
	case engine.FlowFailing:
		if s.FailingNow() {
			last := "nothing has succeeded yet"
			if st.LastSucceededAt != nil {
				last = "the last success was " + components.Relative(*st.LastSucceededAt, at)
			}
			return fmt.Sprintf("Every sync that ended in the last hour failed (%s); %s.%s", views.Thousands(s.FailedLastHour), last, open)
		}
		return fmt.Sprintf("Most syncs fail: %s of %s in the %s (%s).%s", views.Thousands(st.Failed), views.Count(st.Total, "attempt"), window, card.FailureRate, open)
	case engine.FlowBehind:
		if st.Retrying > 0 {
			return fmt.Sprintf("%s retrying after a failure: see %s.", views.Count(st.Retrying, "sync is", "syncs are"), problems)
		}
		return fmt.Sprintf("Changes have waited %s, longer than the target of %s: check the connections, then see %s.", card.QueueLag, card.Target, problems)
	case engine.FlowTrouble:
		if st.Total > 0 && s.FailedShare() >= engine.TroubleShare {
			return fmt.Sprintf("Some syncs fail: %s of %s in the %s (%s).%s", views.Thousands(st.Failed), views.Count(st.Total, "attempt"), window, card.FailureRate, open)
		}
		return strings.TrimSpace(open)
	}
	return ""
}

// flowBars lays out the bars of the chart, one per w.Bucket from start.
func flowBars(hours []store.FlowHour, start time.Time, w FlowWindow) ([]views.FlowBar, string) {
	buckets := make([]store.FlowHour, w.Bars)
	for _, h := range hours {
		d := h.Hour.Sub(start)
		if d < 0 {
			continue // before the window (division would round it into the first bar)
		}
		if i := int(d / w.Bucket); i < w.Bars {
			buckets[i].Succeeded += h.Succeeded
			buckets[i].Failed += h.Failed
		}
	}
	peak, ok, bad := 0, 0, 0
	for _, b := range buckets {
		peak = max(peak, b.Succeeded+b.Failed)
		ok += b.Succeeded
		bad += b.Failed
	}
	const height, width = 40, 10
	bars := make([]views.FlowBar, w.Bars)
	for i, b := range buckets {
		hs, hf := 0, 0
		if peak > 0 {
			hs, hf = b.Succeeded*height/peak, b.Failed*height/peak
			if b.Succeeded > 0 && hs == 0 {
				hs = 1
			}
			if b.Failed > 0 && hf == 0 {
				hf = 1
			}
		}
		from := start.Add(time.Duration(i) * w.Bucket).UTC()
		bars[i] = views.FlowBar{X: i * width, Width: width - 2, SucceededY: height - hs, SucceededH: hs, FailedY: height - hs - hf, FailedH: hf,
			Title: fmt.Sprintf("%s–%s UTC: %s succeeded, %s failed", from.Format(w.TimeFormat), from.Add(w.Bucket).Format(w.TimeFormat),
				views.Thousands(b.Succeeded), views.Thousands(b.Failed))}
	}
	summary := fmt.Sprintf("Attempts, %s: %s succeeded, %s failed.", strings.ToLower(w.Label), views.Thousands(ok), views.Thousands(bad))
	if peak > 0 {
		summary += fmt.Sprintf(" Busiest %s: %s.", w.BucketNoun, views.Count(peak, "attempt"))
	}
	return bars, summary
}

func count(n int, one string, many ...string) string { return views.Count(n, one, many...) }

// duration says a span in words: "3 minutes", "2 hours".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return count(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return count(int(d/time.Hour), "hour")
	default:
		return count(int(d/(24*time.Hour)), "day")
	}
}

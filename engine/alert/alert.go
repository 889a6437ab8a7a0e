// Package alert evaluates the alert rules (failure bursts, queue lag,
// freshness, open breakers, missing webhook subscriptions, discrepancies,
// stuck work) on the engine's queue, opens, repeats and resolves alerts,
// and delivers them: e-mail over SMTP, Slack, and a signed generic webhook.
package alert

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/engine"
	"crossdock/engine/recon"
	"crossdock/store"
	"crossdock/store/number"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

const queueAlerts = "alerts"

// Config configures the alerts. Zero values get the defaults in brackets.
type Config struct {
	// Tick is how often the rules are evaluated [1 min]; Manual turns the
	// periodic evaluation off (tests call Evaluate).
	Tick   time.Duration
	Manual bool
	// NotifyAttempts bounds the tries of one notice to one channel [3],
	// NotifyBackoff is the first pause between them [2 s], NotifyTimeout
	// bounds one try [10 s].
	NotifyAttempts int
	NotifyBackoff  time.Duration
	NotifyTimeout  time.Duration
}

// Service evaluates the alert rules and delivers the notices. It runs on
// the engine's queue; the engine's BaseURL is the console's address in
// the notices, its HTTP client posts them.
type Service struct {
	e       *engine.Engine
	cfg     Config
	st      *store.Store
	box     *secretbox.Box
	log     *slog.Logger
	http    *http.Client
	baseURL string
	memo    memo
}

// New adds the alerts to a built engine, before it starts: the queue, the
// evaluation job and, unless Manual, its periodic run, and the evaluation
// to RunScheduledOnce.
func New(e *engine.Engine, cfg Config) (*Service, error) {
	cfg.Tick = cmp.Or(cfg.Tick, time.Minute)
	cfg.NotifyAttempts = cmp.Or(cfg.NotifyAttempts, 3)
	cfg.NotifyBackoff = cmp.Or(cfg.NotifyBackoff, 2*time.Second)
	cfg.NotifyTimeout = cmp.Or(cfg.NotifyTimeout, 10*time.Second)
	ec := e.Config()
	s := &Service{e: e, cfg: cfg, st: ec.Store, box: e.SecretBox(), log: ec.Logger, http: ec.HTTPClient, baseURL: ec.BaseURL}
	if err := e.AddQueue(queueAlerts, 1); err != nil {
		return nil, err
	}
	engine.AddWorker(e, &worker{s: s})
	if !cfg.Manual {
		e.AddPeriodicJob(river.NewPeriodicJob(river.PeriodicInterval(cfg.Tick), func() (river.JobArgs, *river.InsertOpts) {
			return Args{}, insertOpts()
		}, &river.PeriodicJobOpts{ID: "alerts"}))
	}
	e.OnRound(func(ctx context.Context, _ *engine.Round) error {
		_, err := s.Evaluate(ctx)
		return err
	})
	return s, nil
}

// Args is the periodic job that evaluates the alert rules. River's
// periodic jobs are enqueued by the elected leader only, so the rules are
// evaluated once across replicas; the unique index on open alerts keeps a
// condition to one alert even if two evaluations ever overlapped.
type Args struct{}

// Kind is the job kind in River's table.
func (Args) Kind() string { return "crossdock_alerts" }

func insertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueAlerts, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled}}}
}

type worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

func (w *worker) Work(ctx context.Context, _ *river.Job[Args]) error {
	_, err := w.s.Evaluate(ctx)
	return err
}

// memo keeps the last subscription check: it calls Shopify, so it runs
// once per rule window, not at every evaluation.
type memo struct {
	mu        sync.Mutex
	subsAt    time.Time
	subsConds []store.AlertCondition
}

// Evaluate checks every rule now, opens, refreshes and resolves alerts,
// and sends what is due. It returns what it sent (tests, the page's "check now").
func (s *Service) Evaluate(ctx context.Context) ([]store.AlertNotice, error) {
	now := time.Now()
	rs, err := s.st.AlertRules(ctx)
	if err != nil {
		return nil, err
	}
	// Alerts about a data family, or its comparison, are raised only while
	// a system decides it: one the merchant cannot clear is noise.
	sources, err := s.st.SourceRules(ctx)
	if err != nil {
		return nil, err
	}
	var evaluated []store.AlertRule
	var conds []store.AlertCondition
	for _, r := range rs {
		if !r.Enabled {
			evaluated = append(evaluated, r) // its open alerts resolve
			continue
		}
		cs, err := s.conditions(ctx, r, now)
		if err != nil {
			// Not known is not cleared: this kind's open alerts stay as they are.
			s.log.Warn("alert rule not evaluated", "kind", r.Kind, "err", err)
			continue
		}
		evaluated = append(evaluated, r)
		for _, c := range cs {
			if recon.FamilyHasSource(sources, c.Key) {
				conds = append(conds, c)
			}
		}
	}
	notices, err := s.st.ApplyAlertConditions(ctx, evaluated, conds, now)
	if err != nil {
		return nil, err
	}
	s.sendNotices(ctx, notices)
	return notices, nil
}

func (s *Service) conditions(ctx context.Context, r store.AlertRule, now time.Time) ([]store.AlertCondition, error) {
	var out []store.AlertCondition
	switch r.Kind {
	case store.AlertWebhookFailureRate:
		w, err := s.st.WebhookFailuresSince(ctx, now.Add(-r.Window()))
		if err != nil {
			return nil, err
		}
		bad := w.Rejected + w.Failed
		if w.Total == 0 || bad == 0 {
			return nil, nil
		}
		rate := 100 * float64(bad) / float64(w.Total)
		if rate > r.Threshold {
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: "all", Value: rate,
				Title: fmt.Sprintf("%.0f%% of Shopify's webhooks failed in the last %s", rate, engine.Minutes(r.Window())),
				Message: fmt.Sprintf("%s of %s webhook deliveries were turned away (%s) or could not be processed (%s). "+
					"Open the connection's Webhooks page to see why: a wrong API secret key turns every delivery away, and "+
					"Shopify deletes a subscription that keeps failing.", number.Thousands(bad), number.Thousands(w.Total), number.Thousands(w.Rejected), number.Thousands(w.Failed))})
		}
	case store.AlertIntakeStuck:
		l, err := s.st.WebhookIntakeLag(ctx)
		if err != nil {
			return nil, err
		}
		limit := time.Duration(r.Threshold * float64(time.Minute))
		if l.Oldest > limit {
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: "all", Value: l.Oldest.Seconds(),
				Title: fmt.Sprintf("Webhook intake is stuck: the oldest event has waited %s", engine.Minutes(l.Oldest)),
				Message: fmt.Sprintf("A webhook event Shopify delivered %s ago is still waiting to become syncs (the alert is at %s), "+
					"and every event after it waits too. Crossdock may be stopped, or unable to write to its database: "+
					"check that it runs and read its log.", engine.Minutes(l.Oldest), engine.Minutes(limit))})
		}
	case store.AlertQueueLag:
		qs, err := s.st.QueueStats(ctx)
		if err != nil {
			return nil, err
		}
		limit := time.Duration(r.Threshold * float64(time.Minute))
		for _, q := range qs {
			if q.OldestWaitingAt == nil || now.Sub(*q.OldestWaitingAt) <= limit {
				continue
			}
			lag := now.Sub(*q.OldestWaitingAt)
			f := vocab.Family(q.Family)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: q.Family, Value: lag.Seconds(),
				Title: fmt.Sprintf("The %s flow is %s behind", f.Noun(), engine.Minutes(lag)),
				Message: fmt.Sprintf("The oldest change of %s has waited %s (the alert is at %s); %s wait, %s are retrying. "+
					"Look at Syncs for the flow: a system may be slow, paused or refusing changes.", f.Noun(), engine.Minutes(lag), engine.Minutes(limit), number.Thousands(q.Pending), number.Thousands(q.Retrying))})
		}
	case store.AlertFreshnessMissed:
		rs, err := s.e.Rules(ctx)
		if err != nil {
			return nil, err
		}
		qs, err := s.st.QueueStats(ctx)
		if err != nil {
			return nil, err
		}
		last, err := s.st.LastSuccesses(ctx)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			f := vocab.Family(q.Family)
			fresh := time.Duration(rs.Rule(f).FreshnessMinutes) * time.Minute
			if q.OldestWaitingAt == nil || now.Sub(*q.OldestWaitingAt) <= fresh {
				continue
			}
			if t, ok := last[q.Family]; ok && now.Sub(t) <= fresh {
				continue
			}
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: q.Family, Value: now.Sub(*q.OldestWaitingAt).Seconds(),
				Title: fmt.Sprintf("The %s flow missed its freshness target of %s", f.Noun(), engine.Minutes(fresh)),
				Message: fmt.Sprintf("Nothing of the %s flow got through for more than %s, and changes are waiting. "+
					"Open the Overview: the flow's card says what to do.", f.Noun(), engine.Minutes(fresh))})
		}
	case store.AlertFailedSyncsBurst:
		n, err := s.st.FailedSince(ctx, now.Add(-r.Window()))
		if err != nil {
			return nil, err
		}
		for fam, c := range n {
			if float64(c) < r.Threshold {
				continue
			}
			f := vocab.Family(fam)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: fam, Value: float64(c),
				Title: fmt.Sprintf("%s: %s syncs failed in the last %s", f.Label(), number.Thousands(c), engine.Minutes(r.Window())),
				Message: fmt.Sprintf("%s syncs of %s started in the last %s failed or are retrying. Open Failed syncs: "+
					"they are grouped by cause, each with what fixes it; fix the cause, then try them again.", number.Thousands(c), f.Noun(), engine.Minutes(r.Window()))})
		}
	case store.AlertBreakerOpen:
		// Every replica's breakers, not only this one's: the rule is
		// evaluated on one replica, the breaker may have opened on another.
		css, err := s.e.SharedConnections(ctx)
		if err != nil {
			return nil, err
		}
		for _, cs := range css {
			if !cs.BreakerOpen {
				continue
			}
			name := engine.Or(cs.Name, "connection #"+strconv.FormatInt(cs.ConnectionID, 10))
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: strconv.FormatInt(cs.ConnectionID, 10),
				Title: fmt.Sprintf("Crossdock stopped sending to %s for a while", name),
				Message: fmt.Sprintf("%s failed several times in a row, so Crossdock pauses its changes until %s and then tries one. "+
					"Nothing is lost: they wait in the queue. Check that the system is up and its credentials are valid.", name, cs.OpenUntil.Format("15:04:05 MST"))})
		}
	case store.AlertSubscriptionGone:
		return s.subscriptionConditions(ctx, r, now)
	case store.AlertSignInEnding:
		return s.signInConditions(ctx, r, now)
	case store.AlertReconDiscrepancies:
		n, err := s.st.ReconCounts(ctx)
		if err != nil {
			return nil, err
		}
		for fam, c := range n {
			if float64(c) < r.Threshold {
				continue
			}
			label, noun := reconWhat(fam)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: fam, Value: float64(c),
				Title: fmt.Sprintf("%s: %s differences between systems are open", label, number.Thousands(c)),
				Message: fmt.Sprintf("Reconciliation found %s open differences in %s. Open Reconciliation → Discrepancies, "+
					"filter on this kind of data, and assign, fix or send the source's value.", number.Thousands(c), noun)})
		}
	case store.AlertLongWorkStuck:
		limit := time.Duration(r.Threshold * float64(time.Minute))
		stuck, err := s.st.StuckLongWork(ctx, limit)
		if err != nil {
			return nil, err
		}
		for _, w := range stuck {
			idle := now.Sub(w.Since)
			c := store.AlertCondition{Kind: r.Kind, Key: w.What + ":" + strconv.FormatInt(w.ID, 10), Value: idle.Seconds()}
			if w.What == "reconciliation" {
				label, noun := reconWhat(w.Label)
				c.Title = fmt.Sprintf("%s: comparison #%d has not moved for %s", label, w.ID, engine.Minutes(idle))
				c.Message = fmt.Sprintf("No Crossdock replica has worked on the comparison of %s (run #%d) for %s (the alert is at %s), "+
					"and no other comparison of it can start meanwhile. Work of a replica that stopped is taken over within a minute: "+
					"check that Crossdock runs and read its log.", noun, w.ID, engine.Minutes(idle), engine.Minutes(limit))
			} else {
				c.Title = fmt.Sprintf("Bulk try-again #%d has not moved for %s", w.ID, engine.Minutes(idle))
				c.Message = fmt.Sprintf("No Crossdock replica has worked on “%s” (bulk try-again #%d) for %s (the alert is at %s). "+
					"Work of a replica that stopped is taken over within a minute: check that Crossdock runs and read its log.",
					w.Label, w.ID, engine.Minutes(idle), engine.Minutes(limit))
			}
			out = append(out, c)
		}
	case store.AlertReconRunFailed:
		runs, err := s.st.FailedReconRuns(ctx)
		if err != nil {
			return nil, err
		}
		rs, err := s.e.Rules(ctx)
		if err != nil {
			return nil, err
		}
		firstSet, err := s.st.SourcesFirstSet(ctx)
		if err != nil {
			return nil, err
		}
		for _, run := range runs {
			if f := vocab.Family(run.Family); f.Valid() {
				// A comparison needs the family's source. One that failed for
				// want of it, before any source was set, cannot be cleared by
				// the merchant: the next comparison, under the source, tells.
				if set, ok := firstSet[run.Family]; rs.Rule(f).Master == 0 || !ok || run.CreatedAt.Before(set) {
					continue
				}
			}
			label, noun := reconWhat(run.Family)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: run.Family, Value: 1,
				Title: fmt.Sprintf("%s: the latest comparison failed", label),
				Message: fmt.Sprintf("The comparison of %s (run #%d) failed: %s Open Reconciliation to see why, fix it, "+
					"then compare again; open differences stay open meanwhile.", noun, run.ID, engine.Or(run.Message, "no reason was recorded."))})
		}
	}
	return out, nil
}

// subscriptionConditions lists the Shopify connections missing a webhook
// subscription Crossdock needs, checked once per rule window.
func (s *Service) subscriptionConditions(ctx context.Context, r store.AlertRule, now time.Time) ([]store.AlertCondition, error) {
	if s.baseURL == "" {
		return nil, nil // no address to compare subscriptions with
	}
	if !strings.HasPrefix(strings.ToLower(s.baseURL), "https://") {
		// Shopify accepts https webhook addresses only: registering cannot
		// succeed, so the alert could never clear. The Overview and the
		// connection's page say to set CROSSDOCK_BASE_URL to https instead.
		return nil, nil
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	if !s.memo.subsAt.IsZero() && now.Sub(s.memo.subsAt) < r.Window() {
		return s.memo.subsConds, nil
	}
	cs, err := s.st.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.AlertCondition
	for _, c := range cs {
		if k, ok := s.e.Kinds().Kind(c.Kind); !ok || k.Webhooks == nil || !c.Enabled {
			continue
		}
		subs, err := s.e.WebhookSubscriptions(ctx, c.ID)
		if err != nil {
			s.log.Warn("webhook subscriptions not checked", "connection_id", c.ID, "err", err)
			continue
		}
		var missing []string
		for _, s := range subs {
			if !s.Registered {
				missing = append(missing, s.Topic)
			}
		}
		if len(missing) == 0 {
			continue
		}
		out = append(out, store.AlertCondition{Kind: r.Kind, Key: strconv.FormatInt(c.ID, 10), Value: float64(len(missing)),
			Title: fmt.Sprintf("%s is not sending %s to Crossdock", c.Name, strings.Join(missing, ", ")),
			Message: fmt.Sprintf("Shopify has no webhook subscription for %s pointing at Crossdock (Shopify deletes one that keeps "+
				"failing, without warning). Open the connection's Webhook subscriptions and register them; the scheduled checks catch up the gap.",
				strings.Join(missing, ", "))})
	}
	s.memo.subsAt, s.memo.subsConds = now, out
	return out, nil
}

// Stages of a sign-in that is ending (the alert's value): each fires a new
// alert.
const (
	signInIn30Days = 1
	signInIn7Days  = 2
	signInEnded    = 3
)

// signInAhead is when the first alert of an ending sign-in fires, as the
// connection's page starts warning; signInSoon when it fires again.
const (
	signInAhead = 30 * 24 * time.Hour
	signInSoon  = 7 * 24 * time.Hour
)

// signInConditions lists the enabled connections made by signing in whose
// sign-in ends within 30 days (QuickBooks' 5-year limit), has ended, or
// was refused by their system (invalid_grant) since they were last
// connected. Connecting again clears it: the new sign-in's end is years
// away, and a refusal from before it no longer counts.
func (s *Service) signInConditions(ctx context.Context, r store.AlertRule, now time.Time) ([]store.AlertCondition, error) {
	cs, err := s.st.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.AlertCondition
	refused := map[vocab.Kind]map[int64]time.Time{}
	for _, c := range cs {
		if signs, _ := s.e.SignsIn(c); !c.Enabled || !signs {
			continue
		}
		system := string(c.Kind)
		if k, ok := s.e.Kinds().Kind(c.Kind); ok {
			system = k.Label
		}
		if _, ok := refused[c.Kind]; !ok {
			if refused[c.Kind], err = s.st.RefusedSignIns(ctx, c.Kind); err != nil {
				return nil, err
			}
		}
		cond := store.AlertCondition{Kind: r.Kind, Key: strconv.FormatInt(c.ID, 10), Escalate: true}
		again := fmt.Sprintf("Open the connection %s in Crossdock and press “Connect to %s”, then sign in to the same company.", c.Name, system)
		by, known := s.e.ReconnectBy(ctx, c.ID)
		left := by.Sub(now)
		switch at, ok := refused[c.Kind][c.ID]; {
		case ok:
			cond.Value = signInEnded
			cond.Title = fmt.Sprintf("Reconnect needed: %s refused Crossdock's sign-in to %s", system, c.Name)
			cond.Message = fmt.Sprintf("%s no longer accepts Crossdock's sign-in to %s (last refused %s): someone disconnected the app, "+
				"or the sign-in expired. Syncs into it fail until it is connected again; nothing is lost, they can be tried again then. %s",
				system, c.Name, at.UTC().Format("2 January 2006 15:04 MST"), again)
		case !known || left > signInAhead:
			continue
		case left <= 0:
			cond.Value = signInEnded
			cond.Title = fmt.Sprintf("Reconnect needed: the sign-in to %s ended on %s", c.Name, by.UTC().Format("2 January 2006"))
			cond.Message = fmt.Sprintf("%s lets a sign-in last at most 5 years, and the one Crossdock uses for %s ended on %s: "+
				"syncs into it fail until it is connected again. %s", system, c.Name, by.UTC().Format("2 January 2006"), again)
		default:
			cond.Value = signInIn30Days
			if left <= signInSoon {
				cond.Value = signInIn7Days
			}
			days := int(math.Ceil(left.Hours() / 24))
			cond.Title = fmt.Sprintf("Reconnect %s within %s", c.Name, map[bool]string{true: "a day", false: fmt.Sprintf("%d days", days)}[days == 1])
			cond.Message = fmt.Sprintf("%s lets a sign-in last at most 5 years: the one Crossdock uses for %s ends on %s, "+
				"and syncs into it stop then. %s", system, c.Name, by.UTC().Format("2 January 2006"), again)
		}
		out = append(out, cond)
	}
	return out, nil
}

// reconWhat names a reconciliation family: a data family, or the mappings.
func reconWhat(fam string) (label, noun string) {
	if f := vocab.Family(fam); f.Valid() {
		return f.Label(), f.Noun()
	}
	return "Mappings", "mapping references"
}

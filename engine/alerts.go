package engine

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/vocab"
)

const queueAlerts = "alerts"

// AlertArgs is the periodic job that evaluates the alert rules. River's
// periodic jobs are enqueued by the elected leader only, so the rules are
// evaluated once across replicas; the unique index on open alerts keeps a
// condition to one alert even if two evaluations ever overlapped.
type AlertArgs struct{}

// Kind is the job kind in River's table.
func (AlertArgs) Kind() string { return "crossdock_alerts" }

func alertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueAlerts, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled}}}
}

type alertWorker struct {
	river.WorkerDefaults[AlertArgs]
	e *Engine
}

func (w *alertWorker) Work(ctx context.Context, _ *river.Job[AlertArgs]) error {
	_, err := w.e.EvaluateAlerts(ctx)
	return err
}

// alertMemo keeps the last subscription check: it calls Shopify, so it runs
// once per rule window, not at every evaluation.
type alertMemo struct {
	mu        sync.Mutex
	subsAt    time.Time
	subsConds []store.AlertCondition
}

// EvaluateAlerts checks every rule now, opens, refreshes and resolves alerts,
// and sends what is due. It returns what it sent (tests, the page's "check now").
func (e *Engine) EvaluateAlerts(ctx context.Context) ([]store.AlertNotice, error) {
	now := time.Now()
	rs, err := e.st.AlertRules(ctx)
	if err != nil {
		return nil, err
	}
	// Alerts about a data family, or its comparison, are raised only while
	// a system decides it: one the merchant cannot clear is noise.
	sources, err := e.st.SourceRules(ctx)
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
		cs, err := e.alertConditions(ctx, r, now)
		if err != nil {
			// Not known is not cleared: this kind's open alerts stay as they are.
			e.log.Warn("alert rule not evaluated", "kind", r.Kind, "err", err)
			continue
		}
		evaluated = append(evaluated, r)
		for _, c := range cs {
			if familyHasSource(sources, c.Key) {
				conds = append(conds, c)
			}
		}
	}
	notices, err := e.st.ApplyAlertConditions(ctx, evaluated, conds, now)
	if err != nil {
		return nil, err
	}
	e.sendNotices(ctx, notices)
	return notices, nil
}

func minutes(d time.Duration) string {
	m := int(math.Round(d.Minutes()))
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

func (e *Engine) alertConditions(ctx context.Context, r store.AlertRule, now time.Time) ([]store.AlertCondition, error) {
	var out []store.AlertCondition
	switch r.Kind {
	case store.AlertWebhookFailureRate:
		w, err := e.st.WebhookFailuresSince(ctx, now.Add(-r.Window()))
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
				Title: fmt.Sprintf("%.0f%% of Shopify's webhooks failed in the last %s", rate, minutes(r.Window())),
				Message: fmt.Sprintf("%s of %s webhook deliveries were turned away (%s) or could not be processed (%s). "+
					"Open the connection's Webhooks page to see why: a wrong API secret key turns every delivery away, and "+
					"Shopify deletes a subscription that keeps failing.", vocab.Thousands(bad), vocab.Thousands(w.Total), vocab.Thousands(w.Rejected), vocab.Thousands(w.Failed))})
		}
	case store.AlertIntakeStuck:
		l, err := e.st.WebhookIntakeLag(ctx)
		if err != nil {
			return nil, err
		}
		limit := time.Duration(r.Threshold * float64(time.Minute))
		if l.Oldest > limit {
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: "all", Value: l.Oldest.Seconds(),
				Title: fmt.Sprintf("Webhook intake is stuck: the oldest event has waited %s", minutes(l.Oldest)),
				Message: fmt.Sprintf("A webhook event Shopify delivered %s ago is still waiting to become syncs (the alert is at %s), "+
					"and every event after it waits too. Crossdock may be stopped, or unable to write to its database: "+
					"check that it runs and read its log.", minutes(l.Oldest), minutes(limit))})
		}
	case store.AlertQueueLag:
		qs, err := e.st.QueueStats(ctx)
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
				Title: fmt.Sprintf("The %s flow is %s behind", f.Noun(), minutes(lag)),
				Message: fmt.Sprintf("The oldest change of %s has waited %s (the alert is at %s); %s wait, %s are retrying. "+
					"Look at Syncs for the flow: a system may be slow, paused or refusing changes.", f.Noun(), minutes(lag), minutes(limit), vocab.Thousands(q.Pending), vocab.Thousands(q.Retrying))})
		}
	case store.AlertFreshnessMissed:
		rs, err := e.Rules(ctx)
		if err != nil {
			return nil, err
		}
		qs, err := e.st.QueueStats(ctx)
		if err != nil {
			return nil, err
		}
		last, err := e.st.LastSuccesses(ctx)
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
				Title: fmt.Sprintf("The %s flow missed its freshness target of %s", f.Noun(), minutes(fresh)),
				Message: fmt.Sprintf("Nothing of the %s flow got through for more than %s, and changes are waiting. "+
					"Open the Overview: the flow's card says what to do.", f.Noun(), minutes(fresh))})
		}
	case store.AlertFailedSyncsBurst:
		n, err := e.st.FailedSince(ctx, now.Add(-r.Window()))
		if err != nil {
			return nil, err
		}
		for fam, c := range n {
			if float64(c) < r.Threshold {
				continue
			}
			f := vocab.Family(fam)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: fam, Value: float64(c),
				Title: fmt.Sprintf("%s: %s syncs failed in the last %s", f.Label(), vocab.Thousands(c), minutes(r.Window())),
				Message: fmt.Sprintf("%s syncs of %s started in the last %s failed or are retrying. Open Failed syncs: "+
					"they are grouped by cause, each with what fixes it; fix the cause, then try them again.", vocab.Thousands(c), f.Noun(), minutes(r.Window()))})
		}
	case store.AlertBreakerOpen:
		// Every replica's breakers, not only this one's: the rule is
		// evaluated on one replica, the breaker may have opened on another.
		css, err := e.SharedConnections(ctx)
		if err != nil {
			return nil, err
		}
		for _, cs := range css {
			if !cs.BreakerOpen {
				continue
			}
			name := cmpStr(cs.Name, "connection #"+strconv.FormatInt(cs.ConnectionID, 10))
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: strconv.FormatInt(cs.ConnectionID, 10),
				Title: fmt.Sprintf("Crossdock stopped sending to %s for a while", name),
				Message: fmt.Sprintf("%s failed several times in a row, so Crossdock pauses its changes until %s and then tries one. "+
					"Nothing is lost: they wait in the queue. Check that the system is up and its credentials are valid.", name, cs.OpenUntil.Format("15:04:05 MST"))})
		}
	case store.AlertSubscriptionGone:
		return e.subscriptionConditions(ctx, r, now)
	case store.AlertReconDiscrepancies:
		n, err := e.st.ReconCounts(ctx)
		if err != nil {
			return nil, err
		}
		for fam, c := range n {
			if float64(c) < r.Threshold {
				continue
			}
			label, noun := reconWhat(fam)
			out = append(out, store.AlertCondition{Kind: r.Kind, Key: fam, Value: float64(c),
				Title: fmt.Sprintf("%s: %s differences between systems are open", label, vocab.Thousands(c)),
				Message: fmt.Sprintf("Reconciliation found %s open differences in %s. Open Reconciliation → Discrepancies, "+
					"filter on this kind of data, and assign, fix or send the source's value.", vocab.Thousands(c), noun)})
		}
	case store.AlertLongWorkStuck:
		limit := time.Duration(r.Threshold * float64(time.Minute))
		stuck, err := e.st.StuckLongWork(ctx, limit)
		if err != nil {
			return nil, err
		}
		for _, w := range stuck {
			idle := now.Sub(w.Since)
			c := store.AlertCondition{Kind: r.Kind, Key: w.What + ":" + strconv.FormatInt(w.ID, 10), Value: idle.Seconds()}
			if w.What == "reconciliation" {
				label, noun := reconWhat(w.Label)
				c.Title = fmt.Sprintf("%s: comparison #%d has not moved for %s", label, w.ID, minutes(idle))
				c.Message = fmt.Sprintf("No Crossdock replica has worked on the comparison of %s (run #%d) for %s (the alert is at %s), "+
					"and no other comparison of it can start meanwhile. Work of a replica that stopped is taken over within a minute: "+
					"check that Crossdock runs and read its log.", noun, w.ID, minutes(idle), minutes(limit))
			} else {
				c.Title = fmt.Sprintf("Bulk try-again #%d has not moved for %s", w.ID, minutes(idle))
				c.Message = fmt.Sprintf("No Crossdock replica has worked on “%s” (bulk try-again #%d) for %s (the alert is at %s). "+
					"Work of a replica that stopped is taken over within a minute: check that Crossdock runs and read its log.",
					w.Label, w.ID, minutes(idle), minutes(limit))
			}
			out = append(out, c)
		}
	case store.AlertReconRunFailed:
		runs, err := e.st.FailedReconRuns(ctx)
		if err != nil {
			return nil, err
		}
		rs, err := e.Rules(ctx)
		if err != nil {
			return nil, err
		}
		firstSet, err := e.st.SourcesFirstSet(ctx)
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
					"then compare again; open differences stay open meanwhile.", noun, run.ID, cmpStr(run.Message, "no reason was recorded."))})
		}
	}
	return out, nil
}

// subscriptionConditions lists the Shopify connections missing a webhook
// subscription Crossdock needs, checked once per rule window.
func (e *Engine) subscriptionConditions(ctx context.Context, r store.AlertRule, now time.Time) ([]store.AlertCondition, error) {
	if e.cfg.BaseURL == "" {
		return nil, nil // no address to compare subscriptions with
	}
	if !strings.HasPrefix(strings.ToLower(e.cfg.BaseURL), "https://") {
		// Shopify accepts https webhook addresses only: registering cannot
		// succeed, so the alert could never clear. The Overview and the
		// connection's page say to set CROSSDOCK_BASE_URL to https instead.
		return nil, nil
	}
	e.memo.mu.Lock()
	defer e.memo.mu.Unlock()
	if !e.memo.subsAt.IsZero() && now.Sub(e.memo.subsAt) < r.Window() {
		return e.memo.subsConds, nil
	}
	cs, err := e.st.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.AlertCondition
	for _, c := range cs {
		if c.Kind != vocab.KindShopify || !c.Enabled {
			continue
		}
		cl, _, err := e.shopify(ctx, c.ID)
		if err != nil {
			continue
		}
		callback := strings.TrimRight(e.cfg.BaseURL, "/") + fmt.Sprintf("/webhooks/shopify/%d", c.ID)
		subs, err := connectors.Subscriptions(ctx, cl, callback)
		if err != nil {
			e.log.Warn("webhook subscriptions not checked", "connection_id", c.ID, "err", err)
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
	e.memo.subsAt, e.memo.subsConds = now, out
	return out, nil
}

// reconWhat names a reconciliation family: a data family, or the mappings.
func reconWhat(fam string) (label, noun string) {
	if f := vocab.Family(fam); f.Valid() {
		return f.Label(), f.Noun()
	}
	return "Mappings", "mapping references"
}

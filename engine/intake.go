package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// intakeLoop turns stored webhook events into syncs until ctx ends. Every
// replica runs one: the claim skips rows another replica holds.
func (e *Engine) intakeLoop(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := e.IntakeOnce(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("webhook intake", "err", err)
			wait = time.Second
		case n < e.cfg.IntakeBatch:
			wait = e.cfg.IntakeInterval
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// eventPlan is what one webhook event becomes.
type eventPlan struct {
	outcome store.WebhookOutcome
	mark    *store.Watermark // checked first: a stale event becomes nothing
	syncs   []queued
	// superseded, when set, keeps an event older than its entity's mark as
	// skipped syncs saying so, instead of nothing: a family whose every
	// change is counted (stock levels: each one was applied, superseded by a
	// newer level of the same item, or failed). The same version again (a
	// duplicate) still becomes nothing.
	superseded string
}

// fanOut turns one webhook event into a sync per target. An event that could
// not be read (problem) becomes failed syncs that keep the raw payload, and
// no watermark, so a corrected delivery of the same version still comes
// through. Otherwise each target gets a waiting sync carrying payload, or a
// rejected one when the sources of truth refuse it; the event's version
// becomes the entity's watermark when at least one target may receive it.
func (e *Engine) fanOut(p eventPlan, rs rules.Rules, ev store.WebhookEvent, base store.NewSync, family vocab.Family, tgts []int64,
	problem string, payload any, waiting func(target int64) string) eventPlan {
	if problem != "" {
		p.outcome.Status, p.outcome.Error = store.WebhookFailed, problem
		for _, t := range tgts {
			s := base
			s.TargetConnectionID, s.Status, s.ErrorClass, s.Message = t, vocab.SyncFailed, vocab.ClassValidation, problem
			s.Payload = json.RawMessage(ev.Payload)
			s.IdempotencyKey = cmpStr(base.EntityRef, fmt.Sprintf("webhook-%d", ev.ID))
			p.syncs = append(p.syncs, queued{sync: s})
		}
		return p
	}
	allowed := false
	for _, t := range tgts {
		s := base
		s.TargetConnectionID, s.Payload = t, payload
		if d := rs.Decide(family, ev.ConnectionID, t, nil); !d.Allowed {
			s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
		} else {
			s.Message, allowed = waiting(t), true
		}
		p.syncs = append(p.syncs, queued{sync: s, lease: e.flows().lease(base.Flow, t, base.EntityRef)})
	}
	// A version nothing may receive is not handled: once a rule lets it
	// through, the same version (a replay, a redelivery, the sweep) still is.
	if allowed {
		p.mark = &store.Watermark{ConnectionID: ev.ConnectionID, EntityType: base.EntityType, ExternalID: base.EntityRef, Version: base.SourceVersion}
	}
	return p
}

// IntakeOnce claims one batch of received webhook events and, in the same
// transaction, creates their sync records and queue jobs and marks them
// processed, ignored or failed. It returns how many events it claimed.
//
// One event the database refuses (a value it cannot store) must not hold
// back the others: the batch rolls back whole, so its events are taken
// again one per transaction, and the one refused again is marked failed
// with the reason while the rest go on.
func (e *Engine) IntakeOnce(ctx context.Context) (int, error) {
	ids, err := e.intakeBatch(ctx, e.cfg.IntakeBatch)
	if err == nil || ctx.Err() != nil || !store.Refused(err) {
		return len(ids), err
	}
	e.log.Warn("webhook intake: the database refused a batch; taking its events one at a time", "events", len(ids), "err", err)
	for range ids {
		one, err := e.intakeBatch(ctx, 1)
		switch {
		case len(one) == 0:
			return len(ids), err // nothing left: another replica took them
		case err == nil:
			continue
		case ctx.Err() != nil || !store.Refused(err):
			return len(ids), err
		}
		e.log.Warn("webhook intake: event refused by the database", "webhook_event_id", one[0], "err", err)
		reason := "Crossdock could not record this event: it holds " + store.RefusalWords(err) +
			". Nothing was sent on; the events after it went on."
		if err := e.st.FailWebhookEvent(ctx, one[0], reason); err != nil {
			return len(ids), err
		}
	}
	return len(ids), nil
}

// intakeBatch is one intake transaction over up to limit events. It returns
// the ids of the events it claimed, also when the transaction failed.
func (e *Engine) intakeBatch(ctx context.Context, limit int) ([]int64, error) {
	var ids []int64
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		evs, err := tx.ClaimWebhookEvents(ctx, limit)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		// Read after the claim: every rule saved before these events were
		// stored decides them.
		rs, err := e.rulesIn(ctx, tx)
		if err != nil {
			return err
		}
		if evs, err = e.takePrivacyRequests(ctx, tx, rs, evs); err != nil {
			return err
		}
		if evs, err = e.takeWarehouseCharges(ctx, tx, rs, evs); err != nil {
			return err
		}
		plans := make([]eventPlan, len(evs))
		var marks []store.Watermark
		var markOf []int
		for i, ev := range evs {
			plans[i] = unstorable(e.planEvent(rs, ev), ev)
			if m := plans[i].mark; m != nil {
				marks = append(marks, *m)
				markOf = append(markOf, i)
			}
		}
		accepted, err := tx.AdvanceWatermarks(ctx, marks)
		if err != nil {
			return err
		}
		var stale []int
		for j, ok := range accepted {
			if !ok {
				stale = append(stale, markOf[j])
			}
		}
		older, err := olderThanMark(ctx, tx, plans, stale)
		if err != nil {
			return err
		}
		for _, i := range stale {
			p := &plans[i]
			p.outcome.Status = store.WebhookIgnored
			if !older[i] {
				p.syncs = nil
				p.outcome.Error = "Already handled: Crossdock has processed this version (or a newer one) of the same record."
				continue
			}
			for k := range p.syncs {
				s := &p.syncs[k].sync
				s.Status, s.ErrorClass, s.Message = vocab.SyncSkipped, "", p.superseded
			}
			p.outcome.Error = "Superseded: " + p.superseded
		}
		var qs []queued
		for _, p := range plans {
			qs = append(qs, p.syncs...)
		}
		if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
			return err
		}
		outs := make([]store.WebhookOutcome, len(plans))
		for i, p := range plans {
			outs[i] = p.outcome
		}
		return tx.MarkWebhookEvents(ctx, outs)
	})
	return ids, err
}

// olderThanMark tells, of the plans whose watermark was turned away (stale)
// and that keep superseded events, those whose version is older than their
// entity's mark now — a newer version was accepted first, in an earlier
// batch or in this one — from the same version delivered again. It reads the
// marks in the transaction that advanced them.
func olderThanMark(ctx context.Context, tx *store.Tx, plans []eventPlan, stale []int) (map[int]bool, error) {
	type kind struct {
		conn int64
		typ  string
	}
	refs := map[kind][]string{}
	for _, i := range stale {
		if m := plans[i].mark; plans[i].superseded != "" {
			refs[kind{m.ConnectionID, m.EntityType}] = append(refs[kind{m.ConnectionID, m.EntityType}], m.ExternalID)
		}
	}
	older := map[int]bool{}
	for k, ids := range refs {
		marks, err := tx.Watermarks(ctx, k.conn, k.typ, ids)
		if err != nil {
			return nil, err
		}
		for _, i := range stale {
			m := plans[i].mark
			if plans[i].superseded == "" || m.ConnectionID != k.conn || m.EntityType != k.typ {
				continue
			}
			// PostgreSQL keeps microseconds: compare at that precision, so a
			// duplicate is never taken for an older version.
			if v, ok := marks[m.ExternalID]; ok && v.After(m.Version.Round(time.Microsecond)) {
				older[i] = true
			}
		}
	}
	return older, nil
}

// planEvent decides what a webhook event becomes. It never fails: whatever
// arrives ends as syncs, or as an event marked with the reason it is not one.
func (e *Engine) planEvent(rs rules.Rules, ev store.WebhookEvent) eventPlan {
	p := eventPlan{outcome: store.WebhookOutcome{ID: ev.ID, Status: store.WebhookProcessed}}
	src, ok := rs.Conn(ev.ConnectionID)
	flows := e.flows()
	if !ok || !flows.kinds[src.Kind] {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "This connection's webhooks are not synced."
		return p
	}
	// A system may sign the body but not the topic: a body is acted on only
	// when it is a record of the kind its topic names.
	if k, ok := e.kinds.Kind(src.Kind); ok && k.Webhooks != nil && k.Webhooks.CheckShape != nil {
		if problem := k.Webhooks.CheckShape(ev.Topic, ev.Payload); problem != "" {
			p.outcome.Status, p.outcome.Error = store.WebhookFailed, problem
			return p
		}
	}
	fs := flows.byTopic[[2]string{string(src.Kind), ev.Topic}]
	if len(fs) == 0 {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = fmt.Sprintf("Crossdock does not sync %q events yet; the event is kept here.", ev.Topic)
		return p
	}
	// A topic may plan several flows (an order goes to the ERP and to the
	// warehouse): each flow whose kind of target is connected plans its own
	// syncs. With none connected, the first says so in its own words.
	var live []*Flow
	for _, f := range fs {
		if hasKind(rs, f.To) {
			live = append(live, f)
		}
	}
	if len(live) == 0 {
		return fs[0].Plan(e, rs, ev, p)
	}
	out := live[0].Plan(e, rs, ev, p)
	for _, f := range live[1:] {
		out = mergePlans(out, f.Plan(e, rs, ev, p))
	}
	return out
}

// hasKind reports whether a system of a kind is connected.
func hasKind(rs rules.Rules, kind vocab.Kind) bool {
	for _, c := range rs.Connections {
		if c.Kind == kind {
			return true
		}
	}
	return false
}

// mergePlans joins the plans two flows made of one event: their syncs
// together, one watermark (the event's version of its entity, the same for
// both), and the outcome that says most: a failure over a processed event
// over an ignored one, their reasons joined.
func mergePlans(a, b eventPlan) eventPlan {
	a.syncs = append(a.syncs, b.syncs...)
	if a.mark == nil {
		a.mark = b.mark
	}
	if a.superseded == "" {
		a.superseded = b.superseded
	}
	rank := map[string]int{store.WebhookIgnored: 0, store.WebhookProcessed: 1, store.WebhookFailed: 2}
	switch ra, rb := rank[a.outcome.Status], rank[b.outcome.Status]; {
	case rb > ra:
		a.outcome.Status, a.outcome.Error = b.outcome.Status, b.outcome.Error
	case rb == ra && b.outcome.Error != "" && b.outcome.Error != a.outcome.Error:
		a.outcome.Error = strings.TrimSpace(a.outcome.Error + " " + b.outcome.Error)
	}
	return a
}

// targets lists the systems of a kind a family could be written into: its
// receivers of that kind or, when none is set up, every such system (so
// that the refusal is recorded and shown rather than nothing happening).
func targets(rs rules.Rules, f vocab.Family, kind vocab.Kind) []int64 {
	var out []int64
	for _, rc := range rs.Rule(f).Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == kind {
			out = append(out, c.ID)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, c := range rs.Connections {
		if c.Kind == kind {
			out = append(out, c.ID)
		}
	}
	return slices.Compact(out)
}

// planToOdoo fans a Shopify record's webhook event out into one sync per
// Odoo system that could receive its family; with none connected the event
// is kept, marked ignored, with the reason.
func (e *Engine) planToOdoo(rs rules.Rules, ev store.WebhookEvent, p eventPlan, f vocab.Family, base store.NewSync, problem string, rec any, label string) eventPlan {
	tgts := targets(rs, f, vocab.KindOdoo)
	if len(tgts) == 0 {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = "No ERP is connected to receive " + string(f) + "."
		return p
	}
	base.WebhookEventID = ev.ID
	return e.fanOut(p, rs, ev, base, f, tgts, problem, rec, func(t int64) string {
		return fmt.Sprintf("%s is waiting to be sent to %s.", label, rs.Name(t))
	})
}

// versionKey is the idempotency key of one version of a source record: its
// id and, when known, its updated_at.
func versionKey(id string, updatedAt time.Time) string {
	if updatedAt.IsZero() {
		return id
	}
	return id + "@" + updatedAt.UTC().Format(time.RFC3339)
}

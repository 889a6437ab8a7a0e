package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"crossdock/engine/rules"
	"crossdock/store"
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
}

// fanOut turns one webhook event into a sync per target. An event that could
// not be read (problem) becomes failed syncs that keep the raw payload, and
// no watermark, so a corrected delivery of the same version still comes
// through. Otherwise each target gets a waiting sync carrying payload, or a
// rejected one when the sources of truth refuse it, and the event's version
// becomes the entity's watermark.
func fanOut(p eventPlan, rs rules.Rules, ev store.WebhookEvent, base store.NewSync, family rules.Family, tgts []int64,
	problem string, payload any, waiting func(target int64) string) eventPlan {
	if problem != "" {
		p.outcome.Status, p.outcome.Error = store.WebhookFailed, problem
		for _, t := range tgts {
			s := base
			s.TargetConnectionID, s.Status, s.ErrorClass, s.Message = t, store.SyncFailed, store.ClassValidation, problem
			s.Payload = json.RawMessage(ev.Payload)
			s.IdempotencyKey = cmpStr(base.EntityRef, fmt.Sprintf("webhook-%d", ev.ID))
			p.syncs = append(p.syncs, queued{sync: s})
		}
		return p
	}
	p.mark = &store.Watermark{ConnectionID: ev.ConnectionID, EntityType: base.EntityType, ExternalID: base.EntityRef, Version: base.SourceVersion}
	for _, t := range tgts {
		s := base
		s.TargetConnectionID, s.Payload = t, payload
		if d := rs.Decide(family, ev.ConnectionID, t, nil); !d.Allowed {
			s.Status, s.ErrorClass, s.Message = store.SyncRejected, store.ClassOwnership, d.Reason
		} else {
			s.Message = waiting(t)
		}
		p.syncs = append(p.syncs, queued{sync: s, lease: leaseFor(base.Flow, t, base.EntityRef)})
	}
	return p
}

// IntakeOnce claims one batch of received webhook events and, in the same
// transaction, creates their sync records and queue jobs and marks them
// processed, ignored or failed. It returns how many events it claimed.
func (e *Engine) IntakeOnce(ctx context.Context) (int, error) {
	rs, err := e.Rules(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		evs, err := tx.ClaimWebhookEvents(ctx, e.cfg.IntakeBatch)
		if err != nil {
			return err
		}
		n = len(evs)
		if n == 0 {
			return nil
		}
		plans := make([]eventPlan, len(evs))
		var marks []store.Watermark
		var markOf []int
		for i, ev := range evs {
			plans[i] = e.planEvent(rs, ev)
			if m := plans[i].mark; m != nil {
				marks = append(marks, *m)
				markOf = append(markOf, i)
			}
		}
		accepted, err := tx.AdvanceWatermarks(ctx, marks)
		if err != nil {
			return err
		}
		for j, ok := range accepted {
			if !ok {
				p := &plans[markOf[j]]
				p.syncs = nil
				p.outcome.Status = store.WebhookIgnored
				p.outcome.Error = "Already handled: Crossdock has processed this version (or a newer one) of the same record."
			}
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
	return n, err
}

// planEvent decides what a webhook event becomes. It never fails: whatever
// arrives ends as syncs, or as an event marked with the reason it is not one.
func (e *Engine) planEvent(rs rules.Rules, ev store.WebhookEvent) eventPlan {
	p := eventPlan{outcome: store.WebhookOutcome{ID: ev.ID, Status: store.WebhookProcessed}}
	src, ok := rs.Conn(ev.ConnectionID)
	if !ok || src.Kind != store.KindShopify {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "This connection's webhooks are not synced."
		return p
	}
	// A NUL character cannot be stored in a text column: one in a name or an
	// id would fail the whole batch's transaction, again at every claim.
	ev.Payload = store.WithoutNUL(ev.Payload)
	switch ev.Topic {
	case "orders/create":
		return e.planOrder(rs, ev, p)
	case "refunds/create":
		return e.planRefund(rs, ev, p)
	case "customers/create", "customers/update":
		return e.planCustomer(rs, ev, p)
	case "products/create", "products/update":
		return e.planProduct(rs, ev, p)
	case "inventory_levels/update":
		return e.planStockLevel(rs, ev, p)
	}
	p.outcome.Status = store.WebhookIgnored
	p.outcome.Error = fmt.Sprintf("Crossdock does not sync %q events yet; the event is kept here.", ev.Topic)
	return p
}

// targets lists the systems of a kind a family could be written into: its
// receivers of that kind or, when none is set up, every such system (so
// that the refusal is recorded and shown rather than nothing happening).
func targets(rs rules.Rules, f rules.Family, kind string) []int64 {
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
func planToOdoo(rs rules.Rules, ev store.WebhookEvent, p eventPlan, f rules.Family, base store.NewSync, problem string, rec any, label string) eventPlan {
	tgts := targets(rs, f, store.KindOdoo)
	if len(tgts) == 0 {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = "No ERP is connected to receive " + string(f) + "."
		return p
	}
	base.WebhookEventID = ev.ID
	return fanOut(p, rs, ev, base, f, tgts, problem, rec, func(t int64) string {
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

package handlers

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
)

// AuditStore is what the audit log page reads.
type AuditStore interface {
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, bool, error)
	AuditObjectTypes(ctx context.Context) ([]string, error)
	ListUsers(ctx context.Context) ([]store.User, error)
}

// Audit handles the audit log.
type Audit struct {
	Base
	Store AuditStore
}

const auditPageSize = 50

// List shows one page of the audit log, filtered by the query string.
func (h Audit) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	fv := views.AuditFilterView{UserID: c.Query("user"), ObjectType: c.Query("type"), From: c.Query("from"), To: c.Query("to")}
	f := store.AuditFilter{ObjectType: fv.ObjectType, Limit: auditPageSize}
	if fv.UserID != "" {
		id, err := strconv.ParseInt(fv.UserID, 10, 64)
		if err != nil {
			fv.Error, fv.UserID = "That person is not known; showing everyone.", ""
		}
		f.ActorID = id
	}
	if t, ok := parseDay(fv.From); ok {
		f.From = t
	} else if fv.From != "" {
		fv.Error, fv.From = "Dates look like 2026-11-03; the From date was ignored.", ""
	}
	if t, ok := parseDay(fv.To); ok {
		f.To = t.AddDate(0, 0, 1) // inclusive of the whole day
	} else if fv.To != "" {
		fv.Error, fv.To = "Dates look like 2026-11-03; the To date was ignored.", ""
	}
	if at, err := time.Parse(time.RFC3339Nano, c.Query("before_at")); err == nil {
		if id, err := strconv.ParseInt(c.Query("before_id"), 10, 64); err == nil {
			f.BeforeAt, f.BeforeID = at, id
		}
	}
	entries, more, err := h.Store.ListAudit(ctx, f)
	if err != nil {
		return err
	}
	users, err := h.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	types, err := h.Store.AuditObjectTypes(ctx)
	if err != nil {
		return err
	}
	p := views.AuditPage{Meta: h.Meta(c, "Audit log", "audit"), Filter: fv, Now: now()}
	p.Users = []components.Option{{Value: "", Label: "Everyone"}}
	// People by name; the e-mail only tells apart two who share one.
	named := map[string]int{}
	for _, u := range users {
		named[u.Name]++
	}
	for _, u := range users {
		label := cmp.Or(u.Name, u.Email)
		if named[u.Name] > 1 {
			label += " (" + u.Email + ")"
		}
		p.Users = append(p.Users, components.Option{Value: strconv.FormatInt(u.ID, 10), Label: label})
	}
	p.ObjectTypes = []components.Option{{Value: "", Label: "Everything"}}
	for _, t := range types {
		p.ObjectTypes = append(p.ObjectTypes, components.Option{Value: t, Label: auditObjectLabel(t)})
	}
	for _, e := range entries {
		p.Rows = append(p.Rows, views.AuditRow{At: e.At, Actor: actorLabel(e), Action: e.Action, ObjectType: e.ObjectType,
			ObjectID: e.ObjectID, Summary: e.Summary, Before: indentJSON(e.Before), After: indentJSON(e.After), RequestID: e.RequestID})
	}
	q := url.Values{}
	for k, v := range map[string]string{"user": fv.UserID, "type": fv.ObjectType, "from": fv.From, "to": fv.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.BeforeID != 0 {
		p.FirstHref = "/audit?" + q.Encode()
	}
	if more && len(entries) > 0 {
		last := entries[len(entries)-1]
		q.Set("before_at", last.At.Format(time.RFC3339Nano))
		q.Set("before_id", strconv.FormatInt(last.ID, 10))
		p.NextHref = "/audit?" + q.Encode()
	}
	return Render(c, views.Audit(p))
}

func actorLabel(e store.AuditEntry) string {
	if e.ActorName != "" {
		return e.ActorName
	}
	if e.ActorLabel == "" {
		return "Crossdock"
	}
	return e.ActorLabel
}

func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

func indentJSON(raw *json.RawMessage) string {
	if raw == nil || len(*raw) == 0 || string(*raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, *raw, "", "  ") != nil {
		return string(*raw)
	}
	return buf.String()
}

// auditObjectLabels name the kinds of things the audit log records in the
// product's words; a kind not named here shows as it is stored, spaced.
var auditObjectLabels = map[string]string{
	"address": "Addresses", "alert": "Alerts", "alert_channel": "Alert channels", "alert_rule": "Alert rules",
	"change_set": "Proposed changes", "collection": "Collections", "connection": "Connections",
	"discrepancy": "Discrepancies", "exclusion": "Excluded records", "finance": "Finance review",
	"flow": "Flows", "reconciliation": "Reconciliation", "rehearsal": "Peak rehearsals",
	"replay_batch": "Failed syncs tried again in bulk", "setting": "Settings", "settings": "Settings",
	"source_rule": "Sources of truth", "sync": "Syncs", "user": "Users", "variant": "Variants", "demo": "Demo workspace",
}

func auditObjectLabel(t string) string {
	if l, ok := auditObjectLabels[t]; ok {
		return l
	}
	return strings.ReplaceAll(t, "_", " ")
}

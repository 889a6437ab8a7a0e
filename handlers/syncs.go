package handlers

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// SyncStore is what the sync pages need from the store.
type SyncStore interface {
	SyncDocs // masking.go
	ListSyncs(ctx context.Context, f store.SyncFilter) ([]store.Sync, bool, error)
	SyncByID(ctx context.Context, id int64) (store.Sync, error)
	SyncAttempts(ctx context.Context, syncID int64) ([]store.SyncAttempt, error)
	ListConnections(ctx context.Context) ([]store.Connection, error)
	RecordNames(ctx context.Context, keys []store.RecordKey) (map[store.RecordKey]string, error)
}

// SweepRequester queues a check of every system now, whatever their schedules.
type SweepRequester interface {
	RequestSweep(ctx context.Context, a store.Actor) error
}

// Syncs lists the sync records and shows one with its evidence.
type Syncs struct {
	Base
	Store SyncStore
	// Sweep is nil when no engine runs: the "Check stock now" button is hidden.
	Sweep SweepRequester
	// Failures adds a failure's summary, versions and actions (failed_detail.go).
	Failures FailureReader
}

const (
	syncPageSize  = 50
	maxSearchSize = 200
)

// syncFilterKeys are the list's filters kept in the URL, in link order.
var syncFilterKeys = []string{"family", "status", "class", "source", "target", "q", "problems"}

// syncQuery reads the list's filters; unknown values are dropped with a
// message so a stale link still shows something.
func syncQuery(get func(string) string) (store.SyncFilter, views.SyncFilterView, url.Values) {
	var f store.SyncFilter
	v := views.SyncFilterView{Family: get("family"), Status: get("status"), Class: get("class"),
		Source: get("source"), Target: get("target"), Search: strings.TrimSpace(get("q")), Problems: get("problems") == "1"}
	var bad []string
	if v.Family != "" && !vocab.Family(v.Family).Valid() {
		bad, v.Family = append(bad, "kind of data"), ""
	}
	if v.Status != "" && !vocab.Status(v.Status).Valid() {
		bad, v.Status = append(bad, "status"), ""
	}
	if v.Class != "" && !vocab.ErrorClass(v.Class).Valid() {
		bad, v.Class = append(bad, "kind of problem"), ""
	}
	conn := func(s *string, what string) int64 {
		if *s == "" {
			return 0
		}
		id, err := strconv.ParseInt(*s, 10, 64)
		if err != nil || id <= 0 {
			bad, *s = append(bad, what), ""
			return 0
		}
		return id
	}
	f.SourceConnectionID = conn(&v.Source, "sending system")
	f.TargetConnectionID = conn(&v.Target, "receiving system")
	if len(v.Search) > maxSearchSize {
		bad, v.Search = append(bad, "search"), ""
	}
	if len(bad) > 0 {
		v.Error = "Some filters were not understood and are ignored (" + strings.Join(bad, ", ") + "). Choose them again below."
	}
	f.Family, f.Status, f.ErrorClass, f.Search, f.Problems = vocab.Family(v.Family), vocab.Status(v.Status), vocab.ErrorClass(v.Class), v.Search, v.Problems
	q := url.Values{}
	for k, val := range map[string]string{"family": v.Family, "status": v.Status, "class": v.Class, "source": v.Source,
		"target": v.Target, "q": v.Search} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if v.Problems {
		q.Set("problems", "1")
	}
	return f, v, q
}

type syncConns map[int64]store.Connection

func (m syncConns) view(id int64) views.SyncConn {
	if c, ok := m[id]; ok {
		return views.SyncConn{Name: c.Name, Environment: string(c.Environment)}
	}
	return views.SyncConn{Name: "Connection " + strconv.FormatInt(id, 10) + " (removed)", Missing: true}
}

func (h Syncs) connections(ctx context.Context) (syncConns, []store.Connection, error) {
	cs, err := h.Store.ListConnections(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := make(syncConns, len(cs))
	for _, c := range cs {
		m[c.ID] = c
	}
	return m, cs, nil
}

func syncRow(s store.Sync, conns syncConns, back string) views.SyncRow {
	href := "/syncs/" + strconv.FormatInt(s.ID, 10)
	if back != "" {
		href += "?" + url.Values{"back": {back}}.Encode()
	}
	return views.SyncRow{ID: s.ID, CreatedAt: s.CreatedAt, Family: familyLabel(string(s.Family)), Source: conns.view(s.SourceConnectionID),
		Target: conns.view(s.TargetConnectionID), Entity: entityLabel(s), Status: string(s.Status), Message: s.Message, Href: href}
}

func familyLabel(f string) string {
	if l := vocab.Family(f).Label(); l != "" {
		return l
	}
	return f
}

// entityLabel is what a sync is about in people's words: its label (an SKU,
// an order number), never a raw id; the id itself is technical detail.
func entityLabel(s store.Sync) string {
	if s.EntityKey != "" {
		return s.EntityKey
	}
	if s.EntityRef != "" && !rawRef(s.EntityRef) {
		return s.EntityRef
	}
	return cmp.Or(entityNoun(s.EntityType), "a record")
}

// rawRef reports whether ref is a system's own id (gid://…, location:5,
// res.partner/88), which pages show only as technical detail.
func rawRef(ref string) bool {
	return strings.Contains(ref, "/") || strings.Contains(ref, ":") || strings.Trim(ref, "0123456789") == ""
}

var entityNouns = map[string]string{"variant": "a product variant", "product": "a product", "order": "an order",
	"location": "a location", "customer": "a customer", "refund": "a refund", "fulfillment": "a fulfillment"}

func entityNoun(t string) string {
	if n, ok := entityNouns[t]; ok || t == "" {
		return n
	}
	return "a " + strings.ReplaceAll(t, "_", " ")
}

// nameRows adds to rows what the systems call their records (a product's
// title), looked up for the page's rows at once.
func nameRows(ctx context.Context, st SyncStore, syncs []store.Sync, rows []views.SyncRow) error {
	keys := make([]store.RecordKey, 0, 2*len(syncs))
	for _, s := range syncs {
		if s.EntityRef == "" || s.EntityType == "" {
			continue
		}
		keys = append(keys, store.RecordKey{ConnectionID: s.SourceConnectionID, EntityType: s.EntityType, ExternalID: s.EntityRef},
			store.RecordKey{ConnectionID: s.TargetConnectionID, EntityType: s.EntityType, ExternalID: s.EntityRef})
	}
	names, err := st.RecordNames(ctx, keys)
	if err != nil {
		return err
	}
	for i, s := range syncs {
		rows[i].EntityRef = s.EntityRef
		name := cmp.Or(names[store.RecordKey{ConnectionID: s.SourceConnectionID, EntityType: s.EntityType, ExternalID: s.EntityRef}],
			names[store.RecordKey{ConnectionID: s.TargetConnectionID, EntityType: s.EntityType, ExternalID: s.EntityRef}])
		if name != rows[i].Entity {
			rows[i].Name = name
		}
	}
	return nil
}

// List shows the recent syncs, newest first, filtered by what the URL says.
func (h Syncs) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, fv, q := syncQuery(func(k string) string { return c.Query(k) })
	f.BeforeAt, f.BeforeID = keysetCursor(c)
	f.Limit = syncPageSize
	conns, list, err := h.connections(ctx)
	if err != nil {
		return err
	}
	syncs, more, err := h.Store.ListSyncs(ctx, f)
	if err != nil {
		return err
	}
	u := CurrentUser(c)
	p := views.SyncsPage{Meta: h.Meta(c, "Syncs", "syncs"), Filter: fv, Filtered: len(q) > 0, Paged: f.BeforeID != 0,
		CanSweep: h.Sweep != nil && u != nil && u.Role != vocab.RoleFinance, NoConnections: len(list) == 0, Now: now()}
	p.Families = []components.Option{{Value: "", Label: "Every kind of data"}}
	for _, fam := range vocab.AllFamilies() {
		p.Families = append(p.Families, components.Option{Value: string(fam), Label: fam.Label()})
	}
	p.Statuses = []components.Option{{Value: "", Label: "Every status"}}
	for _, s := range vocab.AllStatuses() {
		p.Statuses = append(p.Statuses, components.Option{Value: string(s), Label: s.Label()})
	}
	p.Classes = []components.Option{{Value: "", Label: "Every kind of problem"}}
	for _, cl := range vocab.AllErrorClasses() {
		p.Classes = append(p.Classes, components.Option{Value: string(cl), Label: cl.Label()})
	}
	p.Sources = []components.Option{{Value: "", Label: "Any system"}}
	for _, conn := range list {
		p.Sources = append(p.Sources, components.Option{Value: strconv.FormatInt(conn.ID, 10), Label: conn.Name})
	}
	p.Targets = slices.Clone(p.Sources)
	back := q.Encode()
	for _, s := range syncs {
		p.Rows = append(p.Rows, syncRow(s, conns, back))
	}
	if err := nameRows(ctx, h.Store, syncs, p.Rows); err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	if err := maskSyncRows(ctx, m, h.Store, syncs, p.Rows); err != nil {
		return err
	}
	p.FirstHref, p.NextHref = pageLinks("/syncs", q, f.BeforeID != 0, more && len(syncs) > 0, func() (time.Time, int64) {
		return syncs[len(syncs)-1].CreatedAt, syncs[len(syncs)-1].ID
	})
	return Render(c, views.Syncs(p))
}

// Show shows one sync: what happened in plain words first, then the facts,
// then the technical evidence one click down.
func (h Syncs) Show(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	s, err := h.Store.SyncByID(ctx, id)
	if err != nil {
		return err
	}
	attempts, err := h.Store.SyncAttempts(ctx, id)
	if err != nil {
		return err
	}
	conns, _, err := h.connections(ctx)
	if err != nil {
		return err
	}
	// The way back keeps the list's filters, and only those.
	backValues, _ := url.ParseQuery(c.Query("back"))
	_, _, q := syncQuery(func(k string) string { return backValues.Get(k) })
	back := "/syncs"
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	m = m.WithDocs(s.Payload, s.Request, s.Response)
	d := views.SyncDetail{SyncRow: syncRow(s, conns, ""), UpdatedAt: s.UpdatedAt, Trigger: views.TriggerLabel(s.Trigger, conns[s.SourceConnectionID].Kind.Label()),
		Class: string(s.Class()), Attempts: s.Attempts, MaxAttempts: s.MaxAttempts, NextAttemptAt: s.NextAttemptAt, TargetRef: s.TargetRef,
		Payload: prettyJSON(m.JSON(s.Payload)), Request: prettyJSON(m.JSON(s.Request)), Response: prettyJSON(m.JSON(s.Response))}
	one := []views.SyncRow{d.SyncRow}
	if err := nameRows(ctx, h.Store, []store.Sync{s}, one); err != nil {
		return err
	}
	maskSyncRow(m, &one[0], s.EntityType)
	d.SyncRow = one[0]
	for _, a := range attempts {
		row := views.SyncAttemptRow{Number: a.Attempt, StartedAt: a.StartedAt, Status: string(a.Status), Message: m.Text(a.Message)}
		if a.ErrorClass != nil {
			row.Class = string(*a.ErrorClass)
		}
		if a.FinishedAt != nil {
			row.Duration = a.Duration().Round(time.Millisecond).String()
		}
		d.AttemptRows = append(d.AttemptRows, row)
	}
	title := d.Family + " · " + d.Entity
	page := views.SyncPage{Meta: h.Meta(c, title+" · Syncs", "syncs"), Sync: d, BackHref: back, Now: now()}
	if h.Failures != nil {
		if page.Failure, err = failureDetail(c, h.Failures, id, conns); err != nil {
			return err
		}
		maskFailure(m, page.Failure)
		if page.Failure != nil && page.Failure.StartedBy != "" {
			page.Sync.Trigger = page.Failure.StartedBy // by hand, or after an approval: who
		}
		if c.Query("from") == "failed" {
			_, _, fq := failedQuery(func(k string) string { return backValues.Get(k) })
			page.BackHref, page.BackLabel, page.Meta.Active = "/failed", "Failed syncs", "failed"
			if len(fq) > 0 {
				page.BackHref += "?" + fq.Encode()
			}
		}
	}
	return Render(c, views.SyncShow(page))
}

// prettyJSON indents JSON evidence; "" stands for none.
func prettyJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return prettyBody(b)
}

// RequestSweep queues a check of every system now and goes back to the list.
func (h Syncs) RequestSweep(c *fiber.Ctx) error {
	if h.Sweep == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so a check cannot be queued.")
	}
	if err := h.Sweep.RequestSweep(c.UserContext(), Actor(c)); err != nil {
		return err
	}
	h.Flash(c, "success", "A check of every system is queued: stock, prices, fulfillments, customers and products. Results appear below within a minute.")
	return Redirect(c, "/syncs")
}

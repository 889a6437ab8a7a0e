package handlers

import (
	"cmp"
	"context"
	"crossdock/store/mask"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
)

// MappingStore is what identifier mapping needs from the store.
type MappingStore interface {
	FailureFixOf(ctx context.Context, changeSetID int64) (*store.FailureFix, error)
	FixResultOf(ctx context.Context, batchID int64) (store.FixResult, error)
	EntityTypes(ctx context.Context) ([]store.EntityType, error)
	ListConnections(ctx context.Context) ([]store.Connection, error)
	ListMappings(ctx context.Context, f store.MappingFilter) ([]store.MappingRow, bool, error)
	ExportMappingsCSV(ctx context.Context, w io.Writer, f store.MappingFilter, m *mask.Masker) (int, error)
	EntityByID(ctx context.Context, id int64) (store.Entity, error)
	CurrentRefs(ctx context.Context, entityIDs []int64) ([]store.Ref, error)
	EntityTimeline(ctx context.Context, entityID int64) ([]store.TimelineEvent, error)
	CurrentVersion(ctx context.Context) (int64, error)
	VersionAt(ctx context.Context, t time.Time) (int64, error)
	LookupAt(ctx context.Context, term string, version int64) ([]store.HistoricMatch, error)
	ListUnmapped(ctx context.Context, f store.UnmappedFilter) ([]store.UnmappedRow, bool, error)
	ChangeSetFromSuggestions(ctx context.Context, a store.Actor, from, to int64, entityType string, ids []string, reason string) (store.ChangeSet, error)
	SuggestedIDs(ctx context.Context, from, to int64, entityType string, max int) ([]string, error)
	ImportMappingsCSV(ctx context.Context, a store.Actor, r io.Reader, fileName, reason string) (store.ImportResult, error)
	MissingRecordsOf(ctx context.Context, f store.FailedFilter) (store.MissingMappings, error)
	MissingRecordsOfSync(ctx context.Context, syncID int64) (store.MissingMappings, error)
	MappingCandidates(ctx context.Context, f store.CandidateFilter) ([]store.Candidate, error)
	ProposePick(ctx context.Context, a store.Actor, p store.Pick) (store.ChangeSet, error)
	UnmappedWaiting(ctx context.Context, from int64, entityType string) ([]store.WaitingIn, error)
	ChangeSetOverlaps(ctx context.Context, id int64) ([]store.Overlap, error)
	ChangeSetMatches(ctx context.Context, id int64) (int, error)
	UserByID(ctx context.Context, id int64) (store.User, error)

	ChangeSetByID(ctx context.Context, id int64) (store.ChangeSet, error)
	ListChangeSets(ctx context.Context, f store.ChangeSetFilter) ([]store.ChangeSet, bool, error)
	ChangeSetItems(ctx context.Context, id int64, f store.ItemFilter) ([]store.ChangeItem, bool, error)
	ChangeSetIssues(ctx context.Context, id int64, limit int) ([]store.Issue, error)
	ChangeSetComments(ctx context.Context, id int64) ([]store.Comment, error)
	CreateChangeSet(ctx context.Context, a store.Actor, in store.NewChangeSet) (store.ChangeSet, error)
	AddChangeSetItems(ctx context.Context, a store.Actor, id int64, items []store.ItemInput) (store.ChangeSet, error)
	RemoveChangeSetItem(ctx context.Context, a store.Actor, id int64, line int) (store.ChangeSet, error)
	SubmitChangeSet(ctx context.Context, a store.Actor, id int64) (store.ChangeSet, error)
	WithdrawChangeSet(ctx context.Context, a store.Actor, id int64) (store.ChangeSet, error)
	RecheckChangeSet(ctx context.Context, a store.Actor, id int64) (store.ChangeSet, error)
	ApproveChangeSet(ctx context.Context, a store.Actor, id int64, comment string) (store.ChangeSet, error)
	RejectChangeSet(ctx context.Context, a store.Actor, id int64, comment string) (store.ChangeSet, error)
	RevertChangeSet(ctx context.Context, a store.Actor, id int64, reason string) (store.ChangeSet, error)
	CommentOnChangeSet(ctx context.Context, a store.Actor, id int64, body string) (store.Comment, error)
}

// Mappings handles identifier mapping: the list, entities, proposed changes,
// unmapped records, history and CSV import/export.
type Mappings struct {
	Base
	Store MappingStore
}

const mappingPageSize = 50

// mappingLookups are the types and connections most mapping pages show.
type mappingLookups struct {
	types []store.EntityType
	conns []store.Connection
}

func (h Mappings) mappingLookups(ctx context.Context) (mappingLookups, error) {
	ts, err := h.Store.EntityTypes(ctx)
	if err != nil {
		return mappingLookups{}, err
	}
	cs, err := h.Store.ListConnections(ctx)
	if err != nil {
		return mappingLookups{}, err
	}
	return mappingLookups{types: ts, conns: cs}, nil
}

func (l mappingLookups) typeOptions(any string) []components.Option {
	var out []components.Option
	if any != "" {
		out = append(out, components.Option{Value: "", Label: any})
	}
	for _, t := range l.types {
		out = append(out, components.Option{Value: t.Key, Label: t.Label})
	}
	return out
}

func (l mappingLookups) connOptions(any string) []components.Option {
	var out []components.Option
	if any != "" {
		out = append(out, components.Option{Value: "", Label: any})
	}
	for _, c := range l.conns {
		label := c.Name
		if !c.IsProduction() {
			label += " (test)"
		}
		out = append(out, components.Option{Value: strconv.FormatInt(c.ID, 10), Label: label})
	}
	return out
}

func (l mappingLookups) typeLabel(key string) string {
	for _, t := range l.types {
		if t.Key == key {
			return t.Label
		}
	}
	return key
}

func (l mappingLookups) hasType(key string) bool {
	for _, t := range l.types {
		if t.Key == key {
			return true
		}
	}
	return false
}

// manyPer reports whether records of a type may share a counterpart
// (tax codes, payment methods).
func (l mappingLookups) manyPer(key string) bool {
	for _, t := range l.types {
		if t.Key == key {
			return t.ManyPerConnection
		}
	}
	return false
}

func (l mappingLookups) connName(id int64) string {
	for _, c := range l.conns {
		if c.ID == id {
			return c.Name
		}
	}
	return fmt.Sprintf("system %d", id)
}

func mappingID(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

// mappingFilter reads the list filter from the query string.
func mappingFilter(c *fiber.Ctx, l mappingLookups) (store.MappingFilter, views.MappingFilterView) {
	fv := views.MappingFilterView{Query: strings.TrimSpace(c.Query("q")), Type: c.Query("type"), Connection: c.Query("connection"), Status: c.Query("status")}
	if len(fv.Query) > 200 {
		fv.Query = fv.Query[:200]
	}
	if !l.hasType(fv.Type) {
		fv.Type = ""
	}
	f := store.MappingFilter{Query: fv.Query, EntityType: fv.Type, ConnectionID: mappingID(fv.Connection), Limit: mappingPageSize}
	switch fv.Status {
	case store.MappingMapped, store.MappingUnmapped, store.MappingConflict, store.MappingPending:
		f.Status = fv.Status
	default:
		fv.Status = ""
	}
	if id := mappingID(c.Query("after_id")); id != 0 {
		f.AfterKey, f.AfterID = c.Query("after_key"), id
	}
	return f, fv
}

// List shows the mappings: search, filters, one column per system.
func (h Mappings) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	l, err := h.mappingLookups(ctx)
	if err != nil {
		return err
	}
	f, fv := mappingFilter(c, l)
	rows, more, err := h.Store.ListMappings(ctx, f)
	if err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	p := views.MappingsPage{Meta: h.Meta(c, "Mappings", "mappings"), Filter: fv, HasConns: len(l.conns) > 0,
		Types: l.typeOptions("Every type"), Connections: l.connOptions("Every system"),
		Filtered: fv != (views.MappingFilterView{}),
		Statuses: []components.Option{{Value: "", Label: "Any status"}, {Value: store.MappingMapped, Label: "Mapped (in the chosen system)"},
			{Value: store.MappingUnmapped, Label: "Not mapped (in the chosen system)"}, {Value: store.MappingConflict, Label: "In conflict"},
			{Value: store.MappingPending, Label: "Change pending"}}}
	col := map[int64]int{}
	for i, cn := range l.conns {
		p.Columns = append(p.Columns, cn.Name)
		col[cn.ID] = i
	}
	for _, r := range rows {
		if r.Entity.EntityType == "customer" {
			maskCustomer(m, &r.Entity, r.Refs)
		}
		rv := views.MappingRowView{ID: r.Entity.ID, Key: r.Entity.Key, Name: r.Entity.Name, Type: l.typeLabel(r.Entity.EntityType),
			Cells: make([][]views.RefCell, len(l.conns))}
		for _, ref := range r.Refs {
			if i, ok := col[ref.ConnectionID]; ok {
				rv.Cells[i] = append(rv.Cells[i], views.RefCell{ExternalID: ref.ExternalID,
					Detail: store.RecordLabel(store.ExternalRecord{Name: ref.Name, SKU: ref.SKU, Email: cmp.Or(ref.Email, ref.Barcode)})})
			}
		}
		p.Rows = append(p.Rows, rv)
	}
	q := url.Values{}
	for k, v := range map[string]string{"q": fv.Query, "type": fv.Type, "connection": fv.Connection, "status": fv.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	p.ExportHref = "/mappings/export.csv?" + q.Encode()
	uq := url.Values{"q": {fv.Query}}
	if fv.Type != "" {
		uq.Set("type", fv.Type)
	}
	if fv.Connection != "" {
		uq.Set("from", fv.Connection)
		for _, cn := range l.conns {
			if strconv.FormatInt(cn.ID, 10) != fv.Connection {
				uq.Set("to", strconv.FormatInt(cn.ID, 10))
				break
			}
		}
	}
	p.UnmappedHref = "/mappings/unmapped?" + uq.Encode()
	if f.AfterID != 0 {
		p.FirstHref = "/mappings?" + q.Encode()
	}
	if more && len(rows) > 0 {
		last := rows[len(rows)-1].Entity
		q.Set("after_key", last.Key)
		q.Set("after_id", strconv.FormatInt(last.ID, 10))
		p.NextHref = "/mappings?" + q.Encode()
	}
	return Render(c, views.Mappings(p))
}

// Export downloads every mapping matching the list's filter as CSV.
func (h Mappings) Export(c *fiber.Ctx) error {
	ctx := c.UserContext()
	l, err := h.mappingLookups(ctx)
	if err != nil {
		return err
	}
	f, _ := mappingFilter(c, l)
	f.AfterKey, f.AfterID = "", 0
	m, err := h.Masker(c) // exports follow the pages' rule
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="mappings-%s.csv"`, now().UTC().Format("2006-01-02")))
	// Written to the response buffer page by page; export size is bounded by
	// the mappings themselves (a few MB per 100,000 references).
	_, err = h.Store.ExportMappingsCSV(ctx, c.Response().BodyWriter(), f, m)
	return err
}

// Entity shows one entity: references, history, open proposed changes.
func (h Mappings) Entity(c *fiber.Ctx) error {
	return h.renderEntity(c, mappingID(c.Params("id")), fiber.StatusOK, views.ItemFormView{}, nil)
}

func (h Mappings) renderEntity(c *fiber.Ctx, id int64, status int, form views.ItemFormView, errs map[string]string) error {
	ctx := c.UserContext()
	e, err := h.Store.EntityByID(ctx, id)
	if err != nil {
		return err
	}
	l, err := h.mappingLookups(ctx)
	if err != nil {
		return err
	}
	refs, err := h.Store.CurrentRefs(ctx, []int64{id})
	if err != nil {
		return err
	}
	tl, err := h.Store.EntityTimeline(ctx, id)
	if err != nil {
		return err
	}
	open, _, err := h.Store.ListChangeSets(ctx, store.ChangeSetFilter{EntityID: id, Statuses: []string{store.ChangeSetDraft, store.ChangeSetPending}, Limit: 20})
	if err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	if e.EntityType == "customer" {
		m = m.With(e.Key, e.Name)
		for i := range tl {
			tl[i].Email, tl[i].Name, tl[i].Title = m.Whole(tl[i].Email), m.Whole(tl[i].Name), m.Text(tl[i].Title)
		}
		maskCustomer(m, &e, refs)
	}
	p := views.EntityPage{Meta: h.Meta(c, e.Key, "mappings"), ID: e.ID, Key: e.Key, Name: e.Name, Type: e.EntityType,
		TypeLabel: l.typeLabel(e.EntityType), Connections: l.connOptions(""), Form: form, Errors: errs, Now: now()}
	for _, t := range l.types {
		if t.Key == e.EntityType {
			p.ManyPerConn = t.ManyPerConnection
		}
	}
	have := map[int64]bool{}
	for _, r := range refs {
		have[r.ConnectionID] = true
		p.Refs = append(p.Refs, refView(r))
	}
	for _, cn := range l.conns {
		if !have[cn.ID] {
			p.Missing = append(p.Missing, cn.Name)
		}
	}
	for _, ev := range tl {
		if n := len(p.Timeline); n == 0 || p.Timeline[n-1].Version != ev.Version {
			p.Timeline = append(p.Timeline, views.TimelineVersion{Version: ev.Version, At: ev.AppliedAt, By: ev.AppliedLabel,
				ProposedBy: ev.ProposedBy, ChangeSetID: ev.ChangeSetID, Title: ev.Title})
		}
		verb := "Ended"
		if ev.Added {
			verb = "Added"
		}
		line := fmt.Sprintf("%s %s id %s", verb, ev.ConnectionName, ev.ExternalID)
		if k := joinMappingKeys(ev.SKU, ev.Barcode, ev.Email, ev.Name); k != "" {
			line += " (" + k + ")"
		}
		p.Timeline[len(p.Timeline)-1].Lines = append(p.Timeline[len(p.Timeline)-1].Lines, line)
	}
	for _, cs := range open {
		p.Open = append(p.Open, changeSetRow(cs))
	}
	return RenderStatus(c, status, views.Entity(p))
}

// maskCustomer hides a customer's e-mail and name, their key and their
// references', from a person whose role does not see them (masking.go).
func maskCustomer(m *mask.Masker, e *store.Entity, refs []store.Ref) {
	if m == nil {
		return
	}
	e.Key, e.Name = m.Whole(e.Key), m.Whole(e.Name)
	for i := range refs {
		refs[i].Email, refs[i].Name = m.Whole(refs[i].Email), m.Whole(refs[i].Name)
	}
}

// customerMasker is the masker of the unmapped records' page for a type:
// customers' names and e-mails are personal data, other records' are not.
func (h Mappings) customerMasker(c *fiber.Ctx, typ string) (*mask.Masker, error) {
	if typ != "customer" {
		return nil, nil
	}
	return h.Masker(c)
}

// maskRecord hides a customer record's name and e-mail in the texts shown
// of it (its label, keys, what it is mapped to); a nil masker changes
// nothing.
func maskRecord(m *mask.Masker, r store.ExternalRecord, texts ...*string) {
	if m == nil {
		return
	}
	m = m.With(r.Name, r.Email)
	for _, t := range texts {
		*t = m.Text(*t)
	}
}

func refView(r store.Ref) views.EntityRefView {
	return views.EntityRefView{ConnectionID: r.ConnectionID, ConnectionName: r.ConnectionName, ExternalID: r.ExternalID,
		SKU: r.SKU, Barcode: r.Barcode, Email: r.Email, Name: r.Name, Since: r.ValidFrom}
}

func joinMappingKeys(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " · ")
}

// New shows the map-a-new-entity form.
func (h Mappings) New(c *fiber.Ctx) error {
	l, err := h.mappingLookups(c.UserContext())
	if err != nil {
		return err
	}
	return Render(c, views.NewMapping(views.NewMappingPage{Meta: h.Meta(c, "Map a new record", "mappings"),
		Types: l.typeOptions(""), Connections: l.connOptions(""), Form: views.ItemFormView{Type: c.Query("type")}}))
}

// History answers "what did this map to at a time or in a version".
func (h Mappings) History(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cur, err := h.Store.CurrentVersion(ctx)
	if err != nil {
		return err
	}
	p := views.HistoryPage{Meta: h.Meta(c, "Mapping history", "mappings"), Term: strings.TrimSpace(c.Query("q")),
		At: c.Query("at"), Version: c.Query("version"), Current: cur}
	if p.Term == "" {
		return Render(c, views.History(p))
	}
	p.Asked = true
	if len(p.Term) > 200 {
		p.Error = "That search is far too long."
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.History(p))
	}
	version := cur
	switch {
	case p.Version != "":
		v, err := strconv.ParseInt(p.Version, 10, 64)
		if err != nil || v < 0 || v > cur {
			p.Error = fmt.Sprintf("Versions go from 0 (before any mapping) to %d.", cur)
			return RenderStatus(c, fiber.StatusUnprocessableEntity, views.History(p))
		}
		version = v
	case p.At != "":
		day, ok := parseDay(p.At)
		if !ok {
			p.Error = "Dates look like 2026-11-03."
			return RenderStatus(c, fiber.StatusUnprocessableEntity, views.History(p))
		}
		if version, err = h.Store.VersionAt(ctx, day.AddDate(0, 0, 1)); err != nil {
			return err
		}
	}
	p.Resolved = version
	ms, err := h.Store.LookupAt(ctx, p.Term, version)
	if err != nil {
		return err
	}
	for _, m := range ms {
		hm := views.HistoryMatch{ID: m.Entity.ID, Key: m.Entity.Key, Type: m.Entity.EntityType}
		for _, r := range m.Refs {
			hm.Refs = append(hm.Refs, refView(r))
		}
		p.Matches = append(p.Matches, hm)
	}
	return Render(c, views.History(p))
}

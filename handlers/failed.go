package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/number"
	"crossdock/store/rules"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// FailedStore is what the failed-syncs pages need from the store.
type FailedStore interface {
	SyncDocs // masking.go
	ListFailed(ctx context.Context, f store.FailedFilter) ([]store.FailedSync, bool, error)
	CountFailed(ctx context.Context, f store.FailedFilter, limit int) (int, bool, error)
	FailedGroups(ctx context.Context, f store.FailedFilter, limit int) ([]store.FailureGroup, error)
	FailedSyncByID(ctx context.Context, id int64) (store.FailedSync, error)
	ResolveFailures(ctx context.Context, a store.Actor, ids []int64, resolution, note string) ([]int64, error)
	RecentReplayBatches(ctx context.Context, limit int) ([]store.ReplayBatch, error)
	ReplayBatchByID(ctx context.Context, id int64) (store.ReplayBatch, error)
	ReplayBatchResumed(ctx context.Context, id int64) (store.Resumed, error)
	ReplayBatchProgress(ctx context.Context, id int64) (store.BatchProgress, error)
	BatchReplaysFailedAgain(ctx context.Context, id int64, limit int) ([]store.Sync, error)
	ListConnections(ctx context.Context) ([]store.Connection, error)
	FailedSettings(ctx context.Context) (store.FailedSettings, error)
	FailedBeforeNoting(ctx context.Context, f store.FailedFilter) (bool, error)
	MissingRecordsOf(ctx context.Context, f store.FailedFilter) (store.MissingMappings, error)
	ChangeSetFromSuggestions(ctx context.Context, a store.Actor, from, to int64, entityType string, ids []string, reason string) (store.ChangeSet, error)
	SaveFailedSettings(ctx context.Context, a store.Actor, in store.FailedSettings) error
	CountMatching(ctx context.Context, f store.FailedFilter, upto int64) (store.Matching, error)
	ResolveMatching(ctx context.Context, a store.Actor, f store.FailedFilter, upto int64, resolution, note string) (int, error)
	ExcludeFailures(ctx context.Context, a store.Actor, f store.FailedFilter, ids []int64, upto int64, reason string) (store.ExcludeResult, error)
	SourceRules(ctx context.Context) (rules.Rules, error)
}

// Replayer replays failures: one, a selection or a filter's worth.
type Replayer interface {
	Replay(ctx context.Context, a store.Actor, id int64) (store.Sync, error)
	EditAndReplay(ctx context.Context, a store.Actor, id int64, payload []byte) (store.Sync, error)
	StartReplayBatch(ctx context.Context, a store.Actor, in store.NewReplayBatch) (store.ReplayBatch, error)
	CancelReplayBatch(ctx context.Context, a store.Actor, id int64) (store.ReplayBatch, int64, error)
}

// Failed is the failed-syncs console.
type Failed struct {
	Base
	Store FailedStore
	// Engine is nil when no engine runs: replays are refused with a message.
	Engine Replayer
}

const (
	failedPageSize = 50
	// failedCountCap bounds the count a page load makes: it reads at most
	// this many index entries, and says "more than" beyond.
	failedCountCap = 1000
	maxSelected    = 5000
)

// failedQuery reads the filters from the URL (or a form's copy of it).
// Unknown values are dropped with a message so that a stale link still works.
func failedQuery(getRaw func(string) string) (store.FailedFilter, views.FailedFilterView, url.Values) {
	// The URL itself is checked for NULs (web's refuseNUL); a form's copy
	// of it is decoded here, so a NUL in it is dropped here.
	get := func(k string) string { return strings.ReplaceAll(getRaw(k), "\x00", "") }
	v := views.FailedFilterView{Status: get("status"), Family: get("family"), Direction: get("direction"), Class: get("class"),
		Connection: get("connection"), Environment: get("env"), Search: strings.TrimSpace(get("q")), From: get("from"), To: get("to")}
	var f store.FailedFilter
	var bad []string
	if v.Status != "" && !slices.Contains(store.FailedStatuses, v.Status) {
		bad, v.Status = append(bad, "status"), ""
	}
	if v.Family != "" && !vocab.Family(v.Family).Valid() {
		bad, v.Family = append(bad, "kind of data"), ""
	}
	if v.Direction != "" && !vocab.Direction(v.Direction).Valid() {
		bad, v.Direction = append(bad, "direction"), ""
	}
	if v.Class != "" && !vocab.ErrorClass(v.Class).Valid() {
		bad, v.Class = append(bad, "kind of problem"), ""
	}
	if v.Environment != "" && !vocab.Environment(v.Environment).Valid() {
		bad, v.Environment = append(bad, "environment"), ""
	}
	if v.Connection != "" {
		id, err := strconv.ParseInt(v.Connection, 10, 64)
		if err != nil || id <= 0 {
			bad, v.Connection = append(bad, "system"), ""
		}
		f.ConnectionID = id
	}
	day := func(s *string, what string) time.Time {
		if *s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, *s)
		if err != nil {
			bad, *s = append(bad, what), ""
			return time.Time{}
		}
		return t
	}
	f.From = day(&v.From, "from")
	if to := day(&v.To, "to"); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the day is included
	}
	if len(v.Search) > maxSearchSize {
		bad, v.Search = append(bad, "search"), ""
	}
	f.Status, f.Family, f.Direction, f.ErrorClass, f.Environment, f.Search = v.Status, vocab.Family(v.Family), vocab.Direction(v.Direction), vocab.ErrorClass(v.Class), vocab.Environment(v.Environment), v.Search
	q := url.Values{}
	for k, val := range map[string]string{"status": v.Status, "family": v.Family, "direction": v.Direction, "class": v.Class,
		"connection": v.Connection, "env": v.Environment, "q": v.Search, "from": v.From, "to": v.To} {
		if val != "" {
			q.Set(k, val)
		}
	}
	// One cause (a group's link).
	if get("g") == "1" {
		src, err1 := strconv.ParseInt(get("source"), 10, 64)
		tgt, err2 := strconv.ParseInt(get("target"), 10, 64)
		if err1 != nil || err2 != nil {
			bad = append(bad, "cause")
		} else {
			f.Group, f.SourceID, f.TargetID, f.Cause = true, src, tgt, get("cause")
			q.Set("g", "1")
			q.Set("source", get("source"))
			q.Set("target", get("target"))
			if key := get("cause_key"); causeKeyRe.MatchString(key) {
				f.Cause, f.CauseKey = "", key
				q.Set("cause_key", key)
			} else {
				q.Set("cause", f.Cause)
			}
		}
	}
	if len(bad) > 0 {
		v.Error = "Some filters were not understood and are ignored (" + strings.Join(bad, ", ") + "). Choose them again below."
	}
	return f, v, q
}

func (h Failed) canAct(c *fiber.Ctx) bool {
	u := CurrentUser(c)
	return u != nil && (u.Role == vocab.RoleAdmin || u.Role == vocab.RoleOperator)
}

// List shows the causes, then the failures, newest first.
func (h Failed) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, fv, q := failedQuery(func(k string) string { return c.Query(k) })
	conns, list, err := syncsConnections(ctx, h.Store)
	if err != nil {
		return err
	}
	l, err := h.list(c, f, q, conns)
	if err != nil {
		return err
	}
	if c.Query("part") == "list" {
		return Render(c, views.FailedListRegion(l))
	}
	p := views.FailedPage{Meta: h.Meta(c, "Failed syncs", "failed"), Filter: fv, Query: q.Encode(), List: l, CanAct: h.canAct(c),
		IsAdmin: isAdmin(c), GroupsCounted: !f.SummarisedGroups(), Now: now()}
	if u := CurrentUser(c); u != nil {
		p.TestOnly = u.Scope == vocab.ScopeTest
	}
	if f.Group {
		p.Filter.GroupLabel = fmt.Sprintf("%s, %s → %s", f.ErrorClass.Label(), conns.view(f.SourceID).Name, conns.view(f.TargetID).Name)
		if f.Cause != "" && f.ErrorClass == vocab.ClassUnmapped {
			p.Filter.GroupLabel += ": " + missingKinds(f.Cause)
		} else if f.Cause != "" {
			m, err := h.Masker(c)
			if err != nil {
				return err
			}
			p.Filter.GroupLabel += ": " + m.Text(f.Cause)
		}
	} else if f.Status == store.FailedOpen {
		groups, err := h.Store.FailedGroups(ctx, f, 50)
		if err != nil {
			return err
		}
		rs, err := h.Store.SourceRules(ctx)
		if err != nil {
			return err
		}
		m, err := h.Masker(c)
		if err != nil {
			return err
		}
		for _, g := range groups {
			p.Groups = append(p.Groups, maskGroup(m, groupView(g, f, conns, rs)))
		}
	}
	batches, err := h.Store.RecentReplayBatches(ctx, 5)
	if err != nil {
		return err
	}
	for _, b := range batches {
		bv, err := h.batchView(ctx, b, conns, false)
		if err != nil {
			return err
		}
		p.Batches = append(p.Batches, bv)
	}
	set, err := h.Store.FailedSettings(ctx)
	if err != nil {
		return err
	}
	p.RetentionDays, p.AutoReplay = set.RetentionDays, set.AutoReplay
	p.Statuses = []components.Option{{Value: "", Label: views.FailedStatusLabel("")}}
	for _, s := range store.FailedStatuses {
		p.Statuses = append(p.Statuses, components.Option{Value: s, Label: views.FailedStatusLabel(s)})
	}
	p.Families = []components.Option{{Value: "", Label: "Every kind of data"}}
	for _, fam := range vocab.AllFamilies() {
		p.Families = append(p.Families, components.Option{Value: string(fam), Label: fam.Label()})
	}
	p.Directions = []components.Option{{Value: "", Label: "Both directions"}}
	for _, d := range vocab.AllDirections() {
		p.Directions = append(p.Directions, components.Option{Value: string(d), Label: d.Label()})
	}
	p.Classes = []components.Option{{Value: "", Label: "Every kind of problem"}}
	for _, cl := range vocab.AllErrorClasses() {
		p.Classes = append(p.Classes, components.Option{Value: string(cl), Label: cl.Label()})
	}
	p.Connections = []components.Option{{Value: "", Label: "Any system"}}
	for _, conn := range list {
		p.Connections = append(p.Connections, components.Option{Value: strconv.FormatInt(conn.ID, 10), Label: conn.Name})
	}
	p.Environments = []components.Option{{Value: "", Label: "Any environment"}, {Value: string(vocab.EnvProduction), Label: vocab.EnvProduction.Label()}, {Value: string(vocab.EnvTest), Label: vocab.EnvTest.Label()}}
	return Render(c, views.Failed(p))
}

func (h Failed) list(c *fiber.Ctx, f store.FailedFilter, q url.Values, conns syncConns) (views.FailedList, error) {
	ctx := c.UserContext()
	f.BeforeAt, f.BeforeID = keysetCursor(c)
	f.Limit = failedPageSize
	rows, more, err := h.Store.ListFailed(ctx, f)
	if err != nil {
		return views.FailedList{}, err
	}
	n, capped, err := h.Store.CountFailed(ctx, f, failedCountCap)
	if err != nil {
		return views.FailedList{}, err
	}
	l := views.FailedList{Count: n, Capped: capped, Paged: f.BeforeID != 0, Filtered: len(q) > 0, CanAct: h.canAct(c), Now: now()}
	switch {
	case capped:
		l.CountText = fmt.Sprintf("More than %s failures match (counted up to %s).", number.Thousands(failedCountCap), number.Thousands(failedCountCap))
	case n == 1:
		l.CountText = "1 failure matches."
	default:
		l.CountText = fmt.Sprintf("%s failures match.", number.Thousands(n))
	}
	if !l.Paged {
		rq := url.Values{}
		for k, v := range q {
			rq[k] = v
		}
		rq.Set("part", "list")
		l.RefreshURL = "/failed?" + rq.Encode()
	}
	back := q.Encode()
	for _, s := range rows {
		r := views.FailedRow{SyncRow: syncRow(s.Sync, conns, back), Class: string(s.Class()), Resolution: s.HowResolved(), Open: s.Problem()}
		r.Href = "/syncs/" + strconv.FormatInt(s.ID, 10) + "?" + url.Values{"from": {"failed"}, "back": {back}}.Encode()
		if s.ResolutionNote != nil {
			r.Note = *s.ResolutionNote
		}
		if s.QueuedIn != nil && r.Open {
			r.QueuedIn = *s.QueuedIn
		}
		l.Rows = append(l.Rows, r)
	}
	m, err := h.Masker(c)
	if err != nil {
		return l, err
	}
	plain, shown := make([]store.Sync, len(rows)), make([]views.SyncRow, len(rows))
	for i := range rows {
		plain[i], shown[i] = rows[i].Sync, l.Rows[i].SyncRow
	}
	if err := maskSyncRows(ctx, m, h.Store, plain, shown); err != nil {
		return l, err
	}
	for i := range shown {
		l.Rows[i].SyncRow = shown[i]
	}
	l.FirstHref, l.NextHref = pageLinks("/failed", q, f.BeforeID != 0, more && len(rows) > 0, func() (time.Time, int64) {
		return rows[len(rows)-1].CreatedAt, rows[len(rows)-1].ID
	})
	return l, nil
}

// keysNoun names what a group's distinct records are.
func keysNoun(entityType string, n int, capped bool) string {
	noun := map[string]string{"order": "order", "variant": "SKU", "product": "SKU", "location": "location", "refund": "refund",
		"price": "SKU", "customer": "customer"}[entityType]
	if noun == "" {
		noun = "record"
	}
	if n != 1 || capped {
		noun += "s"
	}
	if capped {
		return number.Thousands(n) + "+ " + noun
	}
	return number.Thousands(n) + " " + noun
}

// missingKinds names the kind of record unmapped failures miss
// ("locations"), "records" when they do not say.
func missingKinds(entityType string) string {
	if k, ok := map[string]string{"location": "locations", "variant": "variants", "product": "products", "customer": "customers",
		"order": "orders", "tax": "tax codes"}[entityType]; ok {
		return k
	}
	return "records"
}

// groupView puts a cause in words, with the action that fixes it.
func groupView(g store.FailureGroup, base store.FailedFilter, conns syncConns, rs rules.Rules) views.FailedGroupView {
	src, tgt := conns.view(g.SourceID).Name, conns.view(g.TargetID).Name
	fam := strings.ToLower(familyLabel(string(g.Family)))
	noun := "syncs"
	if g.Count == 1 {
		noun = "sync"
	}
	v := views.FailedGroupView{Class: string(g.ErrorClass), Sample: g.Sample, Count: g.Count, Keys: keysNoun(g.EntityType, g.Keys, g.KeysCapped),
		FirstSeen: g.FirstSeen, LastSeen: g.LastSeen}
	what := fmt.Sprintf("%s %s of %s from %s to %s", number.Thousands(g.Count), noun, fam, src, tgt)
	switch g.ErrorClass {
	case vocab.ClassUnmapped:
		// The cause of an unmapped failure is the kind of record it misses.
		v.Sentence = fmt.Sprintf("%s failed because %s are not mapped in %s (%s)", what, missingKinds(g.Cause), tgt, v.Keys)
		v.FixLabel = "Map it" // FixHref: the cause's own records (CauseFixHref), set below
	case vocab.ClassOnlyInOne:
		v.Keys = keysNoun("variant", g.Keys, g.KeysCapped) // products, whatever the kind of data
		v.Sentence = fmt.Sprintf("%s failed because the records exist in only one system: %s, not %s (%s)", what, src, tgt, v.Keys)
		v.FixLabel = "Nothing to map them to: exclude them from syncing, or ignore them"
		v.CreateNote = createNote(rs, g.SourceID, g.TargetID, src, tgt)
	case vocab.ClassValidation:
		v.Sentence = fmt.Sprintf("%s %s refused: %s", what, map[bool]string{true: "was", false: "were"}[g.Count == 1], g.Cause)
		v.FixLabel = "Correct what " + tgt + " refuses, in " + src + " or in " + tgt + ", then try again"
	case vocab.ClassOwnership:
		v.Sentence = fmt.Sprintf("%s %s not allowed by the sources of truth", what, map[bool]string{true: "is", false: "are"}[g.Count == 1])
		v.FixLabel, v.FixHref = "Check the sources of truth", "/sources"
	case vocab.ClassAuth:
		v.Sentence = fmt.Sprintf("%s failed: %s refused Crossdock's access", what, tgt)
		v.FixLabel, v.FixHref = "Check the connection", "/connections/"+strconv.FormatInt(g.TargetID, 10)
	case vocab.ClassTransient, vocab.ClassRateLimited:
		v.Sentence = fmt.Sprintf("%s failed because %s was unavailable", what, tgt)
		v.FixLabel = "Try again once " + tgt + " is back"
		if g.RetryingOnly {
			v.FixLabel = "Nothing yet: Crossdock retries by itself"
		}
	case vocab.ClassNotFound:
		v.Sentence = fmt.Sprintf("%s failed: the record is missing in %s", what, tgt)
		v.FixLabel = "Create or map the record, then try again"
	case vocab.ClassConflict:
		v.Sentence = fmt.Sprintf("%s changed in both systems", what)
		v.FixLabel = "Decide which is right, then try again or ignore"
	default:
		v.Sentence = fmt.Sprintf("%s failed: %s", what, g.Cause)
		v.FixLabel = "Try again; if it fails again, tell your admin"
	}
	q := url.Values{"g": {"1"}, "source": {strconv.FormatInt(g.SourceID, 10)}, "target": {strconv.FormatInt(g.TargetID, 10)},
		"cause": {g.Cause}, "class": {string(g.ErrorClass)}, "family": {string(g.Family)}, "direction": {string(g.Direction)}}
	if base.Search != "" {
		q.Set("q", base.Search)
	}
	if base.Environment != "" {
		q.Set("env", string(base.Environment))
	}
	v.Href = "/failed?" + q.Encode()
	if g.ErrorClass == vocab.ClassUnmapped {
		v.ProposeFilter = q.Encode()
		v.FixHref = CauseFixHref(v.ProposeFilter)
	}
	if g.ErrorClass == vocab.ClassOnlyInOne {
		v.ExcludeHref = actHref("exclude", q)
		v.IgnoreHref = actHref("ignore", q)
	}
	return v
}

// createNote says whether Crossdock can create, in the target, records that
// exist only in the source: only when the source decides product content
// and the target receives it. Said in words, never a button that cannot work.
func createNote(rs rules.Rules, src, tgt int64, srcName, tgtName string) string {
	rule := rs.Rule(vocab.Products)
	switch {
	case rule.Master == src && rule.Receives(tgt):
		return fmt.Sprintf("To create them in %s: %s is the source of products, so Crossdock creates a product that %s lacks when it is next changed in %s, and proposes its mapping.",
			tgtName, srcName, tgtName, srcName)
	case rule.Master == 0:
		return fmt.Sprintf("Crossdock cannot create them in %s: no system is the source of products. An admin can make %s the source of products on Sources.", tgtName, srcName)
	default:
		return fmt.Sprintf("Crossdock does not create them in %s: %s is the source of products, not %s. Create them in %s by hand if you sell them there.",
			tgtName, rs.Name(rule.Master), srcName, tgtName)
	}
}

// actHref is the confirmation page of an action on every failure matching q.
func actHref(action string, q url.Values) string {
	v := url.Values{}
	for k, vals := range q {
		v[k] = vals
	}
	v.Set("action", action)
	return "/failed/act?" + v.Encode()
}

// syncsConnections reads every connection by id.
func syncsConnections(ctx context.Context, st interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
}) (syncConns, []store.Connection, error) {
	cs, err := st.ListConnections(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := make(syncConns, len(cs))
	for _, c := range cs {
		m[c.ID] = c
	}
	return m, cs, nil
}

func (h Failed) engine() (Replayer, error) {
	if h.Engine == nil {
		return nil, fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so nothing can be tried again.")
	}
	return h.Engine, nil
}

// backTo is the list with the filters a form carried.
func backTo(c *fiber.Ctx) string {
	v, _ := form(c, "filter", 4000)
	_, _, q := failedQuery(func(k string) string {
		vals, _ := url.ParseQuery(v)
		return vals.Get(k)
	})
	if len(q) == 0 {
		return "/failed"
	}
	return "/failed?" + q.Encode()
}

// Replay replays the ticked failures, or every failure matching the filter,
// as a bulk replay in the background, and shows its page.
func (h Failed) Replay(c *fiber.Ctx) error {
	eng, err := h.engine()
	if err != nil {
		return err
	}
	in := store.NewReplayBatch{}
	if c.FormValue("all") == "1" {
		raw, _ := form(c, "filter", 4000)
		vals, _ := url.ParseQuery(raw)
		f, _, q := failedQuery(func(k string) string { return vals.Get(k) })
		in.Filter = f
		in.Description = "Every failure matching: " + describeFilter(q)
	} else {
		ids, ok := parseIDs(c, "id")
		if !ok || len(ids) == 0 {
			h.Flash(c, "critical", "Tick at least one failure to try again; nothing was tried again.")
			return Redirect(c, backTo(c))
		}
		if len(ids) > maxSelected {
			h.Flash(c, "critical", fmt.Sprintf("Tick at most %s failures at a time, or try again everything matching the filters.", number.Thousands(maxSelected)))
			return Redirect(c, backTo(c))
		}
		in.IDs = ids
		in.Description = count(len(ids), "ticked failure")
	}
	b, err := eng.StartReplayBatch(c.UserContext(), Actor(c), in)
	if err != nil {
		return err
	}
	h.Flash(c, "success", "Trying again runs in the background; this page shows how far it got. You can leave and come back.")
	return Redirect(c, fmt.Sprintf("/failed/batches/%d", b.ID))
}

func describeFilter(q url.Values) string {
	if len(q) == 0 {
		return "all open failures"
	}
	var parts []string
	for _, k := range []string{"status", "family", "direction", "class", "connection", "env", "q", "from", "to", "cause"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, k+" "+strconv.Quote(v))
		}
	}
	return strings.Join(parts, ", ")
}

// Resolve marks the ticked failures resolved, with a note.
func (h Failed) Resolve(c *fiber.Ctx) error { return h.resolve(c, store.ResolutionResolved) }

// Ignore marks the ticked failures ignored, with a reason.
func (h Failed) Ignore(c *fiber.Ctx) error { return h.resolve(c, store.ResolutionIgnored) }

func (h Failed) resolve(c *fiber.Ctx, resolution string) error {
	back := backTo(c)
	if id, err := strconv.ParseInt(c.Params("id"), 10, 64); err == nil && id > 0 {
		// From a failure's own page: one that does not exist is not found
		// (404), whatever the form says.
		if _, err := h.Store.FailedSyncByID(c.UserContext(), id); err != nil {
			return err
		}
		back = "/syncs/" + strconv.FormatInt(id, 10)
	}
	ids, ok := parseIDs(c, "id")
	if !ok || len(ids) > maxSelected {
		h.Flash(c, "critical", "The ticked failures were not understood; nothing was changed.")
		return Redirect(c, back)
	}
	note, ok := form(c, "note", 4*store.MaxReasonLen)
	if !ok {
		h.Flash(c, "critical", "The note is too long; nothing was changed.")
		return Redirect(c, back)
	}
	done, err := h.Store.ResolveFailures(c.UserContext(), Actor(c), ids, resolution, note)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		msg := fe.First("note", "form")
		h.Flash(c, "critical", msg+" Nothing was changed.")
		return Redirect(c, back)
	case errors.Is(err, store.ErrNothingToResolve):
		h.Flash(c, "warning", "None of these failures is open any more (someone dealt with them meanwhile); nothing was changed.")
		return Redirect(c, back)
	case err != nil:
		return err
	}
	verb := "resolved"
	if resolution == store.ResolutionIgnored {
		verb = "ignored"
	}
	msg := fmt.Sprintf("%s marked %s.", countOf(len(done), "failure"), verb)
	if left := len(ids) - len(done); left > 0 {
		msg += fmt.Sprintf(" %s %s already dealt with and left as %s.", number.Thousands(left), map[bool]string{true: "was", false: "were"}[left == 1],
			map[bool]string{true: "it was", false: "they were"}[left == 1])
	}
	h.Flash(c, "success", msg)
	return Redirect(c, back)
}

// Batch shows a bulk replay's progress and report.
func (h Failed) Batch(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	b, err := h.Store.ReplayBatchByID(ctx, id)
	if err != nil {
		return err
	}
	conns, _, err := syncsConnections(ctx, h.Store)
	if err != nil {
		return err
	}
	bv, err := h.batchView(ctx, b, conns, true)
	if err != nil {
		return err
	}
	bv.CanCancel = bv.CanCancel && h.canAct(c)
	res, err := h.Store.ReplayBatchResumed(ctx, id)
	if err != nil {
		return err
	}
	p := views.BatchPage{Meta: h.Meta(c, fmt.Sprintf("Trying again in bulk #%d · Failed syncs", id), "failed"), Batch: bv, Now: now(),
		Resumed: views.Resumed{Times: res.Times, At: res.At}}
	if c.Query("part") == "1" {
		return Render(c, views.ReplayBatchBody(p))
	}
	return Render(c, views.ReplayBatch(p))
}

func (h Failed) batchView(ctx context.Context, b store.ReplayBatch, conns syncConns, full bool) (views.BatchView, error) {
	p, err := h.Store.ReplayBatchProgress(ctx, b.ID)
	if err != nil {
		return views.BatchView{}, err
	}
	// Waiting: the replays made and not started, and the failures the
	// batch has not come to yet.
	v := views.BatchView{ID: b.ID, Href: fmt.Sprintf("/failed/batches/%d", b.ID), Description: b.Description, Status: b.Status,
		By: b.CreatedLabel, CreatedAt: b.CreatedAt, Listed: b.Taken != nil, Refused: b.Refused, Waiting: p.Waiting + b.Left(),
		Running: p.Running, Succeeded: p.Succeeded, FailedAgain: p.FailedAgain, Skipped: p.Skipped, Open: b.Open()}
	v.Running_ = v.Waiting+v.Running > 0
	if b.Taken != nil {
		v.Taken = *b.Taken
	}
	if v.Taken > 0 {
		v.Percent = min((p.Finished()+b.Refused)*100/v.Taken, 100)
	} else if !b.Open() {
		v.Percent = 100
	}
	v.CanCancel = b.Open() || (b.Status == store.BatchDone && p.Waiting > 0)
	if b.MappingVersion != nil {
		v.Mapping = fmt.Sprintf("mapping version %d", *b.MappingVersion)
	}
	if b.RulesVersion != nil {
		v.Rules = fmt.Sprintf("sources of truth version %d", *b.RulesVersion)
	}
	if b.ChangeSetID != nil {
		v.ChangeSet = fmt.Sprintf("Started by itself after proposed change #%d was approved.", *b.ChangeSetID)
	}
	if !full {
		return v, nil
	}
	for _, r := range b.Refusals() {
		br := views.BatchRefusal{SyncID: r.SyncID, Reason: r.Reason}
		if r.SyncID != 0 {
			br.Href = fmt.Sprintf("/syncs/%d", r.SyncID)
		}
		v.Refusals = append(v.Refusals, br)
	}
	if p.FailedAgain > 0 {
		again, err := h.Store.BatchReplaysFailedAgain(ctx, b.ID, 100)
		if err != nil {
			return views.BatchView{}, err
		}
		for _, s := range again {
			v.FailedRows = append(v.FailedRows, syncRow(s, conns, ""))
		}
	}
	return v, nil
}

// CancelBatch stops a bulk replay.
func (h Failed) CancelBatch(c *fiber.Ctx) error {
	eng, err := h.engine()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	_, reopened, err := eng.CancelReplayBatch(c.UserContext(), Actor(c), id)
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Stopped: %s not tried again yet %s open.", count(int(reopened), "failure"), pick(int(reopened), "stays", "stay")))
	return Redirect(c, fmt.Sprintf("/failed/batches/%d", id))
}

// ReplayOne replays one sync from its page.
func (h Failed) ReplayOne(c *fiber.Ctx) error {
	eng, err := h.engine()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	r, err := eng.Replay(c.UserContext(), Actor(c), id)
	var nr *engine.NotReplayedError
	switch {
	case errors.As(err, &nr):
		h.Flash(c, "critical", nr.Reason+" Nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case errors.Is(err, engine.ErrAlreadyReplayed):
		h.Flash(c, "warning", "This sync was already tried again or dealt with (perhaps by someone else just now); nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case errors.Is(err, engine.ErrNotReplayable):
		h.Flash(c, "warning", "This sync has not finished yet; wait for it to end before trying it again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case err != nil:
		return err
	}
	h.Flash(c, "success", "Tried again with today's mappings and rules. This is the new attempt; it runs in a moment.")
	return Redirect(c, fmt.Sprintf("/syncs/%d", r.ID))
}

// EditReplay replays one failure with a corrected payload (admins).
func (h Failed) EditReplay(c *fiber.Ctx) error {
	eng, err := h.engine()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	payload, ok := form(c, "payload", 1<<20)
	if !ok || strings.TrimSpace(payload) == "" {
		h.Flash(c, "critical", "Enter the corrected data (at most 1 MB); nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	}
	r, err := eng.EditAndReplay(c.UserContext(), Actor(c), id, []byte(payload))
	var fe vocab.FieldErrors
	var nr *engine.NotReplayedError
	switch {
	case errors.As(err, &fe):
		h.Flash(c, "critical", fe["payload"]+" Nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case errors.As(err, &nr):
		h.Flash(c, "critical", nr.Reason+" Nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case errors.Is(err, engine.ErrAlreadyReplayed), errors.Is(err, engine.ErrNotReplayable):
		h.Flash(c, "warning", "This sync was already tried again or has not finished; nothing was tried again.")
		return Redirect(c, fmt.Sprintf("/syncs/%d", id))
	case err != nil:
		return err
	}
	h.Flash(c, "success", "The corrected data is being sent. The original failure is kept, with the data as it was received.")
	return Redirect(c, fmt.Sprintf("/syncs/%d", r.ID))
}

// SaveSettings saves the retention period and automatic replay (admins).
func (h Failed) SaveSettings(c *fiber.Ctx) error {
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("retention_days")))
	if err != nil {
		days = 0
	}
	err = h.Store.SaveFailedSettings(c.UserContext(), Actor(c), store.FailedSettings{RetentionDays: days, AutoReplay: c.FormValue("auto_replay") == "1"})
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		h.Flash(c, "critical", fe["retention_days"]+" Nothing was changed.")
		return Redirect(c, "/failed")
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Saved: resolved failures are kept %d days.", days))
	return Redirect(c, "/failed")
}

// ProposeMappings makes a draft mapping change set from the records the
// unmapped failures of a cause (or of one sync) say are missing, matched by
// SKU in the receiving system where Crossdock finds a match. The person
// checks it and submits it; once approved, the failures it fixes are
// replayed (when the setting allows).
func (h Failed) ProposeMappings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	raw, _ := form(c, "filter", 4000)
	vals, _ := url.ParseQuery(raw)
	f, _, _ := failedQuery(func(k string) string { return vals.Get(k) })
	back := backTo(c)
	missing, err := h.Store.MissingRecordsOf(ctx, f)
	if err != nil {
		return err
	}
	unmapped := UnmappedHref(missing)
	if len(missing.ExternalIDs) == 0 {
		// "Before Crossdock noted it" only when true: later failures that
		// name no record lack something else (a mapping to a record that
		// is not an id, for one).
		before, err := h.Store.FailedBeforeNoting(ctx, f)
		if err != nil {
			return err
		}
		why := ""
		if before {
			why = " (they failed before Crossdock noted it)"
		}
		h.Flash(c, "warning", "These failures do not say which records are missing"+why+". Match the records on this page, then try the failures again.")
		return Redirect(c, unmapped)
	}
	n := len(missing.ExternalIDs)
	cs, err := h.Store.ChangeSetFromSuggestions(ctx, Actor(c), missing.SourceID, missing.TargetID, missing.EntityType, missing.ExternalIDs,
		fmt.Sprintf("Proposed from failed syncs: %s they could not send %s not mapped.", count(n, "record"), pick(n, "was", "were")))
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		h.Flash(c, "warning", fmt.Sprintf("None of the %s has a match by SKU, barcode, email or name in the other system, so nothing was proposed. Choose their counterparts on this page.", count(n, "missing record")))
		return Redirect(c, unmapped)
	case errors.Is(err, store.ErrNotFound):
		h.Flash(c, "critical", "One of the systems no longer exists; nothing was proposed.")
		return Redirect(c, back)
	case err != nil:
		return err
	}
	set, err := h.Store.FailedSettings(ctx)
	if err != nil {
		return err
	}
	then := "Once an admin approves it, the failures it fixes are tried again by themselves: follow them on Failed syncs, under Failed syncs tried again in bulk."
	if !set.AutoReplay {
		then = "Trying failed syncs again after a mapping fix is turned off: once it is approved, try the failures again from Failed syncs."
	}
	matched := fmt.Sprintf("Crossdock matched all %s.", count(n, "missing record"))
	if left := n - cs.Matched; left > 0 {
		matched = fmt.Sprintf("Crossdock matched %s of the %s; those without a match (%s) are left out: map them on Unmapped records.",
			number.Thousands(cs.Matched), count(n, "missing record"), number.Thousands(left))
	}
	h.Flash(c, "success", fmt.Sprintf("Draft proposed change made from the failures. %s Check it and submit it for approval. %s", matched, then))
	return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cs.ID))
}

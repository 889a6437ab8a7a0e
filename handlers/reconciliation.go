package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/csvfile"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// ReconStore is what the reconciliation pages need from the store.
type ReconStore interface {
	ListReconRuns(ctx context.Context, f store.ReconRunFilter) ([]store.ReconRun, bool, error)
	ReconRunByID(ctx context.Context, id int64) (store.ReconRun, error)
	ReconSchedules(ctx context.Context) (map[string]int, error)
	SetReconSchedule(ctx context.Context, a store.Actor, family string, minutes int) error
	WarehouseSettings(ctx context.Context) (store.WarehouseSettings, error)
	SaveWarehouseSettings(ctx context.Context, a store.Actor, in store.WarehouseSettings) error
	ReconCounts(ctx context.Context) (map[string]int64, error)
	ListDiscrepancies(ctx context.Context, f store.DiscFilter) ([]store.Discrepancy, bool, error)
	DiscrepancyByID(ctx context.Context, id int64) (store.Discrepancy, error)
	ActOnDiscrepancy(ctx context.Context, a store.Actor, in store.DiscAction) (store.Discrepancy, error)
	ListConnections(ctx context.Context) ([]store.Connection, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	MayWriteInto(ctx context.Context, a store.Actor, connectionIDs ...int64) error
	NamesBySKU(ctx context.Context, entityType string, skus []string) (map[string]string, error)
	FinanceRequestOf(ctx context.Context, discrepancyID int64) (store.FinanceRequest, error)
}

// nameDiscRows adds the product's title to the rows about a variant (their
// comparison recorded its SKU), looked up at once.
func nameDiscRows(ctx context.Context, st ReconStore, ds []store.Discrepancy, rows []views.DiscRow) error {
	skus := make([]string, len(ds))
	for i, d := range ds {
		var det struct {
			SKU string `json:"sku"`
		}
		if json.Unmarshal(d.Detail, &det) == nil {
			skus[i] = det.SKU
		}
	}
	names, err := st.NamesBySKU(ctx, "variant", slices.DeleteFunc(slices.Clone(skus), func(s string) bool { return s == "" }))
	if err != nil {
		return err
	}
	for i := range rows {
		if skus[i] != "" {
			rows[i].Title = names[skus[i]]
		}
	}
	return nil
}

// ReconEngine queues runs and sends a master's value.
type ReconEngine interface {
	RequestReconciliation(ctx context.Context, family, trigger, by string) (store.ReconRun, error)
	PushMaster(ctx context.Context, a store.Actor, id int64) (int64, error)
}

// Reconciliation shows runs and discrepancies and acts on them.
type Reconciliation struct {
	Base
	Store ReconStore
	// Engine is nil when no engine runs: runs cannot be asked for, values not pushed.
	Engine ReconEngine
}

func canOperate(c *fiber.Ctx) bool {
	u := CurrentUser(c)
	return u != nil && (u.Role == vocab.RoleAdmin || u.Role == vocab.RoleOperator)
}

func pathID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// Overview lists each family's last run and schedule, and the runs, newest first.
func (h Reconciliation) Overview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	runs, more, err := h.Store.ListReconRuns(ctx, store.ReconRunFilter{BeforeID: before, Limit: 30})
	if err != nil {
		return err
	}
	sched, err := h.Store.ReconSchedules(ctx)
	if err != nil {
		return err
	}
	counts, err := h.Store.ReconCounts(ctx)
	if err != nil {
		return err
	}
	u := CurrentUser(c)
	p := views.ReconOverviewPage{Meta: h.Meta(c, "Reconciliation", "reconciliation"), Now: now(),
		CanRun: h.Engine != nil && canOperate(c), CanSchedule: u != nil && u.Role == vocab.RoleAdmin}
	for _, f := range store.ReconFamilies {
		card := views.ReconFamilyCard{Family: f, Label: views.ReconFamilyLabel(f), Every: sched[f], Open: counts[f]}
		last, _, err := h.Store.ListReconRuns(ctx, store.ReconRunFilter{Family: f, Limit: 1})
		if err != nil {
			return err
		}
		if len(last) > 0 {
			r := runRow(last[0])
			card.Last = &r
		}
		if f == store.ReconWarehouse {
			ws, err := h.Store.WarehouseSettings(ctx)
			if err != nil {
				return err
			}
			card.LateAfterDays = ws.LateAfterDays
		}
		p.Families = append(p.Families, card)
	}
	for _, r := range runs {
		p.Runs = append(p.Runs, runRow(r))
	}
	if before != 0 {
		p.FirstHref = "/reconciliation"
	}
	if more && len(runs) > 0 {
		p.NextHref = "/reconciliation?before=" + strconv.FormatInt(runs[len(runs)-1].ID, 10)
	}
	return Render(c, views.ReconOverview(p))
}

func runRow(r store.ReconRun) views.ReconRunRow {
	row := views.ReconRunRow{ID: r.ID, Family: views.ReconFamilyLabel(r.Family), Status: r.Status, CreatedAt: r.CreatedAt,
		Compared: r.Compared, Differing: r.Differing, NotComparable: r.NotComparable, Opened: r.Opened, Closed: r.Closed,
		Message: r.Message, Trigger: r.Trigger, By: r.RequestedBy, Href: "/reconciliation/runs/" + strconv.FormatInt(r.ID, 10)}
	if r.StartedAt != nil {
		row.Took = r.Duration().Round(time.Millisecond).String()
	}
	return row
}

// Run shows one run: when, how long, what it compared, what it could not and
// why, and the trend of the family's recent runs.
func (h Reconciliation) Run(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := pathID(c)
	if err != nil {
		return err
	}
	r, err := h.Store.ReconRunByID(ctx, id)
	if err != nil {
		return err
	}
	// The trend: this run and up to 19 before it, oldest first.
	prev, _, err := h.Store.ListReconRuns(ctx, store.ReconRunFilter{Family: r.Family, BeforeID: r.ID + 1, Limit: 20})
	if err != nil {
		return err
	}
	slices.Reverse(prev)
	p := views.ReconRunPage{Meta: h.Meta(c, fmt.Sprintf("Run #%d · Reconciliation", r.ID), "reconciliation"), Run: runRow(r),
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Problems: runProblems(r.Problems()), Now: now(),
		Resumed:           views.Resumed{Times: r.Resumes, At: r.ResumedAt},
		Trend:             views.TrendChart(trendPoints(prev, r.ID)),
		DiscrepanciesHref: "/reconciliation/discrepancies?" + url.Values{"family": {r.Family}}.Encode()}
	return Render(c, views.ReconRun(p))
}

// runProblems are a run's problems for its page.
func runProblems(ps []store.RunProblem) []views.RunProblem {
	out := make([]views.RunProblem, len(ps))
	for i, p := range ps {
		out[i] = views.RunProblem(p)
	}
	return out
}

func trendPoints(runs []store.ReconRun, current int64) []views.TrendPoint {
	var out []views.TrendPoint
	for _, r := range runs {
		if r.FinishedAt == nil {
			continue
		}
		out = append(out, views.TrendPoint{RunID: r.ID, At: *r.FinishedAt, Compared: r.Compared, Differing: r.Differing,
			Failed: r.Status == store.RunFailed, Current: r.ID == current})
	}
	return out
}

// RequestRun queues a run of a family now.
func (h Reconciliation) RequestRun(c *fiber.Ctx) error {
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so a comparison cannot be queued.")
	}
	fam, _ := form(c, "family", 32)
	if !slices.Contains(store.ReconFamilies, fam) {
		h.Flash(c, "critical", "Choose what to compare.")
		return Redirect(c, "/reconciliation")
	}
	a := Actor(c)
	r, err := h.Engine.RequestReconciliation(c.UserContext(), fam, "manual", a.Label)
	switch {
	case errors.Is(err, store.ErrRunLive):
		h.Flash(c, "info", fmt.Sprintf("A comparison of %s is already waiting or running; this is it.", strings.ToLower(views.ReconFamilyLabel(fam))))
	case err != nil:
		return err
	default:
		h.Flash(c, "success", fmt.Sprintf("The comparison of %s is queued. This page shows its result when it is done.", strings.ToLower(views.ReconFamilyLabel(fam))))
	}
	return Redirect(c, "/reconciliation/runs/"+strconv.FormatInt(r.ID, 10))
}

// Schedule sets how often a family is compared.
func (h Reconciliation) Schedule(c *fiber.Ctx) error {
	fam, _ := form(c, "family", 32)
	every, err := strconv.Atoi(strings.TrimSpace(c.FormValue("every")))
	if !slices.Contains(store.ReconFamilies, fam) || err != nil {
		h.Flash(c, "critical", "Enter the number of minutes between comparisons (0: only when asked).")
		return Redirect(c, "/reconciliation")
	}
	if err := h.Store.SetReconSchedule(c.UserContext(), Actor(c), fam, every); err != nil {
		var fe vocab.FieldErrors
		if errors.As(err, &fe) {
			h.Flash(c, "critical", fe["every"])
			return Redirect(c, "/reconciliation")
		}
		return err
	}
	h.Flash(c, "success", "The schedule is saved.")
	return Redirect(c, "/reconciliation")
}

// discFilterKeys are the discrepancy list's filters kept in the URL.
var discFilterKeys = []string{"family", "connection", "status", "assignee", "min", "age", "sent"}

func discQuery(get func(string) string) (store.DiscFilter, views.DiscFilterView, url.Values) {
	var f store.DiscFilter
	v := views.DiscFilterView{Family: get("family"), Connection: get("connection"), Status: get("status"),
		Assignee: get("assignee"), MinSize: get("min"), Age: get("age"), Sent: get("sent")}
	var bad []string
	switch v.Sent {
	case "":
	case "operators":
		f.SentToOperators = true
	default:
		bad, v.Sent = append(bad, "sent by finance"), ""
	}
	if v.Family != "" && !slices.Contains(store.ReconFamilies, v.Family) {
		bad, v.Family = append(bad, "kind of data"), ""
	}
	if v.Status != "" && !slices.Contains(store.DiscStatuses, v.Status) {
		bad, v.Status = append(bad, "status"), ""
	}
	if v.Connection != "" {
		id, err := strconv.ParseInt(v.Connection, 10, 64)
		if err != nil || id <= 0 {
			bad, v.Connection = append(bad, "system"), ""
		}
		f.ConnectionID = id
	}
	switch v.Assignee {
	case "":
	case "none":
		f.AssigneeID = -1
	default:
		id, err := strconv.ParseInt(v.Assignee, 10, 64)
		if err != nil || id <= 0 {
			bad, v.Assignee = append(bad, "assignee"), ""
		}
		f.AssigneeID = id
	}
	if v.MinSize != "" {
		n, err := strconv.ParseFloat(v.MinSize, 64)
		if err != nil || n < 0 {
			bad, v.MinSize = append(bad, "size"), ""
		}
		f.MinSize = n
	}
	if v.Age != "" {
		n, err := strconv.Atoi(v.Age)
		if err != nil || n < 0 || n > 3650 {
			bad, v.Age = append(bad, "age"), ""
		}
		f.OlderThan = time.Duration(n) * 24 * time.Hour
	}
	if len(bad) > 0 {
		v.Error = "Some filters were not understood and are ignored (" + strings.Join(bad, ", ") + "). Choose them again below."
	}
	f.Family, f.Status = v.Family, v.Status
	q := url.Values{}
	for _, k := range discFilterKeys {
		val := map[string]string{"family": v.Family, "connection": v.Connection, "status": v.Status, "assignee": v.Assignee,
			"min": v.MinSize, "age": v.Age, "sent": v.Sent}[k]
		if val != "" {
			q.Set(k, val)
		}
	}
	return f, v, q
}

func (h Reconciliation) names(ctx context.Context) (map[int64]string, []store.Connection, []store.User, error) {
	cs, err := h.Store.ListConnections(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	us, err := h.Store.ListUsers(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m := map[int64]string{}
	for _, c := range cs {
		m[c.ID] = c.Name
	}
	return m, cs, us, nil
}

func discRow(d store.Discrepancy, conns map[int64]string) views.DiscRow {
	r := views.DiscRow{ID: d.ID, Family: views.ReconFamilyLabel(d.Family), Kind: d.KindText(), Label: d.Label,
		MasterValue: d.MasterValue, OtherValue: d.OtherValue, Size: d.Size, Status: d.Status, FirstSeen: d.FirstSeenAt,
		LastSeen: d.LastSeenAt, Href: "/reconciliation/discrepancies/" + strconv.FormatInt(d.ID, 10)}
	if d.MasterConnectionID != nil {
		r.Master = conns[*d.MasterConnectionID]
	}
	if d.OtherConnectionID != nil {
		r.Other = conns[*d.OtherConnectionID]
	}
	if d.AssigneeName != nil {
		r.Assignee = *d.AssigneeName
	}
	return r
}

// Discrepancies lists discrepancies, newest first, filtered by what the URL says.
func (h Reconciliation) Discrepancies(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, fv, q := discQuery(func(k string) string { return c.Query(k) })
	f.BeforeID, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	f.Limit = 50
	conns, cs, us, err := h.names(ctx)
	if err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	ds, more, err := h.Store.ListDiscrepancies(ctx, f)
	if err != nil {
		return err
	}
	p := views.DiscListPage{Meta: h.Meta(c, "Discrepancies · Reconciliation", "reconciliation"), Filter: fv,
		Filtered: len(q) > 0, Paged: f.BeforeID != 0, Now: now()}
	p.Families = []components.Option{{Value: "", Label: "Every kind of data"}}
	for _, fam := range store.ReconFamilies {
		p.Families = append(p.Families, components.Option{Value: fam, Label: views.ReconFamilyLabel(fam)})
	}
	p.Statuses = []components.Option{{Value: "", Label: "Every status"}}
	for _, s := range store.DiscStatuses {
		p.Statuses = append(p.Statuses, components.Option{Value: s, Label: views.DiscStatusLabel(s)})
	}
	p.Connections = []components.Option{{Value: "", Label: "Any system"}}
	for _, conn := range cs {
		p.Connections = append(p.Connections, components.Option{Value: strconv.FormatInt(conn.ID, 10), Label: conn.Name})
	}
	p.Assignees = []components.Option{{Value: "", Label: "Anyone or nobody"}, {Value: "none", Label: "Nobody yet"}}
	for _, u := range us {
		p.Assignees = append(p.Assignees, components.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
	}
	p.Sents = []components.Option{{Value: "", Label: "Every discrepancy"}, {Value: "operators", Label: "Sent to the operators"}}
	p.Ages = []components.Option{{Value: "", Label: "Any age"}, {Value: "1", Label: "Older than a day"},
		{Value: "7", Label: "Older than a week"}, {Value: "30", Label: "Older than 30 days"}}
	for _, d := range ds {
		p.Rows = append(p.Rows, discRow(maskDiscrepancy(m, d), conns))
	}
	if err := nameDiscRows(ctx, h.Store, ds, p.Rows); err != nil {
		return err
	}
	base := "/reconciliation/discrepancies"
	if f.BeforeID != 0 {
		p.FirstHref = base
		if len(q) > 0 {
			p.FirstHref += "?" + q.Encode()
		}
	}
	if more && len(ds) > 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("before", strconv.FormatInt(ds[len(ds)-1].ID, 10))
		p.NextHref = base + "?" + nq.Encode()
	}
	p.CSVHref = base + ".csv"
	if len(q) > 0 {
		p.CSVHref += "?" + q.Encode()
	}
	return Render(c, views.DiscList(p))
}

// CSV exports every discrepancy matching the filters, page by page, with the
// filters in the file name.
func (h Reconciliation) CSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, _, q := discQuery(func(k string) string { return c.Query(k) })
	conns, _, _, err := h.names(ctx)
	if err != nil {
		return err
	}
	m, err := h.Masker(c) // exports follow the pages' rule
	if err != nil {
		return err
	}
	name := "discrepancies"
	for _, k := range discFilterKeys {
		if v := q.Get(k); v != "" {
			name += "_" + k + "-" + safeFilePart(v)
		}
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w := csvfile.NewWriter(c.Response().BodyWriter())
	_ = w.Write([]string{"id", "kind_of_data", "difference", "about", "master_system", "master_value", "other_system", "other_value",
		"size", "status", "assignee", "first_seen", "last_seen", "note"})
	f.Limit = 200
	for {
		ds, more, err := h.Store.ListDiscrepancies(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range ds {
			d = maskDiscrepancy(m, d)
			r := discRow(d, conns)
			_ = w.Write([]string{strconv.FormatInt(d.ID, 10), r.Family, r.Kind, d.Label, r.Master, d.MasterValue,
				r.Other, d.OtherValue, strconv.FormatFloat(d.Size, 'f', -1, 64), d.Status, r.Assignee,
				d.FirstSeenAt.UTC().Format(time.RFC3339), d.LastSeenAt.UTC().Format(time.RFC3339), d.Note})
		}
		if !more || len(ds) == 0 {
			break
		}
		f.BeforeID = ds[len(ds)-1].ID
	}
	w.Flush()
	return w.Error()
}

func safeFilePart(s string) string {
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Discrepancy shows one discrepancy and what can be done about it.
func (h Reconciliation) Discrepancy(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := h.Store.DiscrepancyByID(ctx, id)
	if err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	d = maskDiscrepancy(m, d)
	conns, _, us, err := h.names(ctx)
	if err != nil {
		return err
	}
	p := views.DiscPage{Meta: h.Meta(c, fmt.Sprintf("Discrepancy #%d · Reconciliation", d.ID), "reconciliation"),
		Row: discRow(d, conns), Note: d.Note, Live: d.Live(), Ignored: d.Status == store.DiscIgnored,
		CanPush: d.Pushable() && h.Engine != nil && canOperate(c), Now: now(), RunHref: "/reconciliation/runs/" + strconv.FormatInt(d.LastRunID, 10)}
	one := []views.DiscRow{p.Row}
	if err := nameDiscRows(ctx, h.Store, []store.Discrepancy{d}, one); err != nil {
		return err
	}
	p.Row = one[0]
	if d.SyncID != nil {
		p.SyncHref = "/syncs/" + strconv.FormatInt(*d.SyncID, 10)
	}
	if p.FinanceRequest, err = financeRequest(c, h.Store, d.ID, p.Meta.CSRF); err != nil {
		return err
	}
	if p.CanPush && d.OtherConnectionID != nil {
		var oos *store.OutOfScopeError
		if err := h.Store.MayWriteInto(ctx, Actor(c), *d.OtherConnectionID); errors.As(err, &oos) {
			p.PushRefused = oos.Error()
		} else if err != nil {
			return err
		}
	}
	if d.AssigneeID != nil {
		p.AssigneeID = strconv.FormatInt(*d.AssigneeID, 10)
	}
	p.Assignees = []components.Option{{Value: "0", Label: "Nobody"}}
	for _, u := range us {
		if u.Active {
			p.Assignees = append(p.Assignees, components.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name})
		}
	}
	return Render(c, views.DiscShow(p))
}

// Act assigns, acknowledges, ignores or reopens a discrepancy.
func (h Reconciliation) Act(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		note, ok := form(c, "note", 4000)
		if !ok {
			return fiber.NewError(fiber.StatusRequestEntityTooLarge)
		}
		in := store.DiscAction{ID: id, Action: action, Note: note}
		if action == "assign" {
			in.AssigneeID, _ = strconv.ParseInt(c.FormValue("assignee"), 10, 64)
		}
		back := "/reconciliation/discrepancies/" + strconv.FormatInt(id, 10)
		d, err := h.Store.ActOnDiscrepancy(c.UserContext(), Actor(c), in)
		var fe vocab.FieldErrors
		switch {
		case errors.As(err, &fe):
			for _, k := range []string{"note", "assignee", "action"} {
				if m := fe[k]; m != "" {
					h.Flash(c, "critical", m)
					break
				}
			}
			return Redirect(c, back)
		case errors.Is(err, store.ErrDiscrepancyClosed):
			h.Flash(c, "critical", err.Error())
			return Redirect(c, back)
		case err != nil:
			return err
		}
		msg := map[string]string{"assign": "Assigned.", "acknowledge": "Acknowledged; the note is saved.",
			"ignore": "Ignored; it stays ignored while the difference stays the same.", "reopen": "Reopened."}[action]
		if action == "assign" && d.AssigneeName != nil {
			msg = "Assigned to " + *d.AssigneeName + "."
		}
		h.Flash(c, "success", msg)
		return Redirect(c, back)
	}
}

// Push resolves a discrepancy by sending the master's value through the engine.
func (h Reconciliation) Push(c *fiber.Ctx) error {
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "The sync engine is not running, so nothing can be sent.")
	}
	id, err := pathID(c)
	if err != nil {
		return err
	}
	back := "/reconciliation/discrepancies/" + strconv.FormatInt(id, 10)
	syncID, err := h.Engine.PushMaster(c.UserContext(), Actor(c), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return err
	case errors.Is(err, store.ErrDiscrepancyClosed):
		h.Flash(c, "critical", err.Error())
		return Redirect(c, back)
	case errors.As(err, new(*store.OutOfScopeError)):
		return err // 403, in words
	case err != nil:
		// The engine's refusals (not pushable, against the sources of truth) are sentences.
		h.Flash(c, "critical", "Nothing was sent: "+err.Error())
		return Redirect(c, back)
	}
	h.Flash(c, "success", fmt.Sprintf("The source's value is on its way as sync #%d; the discrepancy is resolved.", syncID))
	return Redirect(c, back)
}

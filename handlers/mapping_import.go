package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/number"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// mappingCSVExample is the template file and the example on the import page.
const mappingCSVExample = `type,connection,external_id,entity_key,sku,barcode,email,name,action
variant,Main store,gid://shopify/ProductVariant/4401,FURN-0042,FURN-0042,4006381333931,,Oak chair black,
variant,Odoo,17,FURN-0042,FURN-0042,4006381333931,,Oak chair black,
customer,Odoo,res.partner/88,ann@example.com,,,ann@example.com,Ann Example,
variant,Odoo,12,,,,,,remove
`

func (h Mappings) importPage(c *fiber.Ctx) (views.ImportPage, error) {
	l, err := h.mappingLookups(c.UserContext())
	if err != nil {
		return views.ImportPage{}, err
	}
	p := views.ImportPage{Meta: h.Meta(c, "Import mappings", "mappings"), Columns: strings.Join(store.MappingCSVColumns, ","),
		Example: mappingCSVExample, MaxMB: store.MaxImportBytes >> 20, MaxRows: store.MaxImportRows}
	for _, t := range l.types {
		p.Types = append(p.Types, t.Key)
	}
	for _, cn := range l.conns {
		p.Connections = append(p.Connections, cn.Name)
	}
	return p, nil
}

// ImportForm shows the CSV import form and the file format.
func (h Mappings) ImportForm(c *fiber.Ctx) error {
	p, err := h.importPage(c)
	if err != nil {
		return err
	}
	return Render(c, views.Import(p))
}

// Template downloads an example mapping CSV.
func (h Mappings) Template(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="crossdock-mappings-template.csv"`)
	return c.SendString(mappingCSVExample)
}

// Import reads an uploaded CSV into a draft proposed change and shows its preview.
func (h Mappings) Import(c *fiber.Ctx) error {
	p, err := h.importPage(c)
	if err != nil {
		return err
	}
	reason, ok := form(c, "reason", 4000)
	p.Reason = reason
	fail := func(status int, msg string, line int) error {
		p.Error, p.ErrorLine = msg, line
		return RenderStatus(c, status, views.Import(p))
	}
	if !ok {
		return fail(fiber.StatusUnprocessableEntity, "The reason is far too long.", 0)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail(fiber.StatusUnprocessableEntity, "Choose a CSV file to upload.", 0)
	}
	if fh.Size > store.MaxImportBytes {
		return fail(fiber.StatusRequestEntityTooLarge, fmt.Sprintf("The file is %.1f MB; the limit is %d MB. Split it into smaller files.",
			float64(fh.Size)/(1<<20), store.MaxImportBytes>>20), 0)
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := h.Store.ImportMappingsCSV(c.UserContext(), Actor(c), f, filepath.Base(fh.Filename), reason)
	var ie store.ImportError
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &ie):
		return fail(fiber.StatusUnprocessableEntity, ie.Message, ie.Line)
	case errors.As(err, &fe):
		return fail(fiber.StatusUnprocessableEntity, fe.Error(), 0)
	case err != nil:
		return err
	}
	if res.Nothing {
		p.Notice = fmt.Sprintf("Nothing to change: all %s rows are already mapped this way. No proposed change was made.", number.Thousands(res.Rows))
		if res.Rows == 1 {
			p.Notice = "Nothing to change: the row is already mapped this way. No proposed change was made."
		}
		return Render(c, views.Import(p))
	}
	cs := res.ChangeSet
	msg := fmt.Sprintf("Read %d rows: %d to add, %d to change, %d to remove, %d unchanged.", res.Rows, cs.NAdd, cs.NChange, cs.NRemove, cs.NUnchanged)
	kind := "success"
	switch {
	case cs.NInvalid > 0:
		kind, msg = "warning", msg+fmt.Sprintf(" %d invalid row(s) are listed below: correct them in the file and import it again.", cs.NInvalid)
	case cs.NConflicts > 0:
		kind, msg = "warning", msg+fmt.Sprintf(" %d conflict(s) are explained below.", cs.NConflicts)
	default:
		msg += " Nothing is applied until you submit it and an admin approves it."
	}
	h.Flash(c, kind, msg)
	return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cs.ID))
}

// Unmapped lists records of one system with no counterpart in another, with
// suggestions and a "Map to…" picker; records an open proposed change maps
// already are hidden and counted.
func (h Mappings) Unmapped(c *fiber.Ctx) error {
	ctx := c.UserContext()
	l, err := h.mappingLookups(ctx)
	if err != nil {
		return err
	}
	p := views.UnmappedPage{Meta: h.Meta(c, "Unmapped records", "mappings"), From: c.Query("from"), To: c.Query("to"), Type: c.Query("type"),
		Types: l.typeOptions(""), Connections: l.connOptions(""), Query: strings.TrimSpace(c.Query("q"))}
	if len(p.Query) > 200 {
		p.Query = p.Query[:200]
	}
	if p.Type == "" || !l.hasType(p.Type) {
		p.Type = "variant"
	}
	p.TypeLabel = strings.ToLower(l.typeLabel(p.Type))
	from, to := mappingID(p.From), mappingID(p.To)
	// Default to the first two systems, so the page is useful at once.
	if from == 0 && to == 0 && len(l.conns) >= 2 {
		from, to = l.conns[0].ID, l.conns[1].ID
		p.From, p.To = strconv.FormatInt(from, 10), strconv.FormatInt(to, 10)
	}
	switch {
	case len(l.conns) < 2:
		p.Error = "Connect at least two systems to compare their records."
		return Render(c, views.Unmapped(p))
	case from == 0 || to == 0 || from == to:
		p.Error = "Choose two different systems."
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Unmapped(p))
	}
	p.FromName, p.ToName = l.connName(from), l.connName(to)
	var ids []string
	if args := c.Request().URI().QueryArgs(); args != nil {
		for _, v := range args.PeekMulti("id") {
			if len(ids) < maxFixIDs && len(v) > 0 && len(v) <= 200 {
				ids = append(ids, string(v))
			}
		}
	}
	p.IDs = ids
	after := c.Query("after")
	rows, more, err := h.Store.ListUnmapped(ctx, store.UnmappedFilter{From: from, To: to, EntityType: p.Type, ExternalIDs: ids, Query: p.Query,
		AfterID: after, Limit: mappingPageSize})
	if err != nil {
		return err
	}
	waiting, err := h.Store.UnmappedWaiting(ctx, from, p.Type)
	if err != nil {
		return err
	}
	for _, w := range waiting {
		p.Waiting = append(p.Waiting, views.WaitingView{ChangeSetID: w.ChangeSetID, Pending: w.Status == store.ChangeSetPending, N: w.N})
	}
	// Locations, tax codes and payment methods are few: every candidate in
	// a drop-down. Other types are searched as the person types. A tax
	// code or a payment method may be the counterpart of several records,
	// so those mapped already stay offered.
	if p.Type == "location" || l.manyPer(p.Type) {
		cands, err := h.Store.MappingCandidates(ctx, store.CandidateFilter{In: to, Other: from, EntityType: p.Type, Limit: store.MaxCandidates})
		if err != nil {
			return err
		}
		p.Dropdown = true
		for _, cd := range cands {
			switch {
			case cd.MappedTo == "":
				p.Choices = append(p.Choices, components.Option{Value: cd.ExternalID, Label: store.RecordLabel(cd.ExternalRecord)})
			case l.manyPer(p.Type):
				p.Choices = append(p.Choices, components.Option{Value: cd.ExternalID, Label: store.RecordLabel(cd.ExternalRecord) + " (as " + cd.MappedTo + ")"})
			}
		}
	}
	p.Ready = true
	m, err := h.customerMasker(c, p.Type)
	if err != nil {
		return err
	}
	for _, r := range rows {
		rv := views.UnmappedRowView{ExternalID: r.Record.ExternalID, EntityKey: r.EntityKey, Label: store.RecordLabel(r.Record),
			Detail: joinMappingKeys(r.Record.SKU, r.Record.Barcode, r.Record.Email)}
		maskRecord(m, r.Record, &rv.Label, &rv.Detail, &rv.EntityKey)
		if s := r.Suggestion; s != nil {
			rv.Rule, rv.MatchID, rv.MatchKey = s.Rule, s.Record.ExternalID, s.EntityKey
			rv.MatchLabel = store.RecordLabel(s.Record)
			rv.MatchInfo = joinMappingKeys(s.Record.SKU, s.Record.Barcode, s.Record.Email)
			maskRecord(m, s.Record, &rv.MatchLabel, &rv.MatchInfo, &rv.MatchKey)
			p.Suggested++
		}
		p.Rows = append(p.Rows, rv)
	}
	q := url.Values{"from": {p.From}, "to": {p.To}, "type": {p.Type}}
	if p.Query != "" {
		q.Set("q", p.Query)
	}
	if len(ids) > 0 {
		q["id"] = ids
	}
	p.Back = "/mappings/unmapped?" + q.Encode()
	if after != "" {
		p.FirstHref = p.Back
	}
	if more && len(rows) > 0 {
		q.Set("after", rows[len(rows)-1].Record.ExternalID)
		p.NextHref = "/mappings/unmapped?" + q.Encode()
	}
	p.AllHref = "/mappings/unmapped?" + url.Values{"from": {p.From}, "to": {p.To}, "type": {p.Type}}.Encode()
	return Render(c, views.Unmapped(p))
}

// Candidates answers the "Map to…" search of one unmapped row: the other
// system's records matching what the person typed, each a button that
// picks it (an htmx partial).
func (h Mappings) Candidates(c *fiber.Ctx) error {
	from, to := mappingID(c.Query("from")), mappingID(c.Query("to"))
	typ := c.Query("type")
	row, err := strconv.Atoi(c.Query("row"))
	if err != nil || row < 0 || row > 10_000 || from == 0 || to == 0 || from == to || len(typ) > 40 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "That search is not understood; reload the page.")
	}
	term := strings.TrimSpace(c.Query("q"))
	v := views.CandidatesView{Row: row, Term: term}
	if len([]rune(term)) < 2 {
		v.Hint = "Type at least two letters of a name or SKU."
		return Render(c, views.MapCandidates(v))
	}
	if len(term) > 200 {
		v.Hint = "That search is far too long."
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.MapCandidates(v))
	}
	m, err := h.customerMasker(c, typ)
	if err != nil {
		return err
	}
	cands, err := h.Store.MappingCandidates(c.UserContext(), store.CandidateFilter{In: to, Other: from, EntityType: typ, Query: term, Limit: 8})
	if err != nil {
		return err
	}
	for _, cd := range cands {
		item := views.CandidateView{ExternalID: cd.ExternalID, Label: store.RecordLabel(cd.ExternalRecord), MappedTo: cd.MappedTo}
		maskRecord(m, cd.ExternalRecord, &item.Label, &item.MappedTo)
		v.Items = append(v.Items, item)
	}
	if len(v.Items) == 0 {
		v.Hint = "Nothing in that system matches “" + term + "”."
	}
	return Render(c, views.MapCandidates(v))
}

// Pick adds one match chosen with "Map to…" to the person's draft proposed
// change; an admin who is not them approves it.
func (h Mappings) Pick(c *fiber.Ctx) error {
	back := c.FormValue("back")
	if !strings.HasPrefix(back, "/mappings/unmapped") || strings.ContainsAny(back, "\x00\\") {
		back = "/mappings/unmapped"
	}
	back = strings.Clone(back)
	p := store.Pick{From: mappingID(c.FormValue("from")), To: mappingID(c.FormValue("to"))}
	vals := map[string]*string{"type": &p.EntityType, "id": &p.ExternalID, "match": &p.MatchID}
	for k, dst := range vals {
		v, ok := form(c, k, 200)
		if !ok || strings.ContainsRune(v, 0) {
			h.Flash(c, "critical", "That choice cannot be used (it is too long or holds a character that cannot be stored). Nothing was proposed.")
			return Redirect(c, back)
		}
		*dst = strings.TrimSpace(v)
	}
	l, err := h.mappingLookups(c.UserContext())
	if err != nil {
		return err
	}
	if !l.hasType(p.EntityType) {
		h.Flash(c, "critical", "Choose the kind of record again. Nothing was proposed.")
		return Redirect(c, back)
	}
	cs, err := h.Store.ProposePick(c.UserContext(), Actor(c), p)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		h.Flash(c, "critical", fe.Error()+" Nothing was proposed.")
		return Redirect(c, back)
	case errors.Is(err, store.ErrNotFound):
		h.Flash(c, "critical", "One of the systems no longer exists. Nothing was proposed.")
		return Redirect(c, back)
	case err != nil:
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Added to your draft proposed change #%d (%s). Submit it for approval when you are done; an admin who is not you approves it.",
		cs.ID, matchesNoun(mustMatches(c, h, cs.ID))))
	return Redirect(c, back)
}

// mustMatches counts a proposed change's matches; 1 when it cannot tell.
func mustMatches(c *fiber.Ctx, h Mappings, id int64) int {
	n, err := h.Store.ChangeSetMatches(c.UserContext(), id)
	if err != nil || n == 0 {
		return 1
	}
	return n
}

// matchesNoun: "1 match", "33 matches".
func matchesNoun(n int) string {
	if n == 1 {
		return "1 match"
	}
	return number.Thousands(n) + " matches"
}

// AcceptSuggestions turns the ticked suggestions into a draft proposed change.
func (h Mappings) AcceptSuggestions(c *fiber.Ctx) error {
	from, to := mappingID(c.FormValue("from")), mappingID(c.FormValue("to"))
	typ := c.FormValue("type")
	reason, _ := form(c, "reason", 4000)
	var ids []string
	if args := c.Request().PostArgs(); args != nil {
		for _, v := range args.PeekMulti("id") {
			ids = append(ids, string(v))
		}
	}
	if from == 0 || to == 0 || from == to || typ == "" {
		return h.unmappedError(c, "Choose two different systems and a type.")
	}
	if c.FormValue("all") == "1" {
		all, err := h.Store.SuggestedIDs(c.UserContext(), from, to, typ, store.MaxAcceptAtOnce)
		if err != nil {
			return err
		}
		ids = all
	}
	cs, err := h.Store.ChangeSetFromSuggestions(c.UserContext(), Actor(c), from, to, typ, ids, reason)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		return h.unmappedError(c, fe.Error())
	case errors.Is(err, store.ErrNotFound):
		return h.unmappedError(c, "One of the systems no longer exists.")
	case err != nil:
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Draft proposed change with %s created from the suggestions. Review it, then submit it for approval.", matchesNoun(cs.Matched)))
	return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cs.ID))
}

func (h Mappings) unmappedError(c *fiber.Ctx, msg string) error {
	l, err := h.mappingLookups(c.UserContext())
	if err != nil {
		return err
	}
	p := views.UnmappedPage{Meta: h.Meta(c, "Unmapped records", "mappings"), From: c.FormValue("from"), To: c.FormValue("to"),
		Type: c.FormValue("type"), Types: l.typeOptions(""), Connections: l.connOptions(""), Error: msg + " Nothing was created."}
	return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Unmapped(p))
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/number"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

func changeSetRow(cs store.ChangeSet) views.ChangeSetRow {
	return views.ChangeSetRow{ID: cs.ID, Title: cs.Title, Status: cs.Status, ProposedBy: cs.ProposedLabel, CreatedAt: cs.CreatedAt,
		Summary:   fmt.Sprintf("%d add, %d change, %d remove", cs.NAdd, cs.NChange, cs.NRemove),
		Conflicts: cs.NConflicts, Invalid: cs.NInvalid}
}

// itemForm reads a one-row mapping form.
func itemForm(c *fiber.Ctx) (store.ItemInput, views.ItemFormView, bool) {
	fv := views.ItemFormView{}
	ok := true
	for _, f := range []struct {
		key string
		dst *string
		max int
	}{{"type", &fv.Type, 40}, {"connection", &fv.Connection, 20}, {"entity_key", &fv.EntityKey, 400}, {"external_id", &fv.ExternalID, 400},
		{"sku", &fv.SKU, 400}, {"barcode", &fv.Barcode, 400}, {"email", &fv.Email, 400}, {"name", &fv.Name, 400}, {"reason", &fv.Reason, 4000}} {
		v, good := form(c, f.key, f.max)
		ok = ok && good
		*f.dst = v
	}
	in := store.ItemInput{Op: store.OpSet, EntityType: fv.Type, ConnectionID: mappingID(fv.Connection), EntityKey: fv.EntityKey, ExternalID: fv.ExternalID}
	if c.FormValue("op") == store.OpRemove {
		in.Op = store.OpRemove
	} else {
		in.SKU, in.Barcode, in.Email, in.Name = store.Str(fv.SKU), store.Str(fv.Barcode), store.Str(fv.Email), store.Str(fv.Name)
	}
	return in, fv, ok
}

// CreateChangeSet creates a draft proposed change from a one-row form (the new
// entity form, or an entity page's propose / remove buttons).
func (h Mappings) CreateChangeSet(c *fiber.Ctx) error {
	in, fv, ok := itemForm(c)
	// An entity page names its entity by id: its key may be a customer's
	// e-mail, which the page shows masked to some roles.
	entity := mappingID(c.FormValue("entity"))
	if entity != 0 {
		e, err := h.Store.EntityByID(c.UserContext(), entity)
		if err != nil {
			return err
		}
		in.EntityKey = e.Key
	}
	errs := map[string]string{}
	if !ok {
		errs["form"] = "One of the fields is far too long."
	} else {
		cs, err := h.Store.CreateChangeSet(c.UserContext(), Actor(c), store.NewChangeSet{Reason: fv.Reason, Items: []store.ItemInput{in}})
		var fe vocab.FieldErrors
		switch {
		case errors.As(err, &fe):
			errs = fe
		case err != nil:
			return err
		default:
			h.Flash(c, "success", "Draft proposed change created. Add more rows if you need, then submit it for approval.")
			return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cs.ID))
		}
	}
	l, err := h.mappingLookups(c.UserContext())
	if err != nil {
		return err
	}
	if errs["form"] == "" && len(errs) > 0 {
		errs["form"] = "Nothing was created: correct the fields below."
	}
	if entity != 0 {
		return h.renderEntity(c, entity, fiber.StatusUnprocessableEntity, fv, errs)
	}
	return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewMapping(views.NewMappingPage{Meta: h.Meta(c, "Map a new record", "mappings"),
		Types: l.typeOptions(""), Connections: l.connOptions(""), Form: fv, Errors: errs}))
}

func (h Mappings) loadChangeSet(c *fiber.Ctx) (store.ChangeSet, error) {
	id := mappingID(c.Params("id"))
	if id == 0 {
		return store.ChangeSet{}, store.ErrNotFound
	}
	return h.Store.ChangeSetByID(c.UserContext(), id)
}

// ChangeSet shows a proposed change: summary, problems, the diff, decision, comments.
func (h Mappings) ChangeSet(c *fiber.Ctx) error {
	cs, err := h.loadChangeSet(c)
	if err != nil {
		return err
	}
	return h.renderChangeSet(c, cs, fiber.StatusOK, "", nil, views.ItemFormView{})
}

func (h Mappings) renderChangeSet(c *fiber.Ctx, cs store.ChangeSet, status int, msg string, errs map[string]string, form views.ItemFormView) error {
	ctx := c.UserContext()
	l, err := h.mappingLookups(ctx)
	if err != nil {
		return err
	}
	showAll := c.Query("all") == "1"
	after, _ := strconv.Atoi(c.Query("after"))
	items, more, err := h.Store.ChangeSetItems(ctx, cs.ID, store.ItemFilter{AfterLine: after, Limit: 100, OnlyChanges: !showAll})
	if err != nil {
		return err
	}
	issues, err := h.Store.ChangeSetIssues(ctx, cs.ID, 201)
	if err != nil {
		return err
	}
	comments, err := h.Store.ChangeSetComments(ctx, cs.ID)
	if err != nil {
		return err
	}
	me := CurrentUser(c)
	mine := me != nil && cs.ProposedByUser(me.ID)
	isAdmin := me != nil && me.Role == vocab.RoleAdmin
	p := views.ChangeSetPage{Meta: h.Meta(c, fmt.Sprintf("Proposed change #%d", cs.ID), "mappings"), ID: cs.ID, Title: cs.Title, Reason: cs.Reason,
		Status: cs.Status, Source: cs.Source, FileName: cs.FileName, ProposedBy: h.personName(ctx, cs.ProposedBy, cs.ProposedLabel), CreatedAt: cs.CreatedAt,
		DecidedBy: cs.DecidedLabel, DecidedAt: cs.DecidedAt, Decision: cs.DecisionComment,
		NAdd: cs.NAdd, NChange: cs.NChange, NRemove: cs.NRemove, NUnchanged: cs.NUnchanged, NInvalid: cs.NInvalid, NConflicts: cs.NConflicts,
		ShowAll: showAll, Error: msg, Errors: errs, Form: form, Types: l.typeOptions(""), Connections: l.connOptions(""), Now: now(),
		CanEdit:     cs.Status == store.ChangeSetDraft && mine,
		CanSubmit:   cs.Status == store.ChangeSetDraft && mine && cs.NInvalid == 0 && cs.Changes() > 0,
		CanWithdraw: cs.Open() && mine,
		CanRecheck:  cs.Open(),
		CanDecide:   cs.Status == store.ChangeSetPending && isAdmin && !mine,
		OwnPending:  cs.Status == store.ChangeSetPending && isAdmin && mine,
		CanRevert:   cs.Status == store.ChangeSetApproved,
	}
	if err := h.matchesAndOverlaps(ctx, cs, &p); err != nil {
		return err
	}
	if cs.Version != nil {
		p.Version = *cs.Version
	}
	if cs.RevertsID != nil {
		p.RevertsID = *cs.RevertsID
	}
	if len(issues) > 200 {
		issues, p.MoreIssues = issues[:200], true
	}
	byLine := map[int][]string{}
	for _, is := range issues {
		iv := views.IssueView{Line: is.Line, Invalid: is.Kind == store.IssueInvalid, Message: is.Message, Resolution: is.Resolution}
		if is.OtherChangeSet != nil {
			iv.OtherChangeSet = *is.OtherChangeSet
		}
		p.Issues = append(p.Issues, iv)
		if is.Line > 0 && is.Kind != store.IssueInvalid {
			byLine[is.Line] = append(byLine[is.Line], is.Message)
		}
	}
	for _, it := range items {
		r := views.DiffRow{Line: it.Line, Action: it.Action, Type: l.typeLabel(it.EntityType), System: it.ConnectionName, ExternalID: it.ExternalID,
			BeforeEntity: it.BeforeEntityKey, BeforeID: it.BeforeExternalID, AfterEntity: it.EntityKey, Issues: byLine[it.Line],
			Before:        joinMappingKeys(it.BeforeSKU, it.BeforeBarcode, it.BeforeEmail, it.BeforeName),
			After:         joinMappingKeys(it.AfterSKU(), it.AfterBarcode(), it.AfterEmail(), it.AfterName()),
			Name:          joinMappingKeys(it.AfterName(), it.AfterSKU()),
			CanRemoveLine: p.CanEdit}
		p.Rows = append(p.Rows, r)
	}
	base := fmt.Sprintf("/mappings/change-sets/%d", cs.ID)
	q := url.Values{}
	if showAll {
		q.Set("all", "1")
	}
	p.AllHref, p.ChangesHref = base+"?all=1#diff", base+"#diff"
	if after > 0 {
		p.FirstHref = base + "?" + q.Encode() + "#diff"
	}
	if more && len(items) > 0 {
		q.Set("after", strconv.Itoa(items[len(items)-1].Line))
		p.NextHref = base + "?" + q.Encode() + "#diff"
	}
	for _, cm := range comments {
		p.Comments = append(p.Comments, views.CommentView{Author: cm.AuthorLabel, Body: cm.Body, At: cm.CreatedAt})
	}
	if cs.Status == store.ChangeSetApproved {
		// What became of the failures it fixes: told to whoever looks.
		fix, err := h.Store.FailureFixOf(ctx, cs.ID)
		if err != nil {
			return err
		}
		if fix != nil {
			p.FollowUp, p.FollowUpAt = fix.Outcome, &fix.CreatedAt
			if fix.BatchID != nil {
				// The result, once the follow-up ran: counted from its replays.
				r, err := h.Store.FixResultOf(ctx, *fix.BatchID)
				if err != nil {
					return err
				}
				p.FollowUpResult = &views.FixResultView{TriedAgain: r.TriedAgain, Fixed: r.Fixed, StillFailing: r.StillFailing,
					Waiting: r.Waiting, DealtWith: r.DealtWith, Refused: r.Refused, BatchHref: fmt.Sprintf("/failed/batches/%d", *fix.BatchID)}
			}
		}
	}
	return RenderStatus(c, status, views.ChangeSetView(p))
}

// changeSetFailure re-renders the proposed change page explaining why an action
// was refused, or returns the error when it is not the person's to fix.
func (h Mappings) changeSetFailure(c *fiber.Ctx, id int64, err error) error {
	var fe vocab.FieldErrors
	var se store.StateError
	var ce store.ConflictsError
	status, msg := 0, ""
	var errs map[string]string
	switch {
	case errors.As(err, &fe):
		status, msg, errs = fiber.StatusUnprocessableEntity, "Nothing was changed: correct the fields below.", fe
		if fe["form"] != "" {
			msg = fe["form"]
		}
	case errors.Is(err, store.ErrOwnChangeSet), errors.Is(err, store.ErrNotApprover), errors.Is(err, store.ErrNotProposer):
		status, msg = fiber.StatusForbidden, mappingSentence(err)
	case errors.As(err, &se):
		status, msg = fiber.StatusConflict, mappingSentence(err)
	case errors.As(err, &ce):
		status, msg = fiber.StatusConflict, strings.TrimSuffix(mappingSentence(err), ".")+": nothing was applied. Each problem is explained below with a way to resolve it."
	case errors.Is(err, store.ErrHasInvalidRows), errors.Is(err, store.ErrNothingToChange):
		status, msg = fiber.StatusUnprocessableEntity, mappingSentence(err)
	case errors.Is(err, store.ErrConflict):
		status, msg = fiber.StatusConflict, "The mappings changed while this was being approved; nothing was applied. Check the proposed change again."
	default:
		return err
	}
	cs, lerr := h.Store.ChangeSetByID(c.UserContext(), id)
	if lerr != nil {
		return lerr
	}
	var form views.ItemFormView
	if errs != nil {
		_, form, _ = itemForm(c)
	}
	return h.renderChangeSet(c, cs, status, msg, errs, form)
}

// mappingSentence turns a store error ("you proposed this...") into a sentence.
func mappingSentence(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// csAction runs a change-set action and goes back to its page.
func (h Mappings) csAction(c *fiber.Ctx, flash func(store.ChangeSet) string, do func(id int64) (store.ChangeSet, error)) error {
	cur, err := h.loadChangeSet(c)
	if err != nil {
		return err
	}
	cs, err := do(cur.ID)
	if err != nil {
		return h.changeSetFailure(c, cur.ID, err)
	}
	h.Flash(c, "success", flash(cs))
	return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cs.ID))
}

// AddRow adds a row to a draft.
func (h Mappings) AddRow(c *fiber.Ctx) error {
	in, _, ok := itemForm(c)
	return h.csAction(c, func(store.ChangeSet) string { return "Row added." }, func(id int64) (store.ChangeSet, error) {
		if !ok {
			return store.ChangeSet{}, vocab.FieldErrors{"form": "One of the fields is far too long."}
		}
		return h.Store.AddChangeSetItems(c.UserContext(), Actor(c), id, []store.ItemInput{in})
	})
}

// RemoveRow removes a row from a draft.
func (h Mappings) RemoveRow(c *fiber.Ctx) error {
	line, _ := strconv.Atoi(c.FormValue("line"))
	return h.csAction(c, func(store.ChangeSet) string { return fmt.Sprintf("Row %d removed.", line) }, func(id int64) (store.ChangeSet, error) {
		return h.Store.RemoveChangeSetItem(c.UserContext(), Actor(c), id, line)
	})
}

// Submit sends a draft for approval.
func (h Mappings) Submit(c *fiber.Ctx) error {
	return h.csAction(c, func(cs store.ChangeSet) string {
		msg := fmt.Sprintf("Submitted: %s wait for an admin's approval.", h.what(c, cs))
		if cs.NConflicts > 0 {
			msg += fmt.Sprintf(" %d conflict(s) must be resolved before it can be approved.", cs.NConflicts)
		}
		return msg
	}, func(id int64) (store.ChangeSet, error) { return h.Store.SubmitChangeSet(c.UserContext(), Actor(c), id) })
}

// Withdraw closes an open proposed change without applying it.
func (h Mappings) Withdraw(c *fiber.Ctx) error {
	return h.csAction(c, func(store.ChangeSet) string { return "Withdrawn: nothing was applied." },
		func(id int64) (store.ChangeSet, error) {
			return h.Store.WithdrawChangeSet(c.UserContext(), Actor(c), id)
		})
}

// Recheck compares an open proposed change with the current mappings again.
func (h Mappings) Recheck(c *fiber.Ctx) error {
	return h.csAction(c, func(cs store.ChangeSet) string {
		if cs.NConflicts == 0 {
			return "Checked against the current mappings: no conflicts."
		}
		return fmt.Sprintf("Checked against the current mappings: %d conflict(s), explained below.", cs.NConflicts)
	}, func(id int64) (store.ChangeSet, error) {
		return h.Store.RecheckChangeSet(c.UserContext(), Actor(c), id)
	})
}

// Approve applies a pending proposed change. The route allows admins only; the
// store refuses the proposer, also for a crafted request.
func (h Mappings) Approve(c *fiber.Ctx) error {
	comment, ok := form(c, "comment", 8000)
	return h.csAction(c, func(cs store.ChangeSet) string {
		return fmt.Sprintf("Approved: %s applied as mapping version %d.", h.what(c, cs), *cs.Version)
	}, func(id int64) (store.ChangeSet, error) {
		if !ok {
			return store.ChangeSet{}, vocab.FieldErrors{"comment": "That comment is far too long."}
		}
		return h.Store.ApproveChangeSet(c.UserContext(), Actor(c), id, comment)
	})
}

// Reject closes a pending proposed change with a reason.
func (h Mappings) Reject(c *fiber.Ctx) error {
	comment, ok := form(c, "comment", 8000)
	return h.csAction(c, func(store.ChangeSet) string { return "Rejected; the proposer sees your reason." }, func(id int64) (store.ChangeSet, error) {
		if !ok {
			return store.ChangeSet{}, vocab.FieldErrors{"comment": "That comment is far too long."}
		}
		return h.Store.RejectChangeSet(c.UserContext(), Actor(c), id, comment)
	})
}

// Revert proposes a new proposed change undoing an approved one.
func (h Mappings) Revert(c *fiber.Ctx) error {
	return h.csAction(c, func(store.ChangeSet) string {
		return "Draft created that undoes the proposed change. Review it, then submit it for approval."
	}, func(id int64) (store.ChangeSet, error) {
		return h.Store.RevertChangeSet(c.UserContext(), Actor(c), id, "")
	})
}

// Comment adds a comment to a proposed change.
func (h Mappings) Comment(c *fiber.Ctx) error {
	cur, err := h.loadChangeSet(c)
	if err != nil {
		return err
	}
	body, ok := form(c, "body", 8000)
	if !ok {
		return h.renderChangeSet(c, cur, fiber.StatusUnprocessableEntity, "", map[string]string{"body": "That comment is far too long."}, views.ItemFormView{})
	}
	if _, err := h.Store.CommentOnChangeSet(c.UserContext(), Actor(c), cur.ID, body); err != nil {
		return h.changeSetFailure(c, cur.ID, err)
	}
	h.Flash(c, "success", "Comment added.")
	return Redirect(c, fmt.Sprintf("/mappings/change-sets/%d", cur.ID))
}

// ChangeSets lists proposed changes, newest first, filtered by status.
func (h Mappings) ChangeSets(c *fiber.Ctx) error {
	status := c.Query("status")
	f := store.ChangeSetFilter{Limit: mappingPageSize, BeforeID: mappingID(c.Query("before"))}
	switch status {
	case store.ChangeSetDraft, store.ChangeSetPending, store.ChangeSetApproved, store.ChangeSetRejected, store.ChangeSetWithdrawn:
		f.Statuses = []string{status}
	default:
		status = ""
	}
	return h.renderChangeSets(c, f, false, status)
}

// Approvals is the admin's inbox: pending proposed changes others proposed.
func (h Mappings) Approvals(c *fiber.Ctx) error {
	f := store.ChangeSetFilter{Statuses: []string{store.ChangeSetPending}, NotProposer: CurrentUser(c).ID, Limit: mappingPageSize,
		BeforeID: mappingID(c.Query("before"))}
	return h.renderChangeSets(c, f, true, store.ChangeSetPending)
}

func (h Mappings) renderChangeSets(c *fiber.Ctx, f store.ChangeSetFilter, inbox bool, status string) error {
	rows, more, err := h.Store.ListChangeSets(c.UserContext(), f)
	if err != nil {
		return err
	}
	title, path := "Proposed changes", "/mappings/change-sets"
	if inbox {
		title, path = "Approvals", "/mappings/approvals"
	}
	p := views.ChangeSetsPage{Meta: h.Meta(c, title, "mappings"), Inbox: inbox, Status: status, Now: now(),
		Statuses: []components.Option{{Value: "", Label: "Any status"}, {Value: store.ChangeSetDraft, Label: "Draft"},
			{Value: store.ChangeSetPending, Label: "Waiting for approval"}, {Value: store.ChangeSetApproved, Label: "Approved"},
			{Value: store.ChangeSetRejected, Label: "Rejected"}, {Value: store.ChangeSetWithdrawn, Label: "Withdrawn"}}}
	for _, cs := range rows {
		p.Rows = append(p.Rows, changeSetRow(cs))
	}
	q := url.Values{}
	if status != "" && !inbox {
		q.Set("status", status)
	}
	if f.BeforeID != 0 {
		p.FirstHref = path + "?" + q.Encode()
	}
	if more && len(rows) > 0 {
		q.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		p.NextHref = path + "?" + q.Encode()
	}
	return Render(c, views.ChangeSets(p))
}

// matchesAndOverlaps counts a proposed change of matches in matches (a
// match is one pair, however many rows), and lists the other open proposed
// changes with some of the same records.
func (h Mappings) matchesAndOverlaps(ctx context.Context, cs store.ChangeSet, p *views.ChangeSetPage) error {
	switch cs.Source {
	case store.SourceSuggestions, store.SourcePicker:
		n, err := h.Store.ChangeSetMatches(ctx, cs.ID)
		if err != nil {
			return err
		}
		p.Matches = n
	}
	if !cs.Open() {
		return nil
	}
	ovs, err := h.Store.ChangeSetOverlaps(ctx, cs.ID)
	if err != nil {
		return err
	}
	for _, o := range ovs {
		p.Overlaps = append(p.Overlaps, views.OverlapView{ID: o.ChangeSetID, Pending: o.Status == store.ChangeSetPending, ProposedBy: o.ProposedLabel, N: o.N})
	}
	return nil
}

// what names what a proposed change does, as its page does: "33 matches"
// for matches (a match is one pair, however many rows), else "2 changes".
func (h Mappings) what(c *fiber.Ctx, cs store.ChangeSet) string {
	if cs.Source == store.SourceSuggestions || cs.Source == store.SourcePicker {
		if n, err := h.Store.ChangeSetMatches(c.UserContext(), cs.ID); err == nil && n > 0 {
			return matchesNoun(n)
		}
	}
	if n := cs.Changes(); n != 1 {
		return number.Thousands(n) + " changes"
	}
	return "1 change"
}

// personName names a person by name, not e-mail: the account's name when it
// still exists, else the label kept with the record.
func (h Mappings) personName(ctx context.Context, id *int64, label string) string {
	if id == nil {
		return label
	}
	u, err := h.Store.UserByID(ctx, *id)
	if err != nil || u.Name == "" {
		return label
	}
	return u.Name
}

package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// The actions on everything matching a filter, after a confirmation that
// counts them: resolve, ignore, exclude from syncing, try again.
var bulkActions = map[string]bool{"resolve": true, "ignore": true, "exclude": true, "replay": true}

// matchingOf reads the filter an action carries: from the URL on the
// confirmation, from the form's "filter" on the POST.
func matchingOf(get func(string) string) (store.FailedFilter, url.Values) {
	f, _, q := failedQuery(get)
	f.Status = store.FailedOpen // the actions are on open failures
	q.Del("status")
	return f, q
}

// excludable narrows f to the failures excluding acts on: those about a
// record that exists in only one system. ok is false when f asks for another
// kind of problem.
func excludable(f store.FailedFilter) (store.FailedFilter, bool) {
	if f.ErrorClass != "" && f.ErrorClass != vocab.ClassOnlyInOne {
		return f, false
	}
	f.ErrorClass = vocab.ClassOnlyInOne
	return f, true
}

// ActConfirm shows what an action on everything matching the filter will
// do, with the count as it stands now.
func (h Failed) ActConfirm(c *fiber.Ctx) error {
	ctx := c.UserContext()
	action := c.Query("action")
	if !bulkActions[action] {
		h.Flash(c, "critical", "That action was not understood; nothing was changed.")
		return Redirect(c, "/failed")
	}
	f, q := matchingOf(func(k string) string { return c.Query(k) })
	conns, _, err := syncsConnections(ctx, h.Store)
	if err != nil {
		return err
	}
	cf, ok := f, true
	if action == "exclude" {
		cf, ok = excludable(f)
	}
	var m store.Matching
	if ok {
		if m, err = h.Store.CountMatching(ctx, cf, 0); err != nil {
			return err
		}
	}
	p := views.FailedActPage{Meta: h.Meta(c, "Confirm · Failed syncs", "failed"), Action: action, Count: m.Count, Capped: m.Capped,
		Upto: m.Newest, Filter: q.Encode(), BackHref: "/failed?" + q.Encode(), Describe: describeFilterWords(f, conns)}
	if !ok {
		p.Count = 0
	}
	return Render(c, views.FailedAct(p))
}

// describeFilterWords says which failures a filter matches, in words.
func describeFilterWords(f store.FailedFilter, conns syncConns) string {
	s := "open failures"
	if f.ErrorClass != "" {
		s += " of the kind “" + f.ErrorClass.Label() + "”"
	}
	if f.Family != "" {
		s += ", " + familyLabel(string(f.Family))
	}
	if f.Direction != "" {
		s += ", " + f.Direction.Label()
	}
	if f.Group {
		s += ", from " + conns.view(f.SourceID).Name + " to " + conns.view(f.TargetID).Name
	}
	if f.ConnectionID != 0 {
		s += ", involving " + conns.view(f.ConnectionID).Name
	}
	if f.Search != "" {
		s += ", matching “" + f.Search + "”"
	}
	if f.Environment != "" {
		s += ", in " + string(f.Environment) + " systems"
	}
	return s
}

// Act resolves, ignores or excludes everything matching the confirmed
// filter: the failures the confirmation counted (up to its newest id), in
// one transaction. A failure that arrived after the count is left for the
// person to see, and a failure dealt with meanwhile is left as it is; the
// toast says both.
func (h Failed) Act(c *fiber.Ctx) error {
	ctx := c.UserContext()
	action := c.FormValue("action")
	raw, ok := form(c, "filter", 4000)
	if !ok || !bulkActions[action] || action == "replay" {
		h.Flash(c, "critical", "That action was not understood; nothing was changed.")
		return Redirect(c, "/failed")
	}
	vals, _ := url.ParseQuery(raw)
	f, q := matchingOf(func(k string) string { return vals.Get(k) })
	back := "/failed"
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	upto, err1 := strconv.ParseInt(c.FormValue("upto"), 10, 64)
	seen, err2 := strconv.Atoi(c.FormValue("seen"))
	if err1 != nil || err2 != nil || upto <= 0 || seen < 0 {
		h.Flash(c, "critical", "The confirmation was not understood; nothing was changed. Count the failures again.")
		return Redirect(c, back)
	}
	note, ok := form(c, "note", 4*store.MaxReasonLen)
	if !ok {
		h.Flash(c, "critical", "The note is too long; nothing was changed.")
		return Redirect(c, back)
	}
	redo := actHref(action, q)
	var done, records int
	var err error
	switch action {
	case "exclude":
		xf, ok := excludable(f)
		if !ok {
			h.Flash(c, "critical", "Only failures of records that exist in only one system can be excluded; nothing was changed.")
			return Redirect(c, back)
		}
		var r store.ExcludeResult
		r, err = h.Store.ExcludeFailures(ctx, Actor(c), xf, nil, upto, note)
		done, records, f = r.Failures, r.Records, xf
	default:
		res := store.ResolutionResolved
		if action == "ignore" {
			res = store.ResolutionIgnored
		}
		done, err = h.Store.ResolveMatching(ctx, Actor(c), f, upto, res, note)
	}
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		msg := fe.First("note", "form")
		h.Flash(c, "critical", msg+" Nothing was changed.")
		return Redirect(c, redo)
	case errors.Is(err, store.ErrNothingToResolve), errors.Is(err, store.ErrNothingToExclude):
		h.Flash(c, "warning", "None of these failures is open any more (someone dealt with them meanwhile); nothing was changed.")
		return Redirect(c, back)
	case err != nil:
		return err
	}
	var msg string
	switch action {
	case "exclude":
		msg = fmt.Sprintf("%s excluded from syncing; %s closed. They are listed on Excluded records, where they can be included again.",
			countOf(records, "record"), countOf(done, "failure"))
	case "ignore":
		msg = fmt.Sprintf("%s ignored.", countOf(done, "failure"))
	default:
		msg = fmt.Sprintf("%s marked resolved.", countOf(done, "failure"))
	}
	if done < seen {
		msg += fmt.Sprintf(" %s had been dealt with meanwhile and %s left as they were.", vocab.Thousands(seen-done), map[bool]string{true: "was", false: "were"}[seen-done == 1])
	}
	if later, err := h.Store.CountMatching(ctx, f, 0); err == nil && later.Count > 0 {
		msg += fmt.Sprintf(" %s arrived after you looked and %s still open.", countOf(later.Count, "matching failure"), map[bool]string{true: "is", false: "are"}[later.Count == 1])
	}
	h.Flash(c, "success", msg)
	return Redirect(c, back)
}

// Exclude excludes from syncing the records of the ticked failures (those
// that exist in only one system), and closes their open failures.
func (h Failed) Exclude(c *fiber.Ctx) error {
	back := backTo(c)
	ids, ok := parseIDs(c, "id")
	if !ok || len(ids) > maxSelected {
		h.Flash(c, "critical", "The ticked failures were not understood; nothing was changed.")
		return Redirect(c, back)
	}
	if c.FormValue("from") == "sync" && len(ids) == 1 {
		back = fmt.Sprintf("/syncs/%d", ids[0]) // the failure's own page
	}
	if ids == nil {
		ids = []int64{}
	}
	note, ok := form(c, "note", 4*store.MaxReasonLen)
	if !ok {
		h.Flash(c, "critical", "The note is too long; nothing was changed.")
		return Redirect(c, back)
	}
	r, err := h.Store.ExcludeFailures(c.UserContext(), Actor(c), store.FailedFilter{}, ids, 0, note)
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		msg := fe.First("note", "form")
		h.Flash(c, "critical", msg+" Nothing was changed.")
		return Redirect(c, back)
	case errors.Is(err, store.ErrNothingToExclude):
		h.Flash(c, "warning", "None of the ticked failures is about a record that exists in only one system (or they were dealt with meanwhile); nothing was excluded.")
		return Redirect(c, back)
	case err != nil:
		return err
	}
	msg := fmt.Sprintf("%s excluded from syncing; %s closed.", countOf(r.Records, "record"), countOf(r.Failures, "failure"))
	h.Flash(c, "success", msg)
	return Redirect(c, back)
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return vocab.Thousands(n) + " " + noun + "s"
}

package handlers

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// FailureReader is what a failed sync's page needs beyond the sync itself.
type FailureReader interface {
	FailedSyncByID(ctx context.Context, id int64) (store.FailedSync, error)
	VersionAt(ctx context.Context, t time.Time) (int64, error)
	CurrentVersion(ctx context.Context) (int64, error)
	RulesVersionAt(ctx context.Context, t time.Time) (int64, error)
	RulesVersion(ctx context.Context) (int64, error)
	TryAgainOf(ctx context.Context, replayID int64) (store.TryAgain, error)
	DealtWithBy(ctx context.Context, id int64) (string, error)
}

// failureDetail builds the failure section of a sync's page; nil for a sync
// that neither failed nor replays a failure.
func failureDetail(c *fiber.Ctx, st FailureReader, id int64, conns syncConns) (*views.FailureDetail, error) {
	ctx := c.UserContext()
	s, err := st.FailedSyncByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.Class() == "" && s.HowResolved() == "" && s.ReplayOf == nil {
		return nil, nil
	}
	d := &views.FailureDetail{ID: s.ID, Open: s.Problem(), SourceRef: s.EntityRef, TargetRef: s.TargetRef,
		Resolution: s.HowResolved(), Payload: prettyJSON(s.Payload)}
	u := CurrentUser(c)
	d.CanAct = u != nil && (u.Role == vocab.RoleAdmin || u.Role == vocab.RoleOperator)
	d.CanEdit = u != nil && u.Role == vocab.RoleAdmin
	if s.ResolvedLabel != nil {
		d.ResolvedBy = *s.ResolvedLabel
	}
	if s.ResolutionNote != nil {
		d.Note = *s.ResolutionNote
	}
	if s.QueuedIn != nil && d.Open {
		d.QueuedIn = *s.QueuedIn
	}
	if s.ReplayedBy != nil {
		d.ReplayedBy = *s.ReplayedBy
	}
	if s.ReplayOf != nil {
		d.ReplayOf = *s.ReplayOf
	}
	if s.EditedFrom != nil {
		d.EditedFrom = *s.EditedFrom
	}
	d.MappingHref = MappingSearchHref(s.Sync)
	if d.MappingThen, err = st.VersionAt(ctx, s.CreatedAt); err != nil {
		return nil, err
	}
	if s.MappingVersion != nil {
		d.MappingThen = *s.MappingVersion // a replay records the version it was made under
	}
	if d.MappingNow, err = st.CurrentVersion(ctx); err != nil {
		return nil, err
	}
	if d.RulesThen, err = st.RulesVersionAt(ctx, s.CreatedAt); err != nil {
		return nil, err
	}
	if s.RulesVersion != nil {
		d.RulesThen = *s.RulesVersion
	}
	if d.RulesNow, err = st.RulesVersion(ctx); err != nil {
		return nil, err
	}
	if err := tellStatus(ctx, st, s, d); err != nil {
		return nil, err
	}
	src, tgt := conns.view(s.SourceConnectionID).Name, conns.view(s.TargetConnectionID).Name
	what := fmt.Sprintf("%s %s", familyLabel(string(s.Family)), entityLabel(s.Sync))
	switch s.Class() {
	case vocab.ClassUnmapped:
		d.Summary = fmt.Sprintf("%s could not be sent from %s to %s, because a record in it is not mapped in %s yet.", what, src, tgt, tgt)
		d.Advice = "Map the missing record, then try this sync again."
		d.FixLabel, d.FixHref = "Map it", SyncFixHref(s.ID)
		if d.Open {
			d.ProposeFilter = url.Values{"q": {s.EntityRef}, "connection": {strconv.FormatInt(s.SourceConnectionID, 10)}}.Encode()
		}
	case vocab.ClassOnlyInOne:
		d.Summary = fmt.Sprintf("%s could not be sent from %s to %s: %s", what, src, tgt, s.Message)
		d.Advice = fmt.Sprintf("There is nothing to map it to. Create it in %s (it is then matched by SKU at the next catalogue check), exclude it from syncing, or ignore this failure.", tgt)
		d.Excludable = d.Open
	case vocab.ClassValidation:
		d.Summary = fmt.Sprintf("%s refused %s from %s.", tgt, what, src)
		d.Advice = "Correct what " + tgt + " refuses, in " + src + " or in " + tgt + " (or, as an admin, edit the data below), then try again."
	case vocab.ClassOwnership:
		d.Summary = fmt.Sprintf("%s was not sent to %s: the sources of truth do not allow it.", what, tgt)
		d.Advice = "If the rule is wrong, change the sources of truth, then try again; otherwise ignore this sync."
		d.FixLabel, d.FixHref = "Sources of truth", "/sources"
	case vocab.ClassAuth:
		d.Summary = fmt.Sprintf("%s refused Crossdock's access while sending %s.", tgt, what)
		d.Advice = "Check the credentials of the connection, then try again."
		d.FixLabel, d.FixHref = "Open the connection", "/connections/"+strconv.FormatInt(s.TargetConnectionID, 10)
	case vocab.ClassTransient, vocab.ClassRateLimited:
		d.Summary = fmt.Sprintf("%s could not reach %s: it was unavailable or busy.", what, tgt)
		d.Advice = "Crossdock retries by itself; once it has given up, try again when " + tgt + " is back."
	case vocab.ClassNotFound:
		d.Summary = fmt.Sprintf("%s refers to a record that %s does not have.", what, tgt)
		d.Advice = "Create the record or correct its mapping, then try again; or ignore this sync if the record was deleted on purpose."
	case vocab.ClassConflict:
		d.Summary = fmt.Sprintf("%s changed in %s since Crossdock last wrote it.", what, tgt)
		d.Advice = "Decide which value is right, then try again or ignore."
	case "":
		d.Summary = fmt.Sprintf("%s: %s", what, s.Status.Label())
	default:
		d.Summary = fmt.Sprintf("%s failed because of a fault in Crossdock.", what)
		d.Advice = "Try it again; if it fails again, give the sync number to your admin."
	}
	if !d.Open {
		// Dealt with: what to do no longer applies.
		d.Advice, d.FixLabel, d.FixHref = "", "", ""
	}
	switch {
	case !d.Open:
		d.ReplayNow = "Nothing: this failure has been dealt with."
	case d.MappingNow != d.MappingThen || d.RulesNow != d.RulesThen:
		d.ReplayNow = fmt.Sprintf("Sends the same data again with today's mappings (version %d, was %d) and sources of truth (version %d, was %d), so it may now go through. Anything already written is not written twice.",
			d.MappingNow, d.MappingThen, d.RulesNow, d.RulesThen)
	default:
		d.ReplayNow = "Sends the same data again; the mappings and sources of truth have not changed since, so unless the other system changed it will likely fail the same way."
	}
	return d, nil
}

// tellStatus gives the failure one status, the truth, and who or what
// brought it there: an open failure is "Failed"; one tried again is
// "Tried again — fixed" or "— still failing" after how its new attempt
// ended, by hand by a person or automatically after an admin approved a
// proposed change; one resolved or ignored says by whom. A replay says who
// started it.
func tellStatus(ctx context.Context, st FailureReader, s store.FailedSync, d *views.FailureDetail) error {
	if s.ReplayOf != nil {
		t, err := st.TryAgainOf(ctx, s.ID)
		if err != nil {
			return err
		}
		d.StartedBy, d.TriedAgainBy = triedAgainBy(t), t.By
		d.ChangeSetID = changeSetOf(t)
	}
	switch res := s.HowResolved(); res {
	case "":
		if !s.Problem() {
			return nil // a replay that went through, or has not ended: its own status says it
		}
		d.Status, d.StatusKind = s.Status.Label(), "critical"
		if s.Status == vocab.SyncRetrying {
			d.StatusKind = "warning"
		}
	case store.ResolutionReplayed:
		if s.ReplayedBy == nil { // its replay was pruned
			d.Status, d.StatusKind = "Tried again", "neutral"
			return nil
		}
		t, err := st.TryAgainOf(ctx, *s.ReplayedBy)
		if err != nil {
			return err
		}
		switch {
		case t.ReplayStatus == vocab.SyncSucceeded || t.ReplayStatus == vocab.SyncSkipped:
			d.Status, d.StatusKind = "Tried again — fixed", "success"
		case t.ReplayStatus == vocab.SyncFailed || t.ReplayStatus == vocab.SyncRejected:
			d.Status, d.StatusKind = "Tried again — still failing", "critical"
			if !t.ReplayOpen {
				d.Status, d.StatusKind = "Tried again — failed again, since dealt with", "neutral"
			}
		default:
			d.Status, d.StatusKind = "Tried again — waiting for the result", "info"
		}
		d.ResolvedBy, d.TriedAgainBy = triedAgainBy(t), t.By
		d.ChangeSetID = changeSetOf(t)
	case store.ResolutionAutoResolved:
		d.Status, d.StatusKind = "Resolved by a later sync", "success"
		d.ResolvedBy = ""
	default:
		by, err := st.DealtWithBy(ctx, s.ID)
		if err != nil {
			return err
		}
		label := views.ResolutionLabel(res)
		d.Status, d.StatusKind = label, "neutral"
		if res == store.ResolutionResolved {
			d.StatusKind = "success"
		}
		if by != "" && res != "excluded" {
			d.Status = label + " by " + by
		}
		d.ResolvedBy = ""
	}
	return nil
}

// triedAgainBy says who or what made a replay, in the product's words.
func triedAgainBy(t store.TryAgain) string {
	if t.Automatic() {
		return fmt.Sprintf("Tried again automatically after %s approved proposed change #%d", approver(t.By), *t.ChangeSetID)
	}
	if t.By == "" {
		return "Tried again by hand"
	}
	return "Tried again by hand by " + t.By
}

func approver(name string) string { return cmp.Or(name, "an admin") }

func changeSetOf(t store.TryAgain) int64 {
	if t.ChangeSetID == nil {
		return 0
	}
	return *t.ChangeSetID
}

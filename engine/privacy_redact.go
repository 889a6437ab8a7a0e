package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"crossdock/store"
	"crossdock/store/mask"
	"crossdock/store/number"
)

// Redacted stands in for every personal value an erasure removes.
const Redacted = store.Redacted

// erasureChunk is how many syncs one erasure transaction rewrites: short
// transactions, so an erasure of a customer with thousands of syncs holds
// no lock for long and resumes where it stopped after a restart.
const erasureChunk = 500

// erasureLoop works through customers' erasures, a chunk at a time, sends
// them to the connected systems, and erases shops' data, until ctx ends.
// Every replica runs one: the claims skip work another holds.
func (e *Engine) erasureLoop(ctx context.Context) {
	for ctx.Err() == nil {
		did, err := e.erasureRound(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("privacy erasure", "err", err)
			wait = time.Second
		case !did:
			wait = max(e.cfg.IntakeInterval, 10*time.Millisecond)
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// erasureRound takes one step of each kind of erasure work; one failing
// never stops the others (an unreachable system never holds up Crossdock's
// own erasure).
func (e *Engine) erasureRound(ctx context.Context) (bool, error) {
	var errs []error
	did := false
	for _, step := range []func(context.Context) (bool, error){e.EraseOnce, e.SendErasureOnce, e.EraseShopOnce} {
		d, err := step(ctx)
		did = did || d
		if err != nil {
			errs = append(errs, err)
		}
	}
	return did, errors.Join(errs...)
}

// EraseOnce takes the customer erasure due first one step on, in one
// transaction: the first step lists the customer's syncs, deliveries and
// personal values; each next one rewrites a chunk of syncs; the last one the
// deliveries and the mappings, and marks the request done. It reports
// whether there was an erasure to work on.
func (e *Engine) EraseOnce(ctx context.Context) (bool, error) {
	did := false
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.ClaimErasure(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		did = true
		if err := tx.PlanAsLookups(ctx); err != nil {
			return err
		}
		if !w.Planned() {
			if err := planErasure(ctx, tx, w); err != nil {
				return err
			}
			return e.planSystemErasures(ctx, tx, w)
		}
		r := redactor{terms: w.Terms}
		end := min(w.Position+erasureChunk, len(w.SyncIDs))
		chunk := []int64(w.SyncIDs[w.Position:end])
		step := store.ErasureStep{Position: end}
		if len(chunk) > 0 {
			ss, err := tx.StoredSyncs(ctx, chunk)
			if err != nil {
				return err
			}
			for i := range ss {
				ss[i] = r.sync(ss[i])
			}
			if err := tx.RewriteSyncs(ctx, ss); err != nil {
				return err
			}
			as, err := tx.StoredAnswers(ctx, chunk)
			if err != nil {
				return err
			}
			for i := range as {
				as[i].Message, as[i].Response = r.text(as[i].Message), r.json(as[i].Response)
			}
			if err := tx.RewriteAnswers(ctx, as); err != nil {
				return err
			}
			step.Syncs = len(ss)
		}
		if end < len(w.SyncIDs) {
			step.Progress = fmt.Sprintf("Erasing: %s of %s syncs done.", number.Thousands(end), number.Thousands(len(w.SyncIDs)))
			return tx.AdvanceErasure(ctx, w.ID, step)
		}
		bodies, err := tx.StoredBodies(ctx, w.EventIDs)
		if err != nil {
			return err
		}
		for i := range bodies {
			bodies[i].Payload = r.json(bodies[i].Payload)
		}
		if err := tx.RewriteBodies(ctx, bodies); err != nil {
			return err
		}
		gid := ""
		if w.CustomerID != "" {
			gid = "gid://shopify/Customer/" + w.CustomerID
		}
		if step.Records, err = tx.EraseCustomerRecords(ctx, w.ConnectionID, gid, w.CustomerEmail, Redacted); err != nil {
			return err
		}
		step.Events, step.Done = len(bodies), true
		step.Progress = fmt.Sprintf("Erased from Crossdock: the customer's personal data in %s, %s and %s of the mappings and catalogues. Amounts, SKUs, order numbers and totals are kept.",
			counted(w.ErasedSyncs+step.Syncs, "sync", "syncs"), counted(step.Events, "webhook delivery", "webhook deliveries"), counted(step.Records, "record", "records"))
		return tx.AdvanceErasure(ctx, w.ID, step)
	})
	return did, err
}

// counted is a number and its noun: "1 sync", "1,200 syncs".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return number.Thousands(n) + " " + many
}

// planErasure lists what an erasure goes through: the customer's syncs and
// the deliveries they came from (found as a data request finds them), and
// the personal values to erase wherever they appear.
func planErasure(ctx context.Context, tx *store.Tx, w store.Erasure) error {
	q := store.CustomerQuery{ConnectionID: w.ConnectionID, Email: w.CustomerEmail}
	if w.CustomerID != "" {
		q.CustomerGID = "gid://shopify/Customer/" + w.CustomerID
	}
	for _, o := range w.OrderIDs {
		q.OrderGIDs = append(q.OrderGIDs, "gid://shopify/Order/"+o)
	}
	d, err := tx.CustomerData(ctx, q)
	if err != nil {
		return err
	}
	terms := []string{w.CustomerEmail, w.CustomerPhone}
	for _, ref := range d.Refs {
		if ref.EntityType == "customer" {
			terms = append(terms, ref.Name, ref.Email)
		}
	}
	var syncs, events []int64
	for _, s := range d.Syncs {
		syncs = append(syncs, s.ID)
		if s.WebhookEventID != nil && !slices.Contains(events, *s.WebhookEventID) {
			events = append(events, *s.WebhookEventID)
		}
		for _, b := range [][]byte{s.Payload, s.Request} {
			terms = append(terms, customerNames(b, w.CustomerEmail)...)
		}
	}
	for _, ev := range d.Events {
		terms = append(terms, customerNames(ev.Payload, w.CustomerEmail)...)
	}
	slices.Sort(syncs)
	return tx.PlanErasure(ctx, w.ID, syncs, events, cleanTerms(terms))
}

// customerNames finds the customer's names in a stored JSON value: the
// first, last and full name and "name" of every object that carries their
// e-mail address or sits under a "customer" key.
func customerNames(b []byte, email string) []string {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any, customer bool)
	walk = func(v any, customer bool) {
		switch t := v.(type) {
		case map[string]any:
			mine := customer
			for _, k := range []string{"email", "contact_email", "customer_email"} {
				if s, ok := t[k].(string); ok && email != "" && strings.EqualFold(strings.TrimSpace(s), email) {
					mine = true
				}
			}
			if mine {
				first, _ := t["first_name"].(string)
				last, _ := t["last_name"].(string)
				name, _ := t["name"].(string)
				phone, _ := t["phone"].(string)
				out = append(out, first+" "+last, name, phone)
			}
			for k, c := range t {
				walk(c, k == "customer" || k == "default_address" || (mine && strings.HasSuffix(k, "address")))
			}
		case []any:
			for _, c := range t {
				walk(c, customer)
			}
		}
	}
	walk(v, false)
	return out
}

// cleanTerms keeps the distinct values worth erasing: order names ("#1001")
// and very short values would match unrelated text.
func cleanTerms(terms []string) []string {
	var out []string
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if len([]rune(t)) < 4 || strings.HasPrefix(t, "#") || t == Redacted || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			continue
		}
		out = append(out, t)
	}
	// Longest first, so "Ada Byron" goes before "Ada" would.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redactor erases personal data from stored values: every personal field by
// its name, and the customer's own values wherever they appear.
type redactor struct{ terms []string }

func (r redactor) sync(s store.StoredSync) store.StoredSync {
	s.EntityKey, s.Message = r.text(s.EntityKey), r.text(s.Message)
	keys := s.SearchKeys[:0:0]
	for _, k := range s.SearchKeys {
		if r.text(k) == k {
			keys = append(keys, k)
		}
	}
	s.SearchKeys = keys
	s.Payload, s.Request, s.Response = r.json(s.Payload), r.json(s.Request), r.json(s.Response)
	if len(s.Payload) == 0 {
		s.Payload = []byte("{}")
	}
	return s
}

// text replaces the customer's values in a sentence.
func (r redactor) text(s string) string {
	for _, t := range r.terms {
		s = replaceFold(s, t, Redacted)
	}
	return s
}

// json rewrites a stored JSON value; one that does not parse is kept only
// as far as replacing the customer's values in its text.
func (r redactor) json(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	// Numbers stay as written: a 64-bit id must not become a float.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(r.text(string(b)))
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.value(v)); err != nil {
		return []byte(r.text(string(b)))
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func (r redactor) value(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if mask.PersonalKey(k) { // one list of personal fields: store/mask
				switch c.(type) {
				case string:
					if c != "" {
						t[k] = Redacted
					}
				case nil, bool:
				default:
					t[k] = nil
				}
				continue
			}
			t[k] = r.value(c)
		}
		return t
	case []any:
		for i, c := range t {
			t[i] = r.value(c)
		}
		return t
	case string:
		return r.text(t)
	}
	return v
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	lower, target := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || !strings.Contains(lower, target) {
		if !strings.Contains(s, old) {
			return s
		}
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, target)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

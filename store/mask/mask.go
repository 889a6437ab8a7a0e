// Package mask knows where personal data sits in what Crossdock stores (the
// JSON of payloads, requests, answers and webhook bodies, and the sentences
// written about them) and hides it from people whose role does not see
// customers' personal data: "j•••@example.com", "J••• D•••". The engine's
// erasure and retention find personal fields through it too, so there is one
// list of them. A leaf: it imports nothing of Crossdock.
package mask

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// personalKeys are the JSON keys that always hold personal data, wherever
// they appear. Amounts, SKUs, ids, order names and totals are not among
// them: history and finance stay whole.
var personalKeys = map[string]bool{
	"email": true, "contact_email": true, "customer_email": true, "phone": true, "mobile": true,
	"first_name": true, "last_name": true, "firstname": true, "lastname": true,
	"address1": true, "address2": true, "street": true, "street2": true, "zip": true, "city": true,
	"company": true, "latitude": true, "longitude": true, "province": true, "vat": true,
}

// identityKeys are the personal keys whose values name a person well enough
// to be looked for in sentences too (an address's zip or city would match
// unrelated text, an id or an amount).
var identityKeys = map[string]bool{
	"email": true, "contact_email": true, "customer_email": true, "phone": true, "mobile": true,
	"first_name": true, "last_name": true, "firstname": true, "lastname": true,
}

// personKeys hold a person or their address: their "name" is a person's
// name, where an order's or a product's "name" is not.
var personKeys = map[string]bool{
	"customer": true, "partner": true, "billing_address": true, "shipping_address": true, "default_address": true,
	"addresses": true, "shipping": true, "billing": true, "contact": true, "delivery_contact": true,
}

// PersonalKey reports whether a JSON key always holds personal data
// (case-insensitive).
func PersonalKey(k string) bool { return personalKeys[strings.ToLower(k)] }

// personName reports whether key k, inside an object under a person's key,
// is their name.
func personName(k string, inPerson bool) bool { return inPerson && strings.EqualFold(k, "name") }

// Values lists the personal values of JSON documents worth finding in
// sentences: e-mails, names and phone numbers, each once, longest first.
// Documents that do not parse give none.
func Values(docs ...[]byte) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) < 4 || strings.HasPrefix(s, "#") || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			return
		}
		out = append(out, s)
	}
	for _, b := range docs {
		v, ok := decode(b)
		if !ok {
			continue
		}
		var walk func(v any, inPerson bool)
		walk = func(v any, inPerson bool) {
			switch t := v.(type) {
			case map[string]any:
				first, last := "", ""
				for k, c := range t {
					s, isText := c.(string)
					lk := strings.ToLower(k)
					switch {
					case isText && (identityKeys[lk] || personName(k, inPerson)):
						if (lk == "phone" || lk == "mobile") && !phoneLike(s) {
							continue
						}
						add(s)
						if lk == "first_name" || lk == "firstname" {
							first = s
						}
						if lk == "last_name" || lk == "lastname" {
							last = s
						}
					case !isText:
						walk(c, inPerson || personKeys[lk])
					}
				}
				if first != "" && last != "" {
					add(first + " " + last)
				}
			case []any:
				for _, c := range t {
					walk(c, inPerson)
				}
			}
		}
		walk(v, false)
	}
	// Longest first, so "Ada Byron" goes before "Ada" would.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// phoneLike keeps phone numbers written as people write them: a short run
// of digits would match ids and amounts.
func phoneLike(s string) bool {
	digits := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			digits++
		}
	}
	return digits >= 6 && (strings.ContainsAny(s, "+ -().") || digits >= 9)
}

func decode(b []byte) (any, bool) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, false
	}
	// Numbers stay as written: a 64-bit id must not become a float.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// emailRe finds e-mail addresses in sentences.
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// dots stand in for what is hidden.
const dots = "•••"

// Value is one personal value as a masked page shows it: an e-mail keeps
// its first letter and its domain ("j•••@example.com"), a phone its last two
// digits ("•••78"), a name the first letter of each word ("J••• D•••").
func Value(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return ""
	case strings.Contains(s, "@"):
		at := strings.LastIndex(s, "@")
		return firstRune(s[:at]) + dots + s[at:]
	case phoneLike(s):
		var digits []rune
		for _, r := range s {
			if unicode.IsDigit(r) {
				digits = append(digits, r)
			}
		}
		return dots + string(digits[len(digits)-2:])
	}
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = firstRune(w) + dots
	}
	return strings.Join(words, " ")
}

func firstRune(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return ""
	}
	return string(r)
}

// Masker hides personal data in what a page shows or an export writes. A
// nil *Masker hides nothing: it is what a person who sees customers' personal
// data gets, so render points call it unconditionally.
type Masker struct {
	terms []string
}

// New is a masker for someone who does not see personal data, knowing terms
// (names, e-mails) to hide in sentences besides every e-mail address.
func New(terms ...string) *Masker {
	m := &Masker{}
	return m.With(terms...)
}

// With adds personal values to hide in sentences; nil stays nil.
func (m *Masker) With(terms ...string) *Masker {
	if m == nil {
		return nil
	}
	out := &Masker{terms: slices.Clone(m.terms)}
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if utf8.RuneCountInString(t) >= 3 && !slices.ContainsFunc(out.terms, func(o string) bool { return strings.EqualFold(o, t) }) {
			out.terms = append(out.terms, t)
		}
	}
	slices.SortStableFunc(out.terms, func(a, b string) int { return len(b) - len(a) })
	return out
}

// WithDocs adds the personal values of JSON documents (Values); nil stays nil.
func (m *Masker) WithDocs(docs ...[]byte) *Masker {
	if m == nil {
		return nil
	}
	return m.With(Values(docs...)...)
}

// Text hides the known personal values and every e-mail address in a
// sentence.
func (m *Masker) Text(s string) string {
	if m == nil || s == "" {
		return s
	}
	for _, t := range m.terms {
		s = replaceFold(s, t, Value(t))
	}
	return emailRe.ReplaceAllStringFunc(s, Value)
}

// Whole hides a value that is personal as a whole (a customer's name or
// e-mail shown as what a sync is about).
func (m *Masker) Whole(s string) string {
	if m == nil {
		return s
	}
	return Value(s)
}

// JSON hides the personal fields of a JSON document (by their keys, and a
// person's or an address's "name"), and the known values in its other text.
// A document that does not parse is masked as text.
func (m *Masker) JSON(b []byte) []byte {
	if m == nil || len(b) == 0 {
		return b
	}
	v, ok := decode(b)
	if !ok {
		return []byte(m.Text(string(b)))
	}
	var walk func(v any, inPerson bool) any
	walk = func(v any, inPerson bool) any {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if s, isText := c.(string); isText && (PersonalKey(k) || personName(k, inPerson)) {
					t[k] = Value(s)
					continue
				}
				if _, isNum := c.(json.Number); isNum && PersonalKey(k) {
					t[k] = dots
					continue
				}
				t[k] = walk(c, inPerson || personKeys[strings.ToLower(k)])
			}
			return t
		case []any:
			for i, c := range t {
				t[i] = walk(c, inPerson)
			}
			return t
		case string:
			return m.Text(t)
		}
		return v
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(walk(v, false)) != nil {
		return []byte(m.Text(string(b)))
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	lower, target := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(target) != len(old) {
		return strings.ReplaceAll(s, old, repl)
	}
	if !strings.Contains(lower, target) {
		return s
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

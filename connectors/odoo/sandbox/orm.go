package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// odooError is a Python exception as Odoo would raise it.
type odooError struct {
	name      string
	message   string
	arguments []any
	status    int // JSON-2 HTTP status
}

func (e *odooError) Error() string { return e.name + ": " + e.message }

func (e *odooError) debug() string {
	return "Traceback (most recent call last):\n  ...\n" + e.name + ": " + e.message + "\n"
}

func newErr(name string, status int, msg string) *odooError {
	return &odooError{name: name, message: msg, arguments: []any{msg}, status: status}
}

func userError(msg string) *odooError { return newErr("odoo.exceptions.UserError", 422, msg) }
func validationError(msg string) *odooError {
	return newErr("odoo.exceptions.ValidationError", 422, msg)
}
func missingError(msg string) *odooError { return newErr("odoo.exceptions.MissingError", 404, msg) }
func accessDenied() *odooError {
	return newErr("odoo.exceptions.AccessDenied", 403, "Access Denied")
}
func valueError(msg string) *odooError { return newErr("builtins.ValueError", 500, msg) }

// httpError is a werkzeug HTTP exception; JSON-2 serialises its arguments as
// (description, code).
func httpError(name string, status int, desc string) *odooError {
	return &odooError{name: name, message: desc, arguments: []any{desc, status}, status: status}
}

func (s *Server) accessError(m *model, operation string) *odooError {
	verb := map[string]string{"read": "access", "write": "modify", "create": "create", "unlink": "delete"}[operation]
	return newErr("odoo.exceptions.AccessError", 403, fmt.Sprintf(
		"You are not allowed to %s '%s' (%s) records.\n\nThis operation is allowed for the following groups:\n\t- %s"+
			"\n\nContact your administrator to request access if necessary.", verb, m.description, m.name, m.group))
}

func (s *Server) checkAccess(m *model, operation string) *odooError {
	if slices.Contains(s.opts.NoAccess, m.name) {
		return s.accessError(m, operation)
	}
	return nil
}

// --- domains ---

type node struct {
	op       string // "&", "|", "!", "leaf", "true"
	children []*node
	path     string
	operator string
	value    any
	// in holds the normalised values of an "in" / "not in" list, built once
	// per search: a search for 1,000 ids over thousands of records would
	// otherwise compare every record with every id.
	inOnce sync.Once
	in     map[any]bool
}

// inSet returns the set of an "in" list's non-empty scalar values, or nil when
// the list holds something the plain comparison must handle (false, lists).
func (n *node) inSet() map[any]bool {
	n.inOnce.Do(func() {
		list, _ := n.value.([]any)
		set := make(map[any]bool, len(list))
		for _, w := range list {
			switch w.(type) {
			case json.Number, float64, string:
				set[norm(w)] = true
			default:
				return // leave n.in nil
			}
		}
		n.in = set
	})
	return n.in
}

// parseDomain turns Odoo's prefix-notation domain into a tree; consecutive
// terms at the top level are implicitly and-ed, as in Odoo.
func (s *Server) parseDomain(m *model, domain []any) (*node, *odooError) {
	pos := 0
	var parse func() (*node, *odooError)
	parse = func() (*node, *odooError) {
		if pos >= len(domain) {
			return nil, valueError(fmt.Sprintf("Invalid domain: %s", mustJSON(domain)))
		}
		tok := domain[pos]
		pos++
		switch t := tok.(type) {
		case string:
			switch t {
			case "&", "|":
				a, err := parse()
				if err != nil {
					return nil, err
				}
				b, err := parse()
				if err != nil {
					return nil, err
				}
				return &node{op: t, children: []*node{a, b}}, nil
			case "!":
				a, err := parse()
				if err != nil {
					return nil, err
				}
				return &node{op: "!", children: []*node{a}}, nil
			}
		case []any:
			if len(t) == 3 {
				if f, ok := t[0].(string); ok {
					op, _ := t[1].(string)
					if err := s.checkLeaf(m, f, op, t); err != nil {
						return nil, err
					}
					return &node{op: "leaf", path: f, operator: strings.ToLower(op), value: t[2]}, nil
				}
				if t[0] == float64(1) && t[1] == "=" && t[2] == float64(1) {
					return &node{op: "true"}, nil
				}
				if t[0] == float64(0) && t[1] == "=" && t[2] == float64(1) {
					return &node{op: "!", children: []*node{{op: "true"}}}, nil
				}
			}
		}
		return nil, valueError(fmt.Sprintf("Invalid leaf %s", mustJSON(tok)))
	}
	root := &node{op: "true"}
	for pos < len(domain) {
		n, err := parse()
		if err != nil {
			return nil, err
		}
		root = &node{op: "&", children: []*node{root, n}}
	}
	return root, nil
}

var operators = []string{"=", "!=", "<>", "in", "not in", ">", ">=", "<", "<=", "like", "ilike",
	"not like", "not ilike", "=like", "=ilike", "=?"}

func (s *Server) checkLeaf(m *model, path, op string, leaf []any) *odooError {
	if !slices.Contains(operators, strings.ToLower(op)) {
		return valueError(fmt.Sprintf("Invalid leaf %s", mustJSON(leaf)))
	}
	cur := m
	parts := strings.Split(path, ".")
	for i, p := range parts {
		f, ok := cur.fields[p]
		if !ok {
			return valueError(fmt.Sprintf("Invalid field %s.%s in leaf %s", cur.name, p, mustJSON(leaf)))
		}
		if i < len(parts)-1 {
			if f.typ != tMany2one {
				return valueError(fmt.Sprintf("Invalid field %s.%s in leaf %s", cur.name, p, mustJSON(leaf)))
			}
			cur = s.models[f.relation]
			if cur == nil {
				return valueError(fmt.Sprintf("Invalid field %s.%s in leaf %s", m.name, path, mustJSON(leaf)))
			}
		}
	}
	return nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// mentions reports whether the domain has a leaf on field.
func (n *node) mentions(field string) bool {
	if n.op == "leaf" {
		return n.path == field
	}
	for _, c := range n.children {
		if c.mentions(field) {
			return true
		}
	}
	return false
}

func (s *Server) match(m *model, rec record, n *node) bool {
	switch n.op {
	case "true":
		return true
	case "&":
		return s.match(m, rec, n.children[0]) && s.match(m, rec, n.children[1])
	case "|":
		return s.match(m, rec, n.children[0]) || s.match(m, rec, n.children[1])
	case "!":
		return !s.match(m, rec, n.children[0])
	}
	v, f := s.valueAt(m, rec, n.path)
	if n.operator == "in" || n.operator == "not in" {
		// Fast path for a plain stored value (an id, a code): set membership
		// is what the element-by-element "=" below amounts to.
		switch x := v.(type) {
		case int, string:
			if set := n.inSet(); set != nil && !isEmpty(x) && (f == nil || (f.typ != tBoolean && f.typ != tFloat)) {
				return set[norm(x)] == (n.operator == "in")
			}
		}
	}
	return evalLeaf(f, v, n.operator, n.value)
}

// valueAt follows a dotted many2one path and returns the stored value.
func (s *Server) valueAt(m *model, rec record, path string) (any, *field) {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		f := m.fields[p]
		v := s.stored(m, rec, p)
		if i == len(parts)-1 {
			return v, f
		}
		id, _ := v.(int)
		m = s.models[f.relation]
		rec = m.recs[id]
		if rec == nil {
			return nil, m.fields[parts[len(parts)-1]]
		}
	}
	return nil, nil
}

// stored returns the value of a field as kept in memory, computing derived ones.
func (s *Server) stored(m *model, rec record, name string) any {
	f := m.fields[name]
	if f.compute != nil {
		return f.compute(s, rec)
	}
	if f.typ == tOne2many {
		return s.inverseIDs(f, rec["id"].(int))
	}
	return rec[name]
}

func (s *Server) inverseIDs(f *field, id int) []int {
	return s.models[f.relation].childIDs(f.inverse, id)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case int:
		return x == 0
	case bool:
		return !x
	case []int:
		return len(x) == 0
	}
	return false
}

// norm brings a stored or JSON value to float64, string or bool for comparison.
func norm(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}

func isFalse(v any) bool { return v == nil || v == false }

func evalLeaf(f *field, v any, op string, want any) bool {
	switch op {
	case "=?":
		if isFalse(want) {
			return true
		}
		return evalLeaf(f, v, "=", want)
	case "=":
		if isFalse(want) {
			return isEmpty(v)
		}
		if ids, ok := v.([]int); ok { // x2many = id: contains
			return slices.ContainsFunc(ids, func(id int) bool { return norm(id) == norm(want) })
		}
		if f != nil && f.typ == tFloat && isFalse(v) {
			v = 0.0
		}
		return !isEmpty(v) && norm(v) == norm(want) || (f != nil && f.typ == tBoolean && norm(v) == norm(want))
	case "!=", "<>":
		return !evalLeaf(f, v, "=", want)
	case "in":
		list, _ := want.([]any)
		for _, w := range list {
			if evalLeaf(f, v, "=", w) {
				return true
			}
		}
		return false
	case "not in":
		return !evalLeaf(f, v, "in", want)
	case ">", ">=", "<", "<=":
		if isEmpty(v) && (f == nil || (f.typ != tFloat && f.typ != tInteger)) {
			return false // NULL compares false in SQL
		}
		c, ok := compare(norm(v), norm(want))
		if !ok {
			return false
		}
		switch op {
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		case "<":
			return c < 0
		}
		return c <= 0
	case "like", "ilike", "not like", "not ilike", "=like", "=ilike":
		pattern, _ := want.(string)
		if !strings.HasPrefix(op, "=") {
			pattern = "%" + pattern + "%"
		}
		str, _ := v.(string)
		ok := likeMatch(str, pattern, strings.Contains(op, "ilike"))
		if isEmpty(v) {
			ok = false
		}
		if strings.HasPrefix(op, "not") {
			return !ok
		}
		return ok
	}
	return false
}

func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	}
	return 0, false
}

// likeMatch implements SQL LIKE with backslash escapes, as PostgreSQL does:
// % matches any run of characters, _ one character, \x the character x;
// fold compares characters case-insensitively (Unicode simple folding, as
// ILIKE). It walks the pattern directly: compiling a regular expression per
// record compared made the twin, not the engine, the limit of every search
// over many records (a partner looked up by e-mail reads each one).
func likeMatch(s, pattern string, fold bool) bool {
	// Greedy match with one backtrack point, the last % seen: each % extends
	// its run by one character only when what follows it fails to match.
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			pc, pw := utf8.DecodeRuneInString(pattern[pi:])
			switch {
			case pc == '%':
				starP, starS = pi+pw, si
				pi += pw
				continue
			case pc == '_':
				_, sw := utf8.DecodeRuneInString(s[si:])
				si, pi = si+sw, pi+pw
				continue
			case pc == '\\':
				if pi+pw == len(pattern) {
					pi += pw // a trailing lone backslash escapes nothing
					continue
				}
				pi += pw
				pc, pw = utf8.DecodeRuneInString(pattern[pi:])
			}
			sc, sw := utf8.DecodeRuneInString(s[si:])
			if sameRune(sc, pc, fold) {
				si, pi = si+sw, pi+pw
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		si, pi = starS, starP
	}
	for pi < len(pattern) && pattern[pi] == '%' {
		pi++
	}
	return pi == len(pattern) || pattern[pi:] == "\\"
}

// sameRune compares two characters, case-insensitively when fold is set
// (the same simple folding as a regular expression's (?i)).
func sameRune(a, b rune, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// --- search and read ---

type orderTerm struct {
	field string
	desc  bool
}

func (s *Server) parseOrder(m *model, order string) ([]orderTerm, *odooError) {
	if strings.TrimSpace(order) == "" {
		order = "id"
	}
	var terms []orderTerm
	for part := range strings.SplitSeq(order, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 || !m.has(words[0]) {
			return nil, valueError(fmt.Sprintf("Invalid \"order\" specified (%s). A valid \"order\" specification is a "+
				"comma-separated list of valid field names (optionally followed by asc/desc for the direction)", order))
		}
		t := orderTerm{field: words[0]}
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				t.desc = true
			default:
				return nil, valueError(fmt.Sprintf("Invalid \"order\" specified (%s).", order))
			}
		}
		terms = append(terms, t)
	}
	return append(terms, orderTerm{field: "id"}), nil
}

// search returns the ids matching domain, honouring active_test like Odoo:
// records with active=False are left out unless the domain mentions active or
// the context sets active_test to false.
func (s *Server) search(m *model, domain []any, ctx map[string]any, offset, limit int, order string) ([]int, *odooError) {
	root, err := s.parseDomain(m, domain)
	if err != nil {
		return nil, err
	}
	terms, err := s.parseOrder(m, order)
	if err != nil {
		return nil, err
	}
	activeTest := m.has("active") && !root.mentions("active") && ctx["active_test"] != false
	var ids []int
	for _, id := range s.candidates(m, root) {
		rec := m.recs[id]
		if activeTest && rec["active"] != true {
			continue
		}
		if s.match(m, rec, root) {
			ids = append(ids, id)
		}
	}
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := m.recs[ids[i]], m.recs[ids[j]]
		for _, t := range terms {
			c, _ := compare(norm(s.stored(m, a, t.field)), norm(s.stored(m, b, t.field)))
			if c != 0 {
				return (c < 0) != t.desc
			}
		}
		return false
	})
	if offset > 0 {
		ids = ids[min(offset, len(ids)):]
	}
	if limit > 0 && limit < len(ids) {
		ids = ids[:limit]
	}
	if ids == nil {
		ids = []int{}
	}
	return ids, nil
}

// candidates returns, ascending, the ids a search must match the domain
// against: when the domain requires an indexed field to equal a non-empty
// text (and-ed with anything), only the records holding that text; otherwise
// all of them.
func (s *Server) candidates(m *model, n *node) []int {
	var find func(n *node) ([]int, bool)
	find = func(n *node) ([]int, bool) {
		switch n.op {
		case "&":
			if ids, ok := find(n.children[0]); ok {
				return ids, true
			}
			return find(n.children[1])
		case "leaf":
			switch want := n.value.(type) {
			case string:
				if want != "" && n.operator == "=" {
					return m.withValue(n.path, want)
				}
				if lit, ok := likeLiteral(want); ok && lit != "" && n.operator == "=ilike" {
					return m.withValue("ilike:"+n.path, foldKey(lit))
				}
			default:
				// A many2one equal to an id: its records are indexed by the id.
				if f := m.fields[n.path]; f != nil && f.typ == tMany2one && n.operator == "=" {
					if id, ok := wholeNumber(want); ok && id > 0 {
						return m.withValue(n.path, id)
					}
				}
			}
		}
		return nil, false
	}
	if ids, ok := find(n); ok {
		return ids
	}
	return m.sortedIDs()
}

// likeLiteral returns the text a LIKE pattern without wildcards matches
// (its escapes undone), and false when it has a wildcard.
func likeLiteral(pattern string) (string, bool) {
	if !strings.ContainsAny(pattern, `%_\`) {
		return pattern, true
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '%', '_':
			return "", false
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteByte(pattern[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// wholeNumber reads a JSON number (or an int) that is a whole number.
func wholeNumber(v any) (int, bool) {
	f, ok := norm(v).(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

// orderedRow keeps the field order of a read, as Odoo's JSON does.
type orderedRow struct {
	keys []string
	vals map[string]any
}

func (r orderedRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range r.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(r.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (s *Server) checkFields(m *model, fields []string) *odooError {
	for _, f := range fields {
		if !m.has(f) {
			return valueError(fmt.Sprintf("Invalid field %s on model %s", quote(f), quote(m.name)))
		}
	}
	return nil
}

// read renders records as Odoo does: many2one as [id, display_name] or
// false, empty char/date as false, x2many as a list of ids.
func (s *Server) read(m *model, ids []int, fields []string) ([]orderedRow, *odooError) {
	if len(fields) == 0 {
		for name := range m.fields {
			fields = append(fields, name)
		}
		sort.Strings(fields)
	}
	if err := s.checkFields(m, fields); err != nil {
		return nil, err
	}
	keys := append([]string{"id"}, slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return f == "id" })...)
	rows := make([]orderedRow, 0, len(ids))
	for _, id := range ids {
		rec := m.recs[id]
		if rec == nil {
			return nil, missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
				m.name, id, uid))
		}
		row := orderedRow{keys: keys, vals: map[string]any{}}
		for _, k := range keys {
			row.vals[k] = s.render(m, rec, k)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Server) render(m *model, rec record, name string) any {
	f := m.fields[name]
	v := s.stored(m, rec, name)
	switch f.typ {
	case tMany2one:
		id, _ := v.(int)
		rel := s.models[f.relation]
		if id == 0 || rel == nil || rel.recs[id] == nil {
			return false
		}
		return []any{id, s.displayName(rel, rel.recs[id])}
	case tChar, tDate, tDatetime, tSelection:
		if str, _ := v.(string); str == "" {
			return false
		}
	case tMany2many, tOne2many:
		if v == nil {
			return []int{}
		}
	}
	return v
}

// --- create, write, unlink ---

func (s *Server) coerce(m *model, name string, v any) (any, *odooError) {
	f := m.fields[name]
	bad := func() *odooError {
		return valueError(fmt.Sprintf("Wrong value for %s.%s: %s", m.name, name, mustJSON(v)))
	}
	if isFalse(v) && f.typ != tOne2many && f.typ != tMany2many {
		return zero(f.typ), nil
	}
	switch f.typ {
	case tChar:
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return fmt.Sprint(x), nil
		}
		return nil, bad()
	case tSelection:
		str, ok := v.(string)
		if !ok || !slices.Contains(f.selection, str) {
			return nil, valueError(fmt.Sprintf("Wrong value for %s.%s: %s", m.name, name, mustJSON(v)))
		}
		return str, nil
	case tDate, tDatetime:
		str, ok := v.(string)
		if !ok || !validDate(str, f.typ == tDatetime) {
			return nil, valueError(fmt.Sprintf("time data %s does not match format", quote(fmt.Sprint(v))))
		}
		if f.typ == tDatetime && len(str) == 10 {
			str += " 00:00:00"
		}
		return str, nil
	case tInteger:
		x, ok := v.(float64)
		if !ok {
			return nil, bad()
		}
		return int(x), nil
	case tMany2one:
		x, ok := v.(float64)
		if !ok {
			return nil, bad()
		}
		id := int(x)
		rel := s.models[f.relation]
		if rel == nil || rel.recs[id] == nil {
			return nil, validationError(fmt.Sprintf("The operation cannot be completed: another model requires the "+
				"record being deleted. If possible, archive it instead.\n\nModel: %s (%s)\nConstraint: %s_%s_fkey\n",
				m.description, m.name, strings.ReplaceAll(m.name, ".", "_"), name))
		}
		return id, nil
	case tFloat:
		x, ok := v.(float64)
		if !ok {
			return nil, bad()
		}
		return x, nil
	case tBoolean:
		x, ok := v.(bool)
		if !ok {
			return true, nil // Python truthiness
		}
		return x, nil
	}
	return nil, bad()
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$`)

func validDate(s string, datetime bool) bool {
	if len(s) != 10 && !(datetime && len(s) == 19) {
		return false
	}
	return dateRE.MatchString(s)
}

// create makes one record from vals. Unknown fields are ignored, as Odoo does
// (it only logs a warning), so a field renamed between versions is silently lost.
func (s *Server) create(m *model, vals map[string]any, ctx map[string]any) (int, *odooError) {
	rec := record{}
	var x2many []string
	for name, v := range vals {
		f, ok := m.fields[name]
		if !ok || f.compute != nil || name == "id" || name == "display_name" {
			continue
		}
		if f.typ == tOne2many || f.typ == tMany2many {
			x2many = append(x2many, name)
			continue
		}
		cv, err := s.coerce(m, name, v)
		if err != nil {
			return 0, err
		}
		rec[name] = cv
	}
	if m.defaults != nil {
		m.defaults(s, rec)
	}
	for name, f := range m.fields {
		if _, ok := rec[name]; !ok && f.compute == nil && f.typ != tOne2many {
			rec[name] = zero(f.typ)
		}
		if f.required && isEmpty(rec[name]) {
			return 0, validationError(fmt.Sprintf("The operation cannot be completed:\n- Create/update: a mandatory "+
				"field is not set.\n- Delete: another model requires the record being deleted. If possible, archive "+
				"it instead.\n\nModel: %s (%s)\nField: %s (%s)\n", m.description, m.name, f.label, name))
		}
	}
	if err := s.constraints(m, rec, 0); err != nil {
		return 0, err
	}
	id := m.nextID
	m.nextID++
	rec["id"] = id
	now := s.stamp()
	rec["create_date"], rec["write_date"] = now, now
	m.put(id, rec)
	sort.Strings(x2many)
	for _, name := range x2many {
		if err := s.applyX2many(m, rec, name, vals[name], ctx); err != nil {
			m.remove(id)
			return 0, err
		}
	}
	return id, nil
}

// constraints checks the Python constraints the sandbox imitates.
func (s *Server) constraints(m *model, rec record, selfID int) *odooError {
	switch m.name {
	case "product.product":
		bc, _ := rec["barcode"].(string)
		if bc == "" {
			return nil
		}
		for _, id := range m.sortedIDs() {
			other := m.recs[id]
			if id != selfID && other["barcode"] == bc {
				return validationError(fmt.Sprintf("Barcode(s) already assigned:\n\n- Barcode \"%s\" already assigned to "+
					"product(s): %s\n\nNote: products that you don't have access to will not be shown above.",
					bc, s.displayName(m, other)))
			}
		}
	case "sale.order.line":
		if rec["display_type"] == "" && isEmpty(rec["product_id"]) {
			return validationError("Missing required product and quantity on accountable sale order line.")
		}
		if err := s.checkLineCompany(rec); err != nil {
			return err
		}
	}
	return nil
}

// applyX2many interprets x2many commands: [0,0,vals] create, [1,id,vals]
// update, [2,id,0] delete, [3,id,0] unlink, [4,id,0] link, [5,0,0] clear,
// [6,0,ids] set; a plain list of ids means set for many2many.
func (s *Server) applyX2many(m *model, rec record, name string, v any, ctx map[string]any) *odooError {
	f := m.fields[name]
	rel := s.models[f.relation]
	cmds, ok := v.([]any)
	if !ok {
		return valueError(fmt.Sprintf("Wrong value for %s.%s: %s", m.name, name, mustJSON(v)))
	}
	id := rec["id"].(int)
	current := func() []int {
		if f.typ == tOne2many {
			return s.inverseIDs(f, id)
		}
		ids, _ := rec[name].([]int)
		return ids
	}
	set := func(ids []int) {
		if f.typ == tMany2many {
			rec[name] = ids
		}
	}
	for _, c := range cmds {
		if n, isNum := c.(float64); isNum && f.typ == tMany2many { // bare id list
			set(append(slices.Clone(current()), int(n)))
			continue
		}
		cmd, ok := c.([]any)
		if !ok || len(cmd) == 0 {
			return valueError(fmt.Sprintf("Wrong value for %s.%s: %s", m.name, name, mustJSON(v)))
		}
		code, _ := cmd[0].(float64)
		arg := func(i int) any {
			if i < len(cmd) {
				return cmd[i]
			}
			return nil
		}
		targetID := 0
		if n, ok := arg(1).(float64); ok {
			targetID = int(n)
		}
		switch int(code) {
		case 0:
			vals, _ := arg(2).(map[string]any)
			if vals == nil {
				vals = map[string]any{}
			}
			if f.typ == tOne2many {
				vals = maps(vals)
				vals[f.inverse] = float64(id)
			}
			newID, err := s.create(rel, vals, ctx)
			if err != nil {
				return err
			}
			if f.typ == tMany2many {
				set(append(slices.Clone(current()), newID))
			}
		case 1:
			vals, _ := arg(2).(map[string]any)
			if err := s.write(rel, []int{targetID}, vals, ctx); err != nil {
				return err
			}
		case 2, 3:
			if f.typ == tOne2many {
				rel.remove(targetID)
			} else {
				set(slices.DeleteFunc(slices.Clone(current()), func(x int) bool { return x == targetID }))
			}
		case 4:
			if rel.recs[targetID] == nil {
				return missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
					rel.name, targetID, uid))
			}
			if f.typ == tOne2many {
				rel.recs[targetID][f.inverse] = id
				rel.put(targetID, rel.recs[targetID])
			} else if !slices.Contains(current(), targetID) {
				set(append(slices.Clone(current()), targetID))
			}
		case 5:
			if f.typ == tOne2many {
				for _, rid := range current() {
					rel.remove(rid)
				}
			}
			set([]int{})
		case 6:
			raw, _ := arg(2).([]any)
			ids := []int{}
			for _, r := range raw {
				n, _ := r.(float64)
				if rel.recs[int(n)] == nil {
					return missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
						rel.name, int(n), uid))
				}
				ids = append(ids, int(n))
			}
			set(ids)
		default:
			return valueError(fmt.Sprintf("Wrong value for %s.%s: %s", m.name, name, mustJSON(v)))
		}
	}
	if f.typ == tMany2many && rec[name] == nil {
		rec[name] = []int{}
	}
	return nil
}

func maps(in map[string]any) map[string]any {
	out := make(map[string]any, len(in)+1)
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (s *Server) write(m *model, ids []int, vals map[string]any, ctx map[string]any) *odooError {
	for name := range vals {
		if !m.has(name) {
			return valueError(fmt.Sprintf("Invalid field %s on model %s", quote(name), quote(m.name)))
		}
	}
	for _, id := range ids {
		if m.recs[id] == nil {
			return missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
				m.name, id, uid))
		}
	}
	if err := s.checkLocked(m, ids, vals); err != nil {
		return err
	}
	for _, id := range ids {
		rec := m.recs[id]
		next := maps(rec)
		var x2many []string
		for name, v := range vals {
			if name == "lst_price" { // computed, with an inverse onto list_price
				name = "list_price"
			}
			f := m.fields[name]
			if f.compute != nil || name == "id" {
				continue // Odoo ignores writes on computed fields without an inverse
			}
			if f.typ == tOne2many || f.typ == tMany2many {
				x2many = append(x2many, name)
				continue
			}
			cv, err := s.coerce(m, name, v)
			if err != nil {
				return err
			}
			if f.required && isEmpty(cv) {
				return validationError(fmt.Sprintf("The operation cannot be completed:\n- Create/update: a mandatory "+
					"field is not set.\n- Delete: another model requires the record being deleted. If possible, archive "+
					"it instead.\n\nModel: %s (%s)\nField: %s (%s)\n", m.description, m.name, f.label, name))
			}
			next[name] = cv
		}
		if m.name == "stock.quant" {
			if _, ok := vals["inventory_quantity"]; ok {
				next["inventory_quantity_set"] = true
			}
		}
		if err := s.constraints(m, next, id); err != nil {
			return err
		}
		next["write_date"] = s.stamp()
		m.put(id, next)
		sort.Strings(x2many)
		for _, name := range x2many {
			if err := s.applyX2many(m, next, name, vals[name], ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) unlink(m *model, ids []int) *odooError {
	for _, id := range ids {
		if m.recs[id] == nil {
			return missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
				m.name, id, uid))
		}
	}
	for _, id := range ids {
		m.remove(id)
		// Cascade one2many children (order lines, move lines), as their
		// ondelete='cascade' foreign keys do.
		for _, f := range m.fields {
			if f.typ == tOne2many {
				for _, child := range s.inverseIDs(f, id) {
					s.models[f.relation].remove(child)
				}
			}
		}
	}
	return nil
}

// protectedLineFields are the order line fields a locked order keeps as they
// are (sale.order.line._get_protected_fields).
var protectedLineFields = []string{"product_id", "name", "price_unit", "product_uom_qty", "discount", "tax_id", "tax_ids"}

// checkLocked refuses, as sale.order.line.write does, a change of protected
// line fields on a locked order: written on the line, or through the order's
// order_line commands (checked before any of them applies).
func (s *Server) checkLocked(m *model, ids []int, vals map[string]any) *odooError {
	orders, lines := s.models["sale.order"], s.models["sale.order.line"]
	check := func(lineID int, lvals map[string]any) *odooError {
		line := lines.recs[lineID]
		if line == nil {
			return nil
		}
		oid, _ := line["order_id"].(int)
		if o := orders.recs[oid]; o == nil || o["locked"] != true {
			return nil
		}
		var labels []string
		for _, f := range protectedLineFields {
			if _, ok := lvals[f]; ok && lines.fields[f] != nil {
				labels = append(labels, lines.fields[f].label)
			}
		}
		if len(labels) == 0 {
			return nil
		}
		return userError("It is forbidden to modify the following fields in a locked order:\n" + strings.Join(labels, "\n"))
	}
	switch m.name {
	case "sale.order.line":
		for _, id := range ids {
			if err := check(id, vals); err != nil {
				return err
			}
		}
	case "sale.order":
		cmds, _ := vals["order_line"].([]any)
		for _, c := range cmds {
			cmd, _ := c.([]any)
			if len(cmd) < 3 {
				continue
			}
			code, _ := cmd[0].(float64)
			target, _ := cmd[1].(float64)
			lvals, _ := cmd[2].(map[string]any)
			if code == 1 {
				if err := check(int(target), lvals); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkLineCompany is Odoo's _check_company on a sales order line: a product
// that belongs to another company than the order's (the sandbox has one
// company per order, the first) is refused with Odoo's own UserError.
func (s *Server) checkLineCompany(rec record) *odooError {
	pid, _ := rec["product_id"].(int)
	products := s.models["product.product"]
	p := products.recs[pid]
	if p == nil {
		return nil
	}
	company, _ := p["company_id"].(int)
	if company == 0 || company == 1 {
		return nil
	}
	orders := s.models["sale.order"]
	oid, _ := rec["order_id"].(int)
	return userError(fmt.Sprintf("Incompatible companies on records:\n- '%s - %s' belongs to company '%s' and 'Product' (product_id: '%s') "+
		"belongs to another company.", s.displayName(orders, orders.recs[oid]), s.displayName(products, p),
		s.displayName(s.models["res.company"], s.models["res.company"].recs[1]), s.displayName(products, p)))
}

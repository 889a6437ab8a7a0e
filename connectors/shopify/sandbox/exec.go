package sandbox

import (
	"bytes"
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"
)

// omap is a JSON object that keeps the order fields were selected in, as a
// GraphQL server does. Connection results remember their nodes so bulk
// exports can be flattened into JSONL.
type omap struct {
	keys  []string
	vals  []any
	gid   string
	conn  bool
	nodes []*omap
}

func (m *omap) set(k string, v any) {
	for i, key := range m.keys {
		if key == k {
			// The same response key selected twice (fragments): merge objects.
			if a, ok := m.vals[i].(*omap); ok {
				if b, ok := v.(*omap); ok {
					for j, bk := range b.keys {
						a.set(bk, b.vals[j])
					}
					return
				}
			}
			m.vals[i] = v
			return
		}
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// MarshalJSON writes the fields in selection order.
func (m *omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// executor walks one operation against the shop's state. It is used with
// the shop lock held.
type executor struct {
	s        *Shop
	doc      *ast.QueryDocument
	vars     map[string]any
	bulk     bool
	req      *request
	errs     []gqlError
	mutation bool
	// injectUserError makes mutations answer a userError without effect (FailUserError).
	injectUserError bool
	// lost: a mutation took effect whose answer is to be lost (LoseAnswerOf).
	lost bool
}

func (e *executor) run(op *ast.OperationDefinition) (*omap, float64) {
	root := "QueryRoot"
	if op.Operation == ast.Mutation {
		root = "Mutation"
		e.mutation = true
	}
	m := &omap{}
	cost := e.collect(root, nil, op.SelectionSet, nil, m)
	return m, cost
}

func (e *executor) object(typ string, src any, ss ast.SelectionSet, path []any) (*omap, float64) {
	m := &omap{gid: gidOf(src)}
	if abstractTypes[typ] {
		typ = typeNameOf(src)
	}
	return m, e.collect(typ, src, ss, path, m)
}

func (e *executor) collect(typ string, src any, ss ast.SelectionSet, path []any, m *omap) float64 {
	var cost float64
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			cost += e.field(typ, src, s, path, m)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || s.TypeCondition == typ || (abstractTypes[s.TypeCondition] && schema[typ] != nil) {
				cost += e.collect(typ, src, s.SelectionSet, path, m)
			}
		case *ast.FragmentSpread:
			if fd := e.doc.Fragments.ForName(s.Name); fd != nil && (fd.TypeCondition == typ || abstractTypes[fd.TypeCondition]) {
				cost += e.collect(typ, src, fd.SelectionSet, path, m)
			}
		}
	}
	return cost
}

func (e *executor) args(f *ast.Field) map[string]any {
	args := map[string]any{}
	for _, a := range f.Arguments {
		if v, err := a.Value.Value(e.vars); err == nil {
			args[a.Name] = v
		}
	}
	return args
}

func (e *executor) field(typ string, src any, f *ast.Field, path []any, parent *omap) float64 {
	p := append(append([]any{}, path...), f.Alias)
	if f.Name == "__typename" {
		parent.set(f.Alias, typ)
		return 0
	}
	kind, target, _ := lookupField(typ, f.Name)
	val, err := e.s.resolve(e, typ, src, f, e.args(f))
	if err != nil {
		ge := gqlError{Message: err.Error(), Locations: locOf(f.Position), Path: p}
		if ce, ok := err.(*codedError); ok {
			ge.Extensions = map[string]any{"code": ce.code}
		}
		e.errs = append(e.errs, ge)
		parent.set(f.Alias, nil)
		return 0
	}
	var cost float64
	switch kind {
	case kindScalar:
		parent.set(f.Alias, val)
		return 0
	case kindObject, kindConn:
		if val == nil {
			parent.set(f.Alias, nil)
			return 0
		}
		obj, sub := e.object(target, val, f.SelectionSet, p)
		if kind == kindConn {
			obj.conn = true
			cost = 2 + sub
		} else if isEdgeType(typ) && f.Name == "node" {
			parent.nodes = append(parent.nodes, obj)
			cost = 1 + sub
		} else if !(isConnType(typ) && f.Name == "pageInfo") {
			cost = 1 + sub
		}
		parent.set(f.Alias, obj)
	case kindList:
		items, _ := val.([]any)
		out := make([]any, 0, len(items))
		var first float64
		var sum float64
		for i, it := range items {
			obj, sub := e.object(target, it, f.SelectionSet, append(p, i))
			out = append(out, obj)
			switch {
			case isConnType(typ) && f.Name == "nodes":
				parent.nodes = append(parent.nodes, obj)
				sum += 1 + sub
			case isConnType(typ) && f.Name == "edges":
				parent.nodes = append(parent.nodes, obj.nodes...)
				sum += sub
			case i == 0:
				first = 1 + sub
			}
		}
		if isConnType(typ) {
			cost = sum
		} else {
			cost = first
		}
		parent.set(f.Alias, out)
	}
	if e.mutation && len(path) == 0 {
		return 10
	}
	return cost
}

func isEdgeType(typ string) bool {
	if len(typ) > 4 && typ[len(typ)-4:] == "Edge" {
		return schema[typ[:len(typ)-4]] != nil
	}
	return false
}

// codedError is a resolver error that carries an extensions.code.
type codedError struct {
	code, msg string
}

func (c *codedError) Error() string { return c.msg }

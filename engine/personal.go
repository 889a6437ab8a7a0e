package engine

import (
	"slices"

	"crossdock/store/rules"
	"crossdock/vocab"
)

// PersonalFlow is what the personal-data map needs of a flow that carries
// personal data: its family, the kinds of system it reads from and writes
// to, and the personal fields it carries.
type PersonalFlow struct {
	Name     string // the flow's stored name, as sync records hold it
	Family   vocab.Family
	From, To vocab.Kind
	Fields   []string
}

// PersonalFlows lists the registered flows that carry personal data, in
// the order of Flows, read from each flow's own declaration.
func (e *Engine) PersonalFlows() []PersonalFlow {
	var out []PersonalFlow
	for _, f := range Flows() {
		if len(f.Personal) > 0 {
			out = append(out, PersonalFlow{Name: f.Name, Family: f.Family, From: f.From, To: f.To, Fields: slices.Clone(f.Personal)})
		}
	}
	return out
}

// PersonalRoute is one way personal data travels: a flow's fields from the
// source of its family to one receiver, as the sources of truth set them.
type PersonalRoute struct {
	Flow         PersonalFlow
	From, To     string // the connections' names
	FromID, ToID int64
}

// PersonalRoutes matches each flow that carries personal data to the source
// and receivers the rules give its family, where their kinds are the flow's.
// A flow with no such route yet is returned in unset.
func (e *Engine) PersonalRoutes(rs rules.Rules) (routes []PersonalRoute, unset []PersonalFlow) {
	for _, f := range e.PersonalFlows() {
		rule := rs.Rule(f.Family)
		src, ok := rs.Conn(rule.Master)
		routed := false
		for _, rc := range rule.Receivers {
			if dst, found := rs.Conn(rc.ConnectionID); ok && src.Kind == f.From && found && dst.Kind == f.To {
				routes, routed = append(routes, PersonalRoute{Flow: f, From: src.Name, To: dst.Name, FromID: src.ID, ToID: dst.ID}), true
			}
		}
		if !routed {
			unset = append(unset, f)
		}
	}
	return routes, unset
}

package engine

import (
	"slices"

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

// Package rules holds the sources of truth as the sync engine sees them: for
// each data family, which system decides it (the master), which systems
// receive it, how fresh they must stay and what happens on conflict. It is pure
// decision logic over a loaded snapshot: no database, no HTTP. The engine asks
// Decide before every write; the Sources of truth page asks Explain and
// Warnings.
package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"crossdock/vocab"
)

// Trigger is what starts a sync of a family.
type Trigger string

// The triggers.
const (
	// Realtime syncs on webhooks, with a safety sweep every SweepMinutes,
	// because webhooks are not a delivery guarantee.
	Realtime  Trigger = "realtime"
	Scheduled Trigger = "scheduled" // only the sweep every SweepMinutes
)

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool { return t == Realtime || t == Scheduled }

// Policy says what happens when a receiving system changed data the master decides.
type Policy string

// The conflict policies.
const (
	MasterWins Policy = "master_wins" // the master's value overwrites the receiver's
	Hold       Policy = "hold"        // the change waits for a person to review it
)

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool { return p == MasterWins || p == Hold }

// Limits of the numbers an admin may set.
const (
	MinSweepMinutes     = 1
	MaxSweepMinutes     = 1440 // a day
	MinFreshnessMinutes = 1
	MaxFreshnessMinutes = 10080 // a week
)

// Defaults of a family nobody has set up yet.
const (
	DefaultSweepMinutes     = 15
	DefaultFreshnessMinutes = 15
)

// Field is a product field that can be owned by a system of its own.
type Field struct {
	Key   string
	Label string
	// Follows is the family whose master decides the field when nobody owns
	// it: products for content, prices and costs for price and cost.
	Follows vocab.Family
}

var productFields = []Field{
	{"title", "Title", vocab.Products},
	{"description", "Description", vocab.Products},
	{"vendor", "Vendor", vocab.Products},
	{"product_type", "Product type", vocab.Products},
	{"tags", "Tags", vocab.Products},
	{"images", "Images", vocab.Products},
	{"sku", "SKU", vocab.Products},
	{"barcode", "Barcode", vocab.Products},
	{"weight", "Weight", vocab.Products},
	{"price", "Price", vocab.Prices},
	{"cost", "Cost", vocab.Costs},
}

// ProductFields lists the product fields that can be owned field by field.
func ProductFields() []Field { return slices.Clone(productFields) }

// ProductField returns a product field by key.
func ProductField(key string) (Field, bool) {
	i := slices.IndexFunc(productFields, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return Field{}, false
	}
	return productFields[i], true
}

// ConnInfo is what the rules need to know about a connected system.
type ConnInfo struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Kind          vocab.Kind        `json:"kind"`
	Environment   vocab.Environment `json:"environment"` // production or test
	Enabled       bool              `json:"enabled"`
	SendsWebhooks bool              `json:"sends_webhooks"` // real time is possible from it
}

// Receiver is a system a family is written into.
type Receiver struct {
	ConnectionID int64 `json:"connection_id"`
	// EditedByHand: people also change this family by hand in the receiver,
	// so their edits meet the master's.
	EditedByHand bool `json:"edited_by_hand"`
}

// Rule is the source of truth of one family.
type Rule struct {
	Family           vocab.Family `json:"family"`
	Set              bool         `json:"set"`    // false until an admin saves it
	Master           int64        `json:"master"` // 0: nobody decides it yet
	Receivers        []Receiver   `json:"receivers"`
	Trigger          Trigger      `json:"trigger"`
	SweepMinutes     int          `json:"sweep_minutes"`
	FreshnessMinutes int          `json:"freshness_minutes"`
	Policy           Policy       `json:"conflict_policy"`
	Version          int64        `json:"version"` // the rules version that last changed it
	UpdatedAt        time.Time    `json:"updated_at"`
	UpdatedBy        string       `json:"updated_by"`
}

// Receives reports whether id is one of the rule's receivers.
func (r Rule) Receives(id int64) bool {
	return slices.ContainsFunc(r.Receivers, func(rc Receiver) bool { return rc.ConnectionID == id })
}

// Rules is a snapshot of every source of truth, as loaded at one moment.
type Rules struct {
	// Version increases with every saved change; a decision carries it, so a
	// failed sync can show the rules in force at the time.
	Version int64 `json:"version"`
	// Families holds the rules that were saved; Rule fills in the others.
	Families map[vocab.Family]Rule `json:"families"`
	// FieldOwners names the system that owns a product field, when it is not
	// the master of the family the field follows.
	FieldOwners map[string]int64 `json:"field_owners"`
	// Connections are the connected systems, by name.
	Connections []ConnInfo `json:"connections"`
}

// Rule returns the rule of a family, with defaults when it was never set.
func (r Rules) Rule(f vocab.Family) Rule {
	if rule, ok := r.Families[f]; ok {
		return rule
	}
	return Rule{Family: f, Trigger: Realtime, SweepMinutes: DefaultSweepMinutes, FreshnessMinutes: DefaultFreshnessMinutes, Policy: MasterWins}
}

// Conn returns a connection by id.
func (r Rules) Conn(id int64) (ConnInfo, bool) {
	i := slices.IndexFunc(r.Connections, func(c ConnInfo) bool { return c.ID == id })
	if i < 0 {
		return ConnInfo{}, false
	}
	return r.Connections[i], true
}

// Name is a connection's name for sentences.
func (r Rules) Name(id int64) string {
	if c, ok := r.Conn(id); ok {
		return c.Name
	}
	if id == 0 {
		return "nobody"
	}
	return fmt.Sprintf("a removed system (#%d)", id)
}

// Decision is the answer to "may this change go from one system to another?".
type Decision struct {
	Allowed bool             `json:"allowed"`
	Class   vocab.ErrorClass `json:"class,omitempty"` // set when something was refused
	// Reason says in plain words what is sent and what is not, and why.
	Reason string       `json:"reason"`
	Family vocab.Family `json:"family"`
	From   int64        `json:"from"`
	To     int64        `json:"to"`
	// Fields are the product fields that may be written (products only);
	// Refused are those that may not. A products decision can allow some
	// fields and refuse others: the engine writes Fields and records Refused.
	Fields  []string `json:"fields,omitempty"`
	Refused []string `json:"refused,omitempty"`
	// Policy is what to do when the receiver changed the data too.
	Policy Policy `json:"policy,omitempty"`
	// RulesVersion is the version of the rules that decided.
	RulesVersion int64 `json:"rules_version"`
}

// Decide says whether a change of family that arrived from the system from
// may be written into the system to. For products, fields names the changed
// fields (nil means every field); each field is decided on its own, so a
// change from Shopify can carry its title to Odoo while its SKU, owned by
// Odoo, is refused. Decide never allows a write into the master of what is
// written, and never passes on a change from a system that does not own it.
func (r Rules) Decide(f vocab.Family, from, to int64, fields []string) Decision {
	d := Decision{Family: f, From: from, To: to, RulesVersion: r.Version}
	if !f.Valid() {
		return d.refuse(fmt.Sprintf("Crossdock does not know the kind of data %q, so nothing is sent.", string(f)))
	}
	rule := r.Rule(f)
	d.Policy = rule.Policy
	if from == to {
		return d.refuse(fmt.Sprintf("A change from %s is never written back into %s itself.", r.Name(from), r.Name(to)))
	}
	if f == vocab.Products {
		return r.decideFields(d, rule, fields)
	}
	noun := f.Noun()
	switch {
	case rule.Master == 0:
		return d.refuse(fmt.Sprintf("Nobody decides %s yet, so a change from %s is not sent on. An admin chooses a master on the Sources of truth page.", noun, r.Name(from)))
	case to == rule.Master:
		return d.refuse(fmt.Sprintf("%s decides %s; Crossdock never writes %s into it, so the change from %s is not sent on.", r.Name(rule.Master), noun, noun, r.Name(from)))
	case from != rule.Master:
		return d.refuse(fmt.Sprintf("%s decides %s; a change from %s is not sent on.", r.Name(rule.Master), noun, r.Name(from)))
	}
	if field, owner, ok := r.conflictingField(f); ok {
		return d.refuse(fmt.Sprintf("Two systems are set to decide %s: %s (for %s) and %s (for the product's %s field). Nothing is sent until an admin chooses one.",
			field.Label, r.Name(rule.Master), noun, r.Name(owner), strings.ToLower(field.Label)))
	}
	if !rule.Receives(to) {
		return d.refuse(fmt.Sprintf("%s does not receive %s; the change from %s is not sent to it.", r.Name(to), noun, r.Name(from)))
	}
	d.Allowed = true
	d.Reason = fmt.Sprintf("%s decides %s; the change is sent to %s.", r.Name(from), noun, r.Name(to))
	return d
}

func (d Decision) refuse(reason string) Decision {
	d.Allowed, d.Class, d.Reason, d.Fields = false, vocab.ClassOwnership, reason, nil
	return d
}

// FieldOwner says which system decides a product field: its own owner, or the
// master of the family it follows. conflict is true when both are set and
// differ: two masters for one field.
func (r Rules) FieldOwner(key string) (owner int64, conflict bool) {
	field, ok := ProductField(key)
	if !ok {
		return 0, false
	}
	master := r.Rule(field.Follows).Master
	own := r.FieldOwners[key]
	switch {
	case own == 0:
		return master, false
	case field.Follows != vocab.Products && master != 0 && master != own:
		return own, true
	}
	return own, false
}

// conflictingField finds the product field (price or cost) whose owner
// contradicts the master of family f.
func (r Rules) conflictingField(f vocab.Family) (Field, int64, bool) {
	for _, field := range productFields {
		if field.Follows != f {
			continue
		}
		if owner, conflict := r.FieldOwner(field.Key); conflict {
			return field, owner, true
		}
	}
	return Field{}, 0, false
}

func (r Rules) decideFields(d Decision, rule Rule, fields []string) Decision {
	if len(fields) == 0 {
		for _, f := range productFields {
			fields = append(fields, f.Key)
		}
	}
	// Product fields go to the receivers of products and to the products
	// master (which receives the fields other systems own), never into the
	// field's own owner.
	if to := d.To; to != rule.Master && !rule.Receives(to) {
		if rule.Master == 0 && !r.ownsAny(d.From) {
			return d.refuse(fmt.Sprintf("Nobody decides product content yet, so a change from %s is not sent on. An admin chooses a master on the Sources of truth page.", r.Name(d.From)))
		}
		return d.refuse(fmt.Sprintf("%s does not receive product content; the change from %s is not sent to it.", r.Name(to), r.Name(d.From)))
	}
	type group struct {
		owner int64
		keys  []string
	}
	var refusedBy []group // refused fields grouped by who decides them, in field order
	var unknown, conflicts []string
	for _, key := range fields {
		field, ok := ProductField(key)
		if !ok {
			unknown = append(unknown, key)
			d.Refused = append(d.Refused, key)
			continue
		}
		owner, conflict := r.FieldOwner(key)
		switch {
		case conflict:
			conflicts = append(conflicts, field.Label)
			d.Refused = append(d.Refused, key)
		case owner == d.From && owner != d.To:
			d.Fields = append(d.Fields, key)
		default:
			d.Refused = append(d.Refused, key)
			i := slices.IndexFunc(refusedBy, func(g group) bool { return g.owner == owner })
			if i < 0 {
				refusedBy = append(refusedBy, group{owner: owner})
				i = len(refusedBy) - 1
			}
			refusedBy[i].keys = append(refusedBy[i].keys, field.Label)
		}
	}
	var parts []string
	if len(d.Fields) > 0 {
		parts = append(parts, fmt.Sprintf("%s decides %s; the change is sent to %s.", r.Name(d.From), listLabels(d.Fields), r.Name(d.To)))
	}
	for _, g := range refusedBy {
		switch {
		case g.owner == 0:
			parts = append(parts, fmt.Sprintf("Nobody decides %s yet, so that change from %s is not sent on.", JoinWords(g.keys), r.Name(d.From)))
		default:
			parts = append(parts, fmt.Sprintf("%s decides %s; a change from %s is not sent on.", r.Name(g.owner), JoinWords(g.keys), r.Name(d.From)))
		}
	}
	if len(conflicts) > 0 {
		parts = append(parts, fmt.Sprintf("Two systems are set to decide %s, so it is not sent until an admin chooses one.", JoinWords(conflicts)))
	}
	if len(unknown) > 0 {
		parts = append(parts, fmt.Sprintf("Crossdock does not know the product field %s, so it is not sent.", JoinWords(quoteAll(unknown))))
	}
	d.Reason = strings.Join(parts, " ")
	d.Allowed = len(d.Fields) > 0
	if len(d.Refused) > 0 {
		d.Class = vocab.ClassOwnership
	}
	return d
}

func (r Rules) ownsAny(id int64) bool {
	for _, own := range r.FieldOwners {
		if own == id {
			return true
		}
	}
	return false
}

func listLabels(keys []string) string {
	labels := make([]string, 0, len(keys))
	for _, k := range keys {
		f, _ := ProductField(k)
		labels = append(labels, f.Label)
	}
	return JoinWords(labels)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// JoinWords joins "a", "b" and "c" as "a, b and c".
func JoinWords(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " and " + ss[len(ss)-1]
}

// Minutes says a number of minutes in words: "2 minutes", "1 hour 30 minutes", "1 day".
func Minutes(n int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case n >= 1440 && n%1440 == 0:
		return plural(n/1440, "day")
	case n >= 60 && n%60 == 0:
		return plural(n/60, "hour")
	case n > 60:
		return plural(n/60, "hour") + " " + plural(n%60, "minute")
	}
	return plural(n, "minute")
}

// Explain says in one or two plain sentences who decides a family and who
// follows, e.g. "Odoo decides stock levels; Shopify is updated within 2 minutes."
func (r Rules) Explain(f vocab.Family) string {
	rule := r.Rule(f)
	noun := f.Noun()
	if rule.Master == 0 {
		s := fmt.Sprintf("Nobody decides %s yet — choose a master.", noun)
		if f == vocab.Products {
			if owned := r.ownedFieldsSentence(); owned != "" {
				s += " " + owned
			}
		}
		return s
	}
	var names []string
	for _, rc := range rule.Receivers {
		names = append(names, r.Name(rc.ConnectionID))
	}
	var s string
	switch len(names) {
	case 0:
		s = fmt.Sprintf("%s decides %s; no other system receives them yet.", r.Name(rule.Master), noun)
	case 1:
		s = fmt.Sprintf("%s decides %s; %s is updated within %s.", r.Name(rule.Master), noun, names[0], Minutes(rule.FreshnessMinutes))
	default:
		s = fmt.Sprintf("%s decides %s; %s are updated within %s.", r.Name(rule.Master), noun, JoinWords(names), Minutes(rule.FreshnessMinutes))
	}
	if f == vocab.Products {
		if owned := r.ownedFieldsSentence(); owned != "" {
			s += " " + owned
		}
	}
	return s
}

// ownedFieldsSentence says which systems own product fields of their own.
func (r Rules) ownedFieldsSentence() string {
	var order []int64
	byOwner := map[int64][]string{}
	for _, f := range productFields {
		own := r.FieldOwners[f.Key]
		if own == 0 {
			continue
		}
		if _, ok := byOwner[own]; !ok {
			order = append(order, own)
		}
		byOwner[own] = append(byOwner[own], f.Label)
	}
	var parts []string
	for _, own := range order {
		parts = append(parts, fmt.Sprintf("%s decides %s.", r.Name(own), JoinWords(byOwner[own])))
	}
	return strings.Join(parts, " ")
}

// ExplainTrigger says when a family is synced.
func (r Rules) ExplainTrigger(f vocab.Family) string {
	rule := r.Rule(f)
	if rule.Trigger == Scheduled {
		return fmt.Sprintf("On a schedule, every %s", Minutes(rule.SweepMinutes))
	}
	return fmt.Sprintf("Real time from webhooks, with a safety check every %s", Minutes(rule.SweepMinutes))
}

// ExplainFreshness states the freshness target.
func (r Rules) ExplainFreshness(f vocab.Family) string {
	return fmt.Sprintf("Never more than %s out of date", Minutes(r.Rule(f).FreshnessMinutes))
}

// ExplainPolicy says what happens when a receiver changed the data too.
func (r Rules) ExplainPolicy(f vocab.Family) string {
	rule := r.Rule(f)
	if rule.Policy == Hold {
		return "Held for review: a conflicting change waits for a person to decide"
	}
	if rule.Master == 0 {
		return "The master wins: its value replaces a change made elsewhere"
	}
	return fmt.Sprintf("%s wins: its value replaces a change made elsewhere", r.Name(rule.Master))
}

// Level says how much a warning matters.
type Level string

// The levels.
const (
	LevelWarning Level = "warning" // a risky setup, with its fix
	LevelNote    Level = "info"    // fine, but worth knowing
)

// Warning is a risky (or noteworthy) setup, in plain words, with its fix.
type Warning struct {
	Family  vocab.Family
	Level   Level
	Message string
	Fix     string // empty for notes that need no action
}

// Warnings lists the risky setups of every family, in page order.
func (r Rules) Warnings() []Warning {
	var out []Warning
	for _, f := range vocab.AllFamilies() {
		out = append(out, r.WarningsFor(f)...)
	}
	return out
}

// WarningsFor lists the risky setups of one family: no master, a master that
// is disabled or missing, a receiver that is the master, disabled or edited by
// hand, test data flowing into production, a schedule too slow for the
// freshness target, and two masters for one product field.
func (r Rules) WarningsFor(f vocab.Family) []Warning {
	rule := r.Rule(f)
	noun := f.Noun()
	var out []Warning
	warn := func(msg, fix string) {
		out = append(out, Warning{Family: f, Level: LevelWarning, Message: msg, Fix: fix})
	}
	note := func(msg, fix string) { out = append(out, Warning{Family: f, Level: LevelNote, Message: msg, Fix: fix}) }

	master, masterKnown := r.Conn(rule.Master)
	switch {
	case rule.Master == 0:
		warn(fmt.Sprintf("Nobody decides %s yet, so Crossdock does not sync them.", noun),
			fmt.Sprintf("Choose the system that decides %s.", noun))
	case !masterKnown:
		warn(fmt.Sprintf("The system that decided %s no longer exists, so nothing is synced.", noun),
			"Choose another master.")
	case !master.Enabled:
		warn(fmt.Sprintf("%s decides %s but is disabled, so no change leaves it.", master.Name, noun),
			fmt.Sprintf("Enable %s on the Connections page, or choose another master.", master.Name))
	}
	if rule.Master != 0 && len(rule.Receivers) == 0 {
		note(fmt.Sprintf("No system receives %s yet.", noun), fmt.Sprintf("Tick the systems that should receive %s.", noun))
	}
	for _, rc := range rule.Receivers {
		c, ok := r.Conn(rc.ConnectionID)
		switch {
		case rc.ConnectionID == rule.Master:
			warn(fmt.Sprintf("%s is both the master and a receiver of %s; Crossdock never writes %s into their master.", r.Name(rc.ConnectionID), noun, noun),
				fmt.Sprintf("Untick %s in the receiving systems.", r.Name(rc.ConnectionID)))
			continue
		case !ok:
			warn(fmt.Sprintf("A system that received %s no longer exists.", noun), "Save the rule again to drop it.")
			continue
		case !c.Enabled:
			warn(fmt.Sprintf("%s receives %s but is disabled, so it falls behind.", c.Name, noun),
				fmt.Sprintf("Enable %s, or stop sending %s to it.", c.Name, noun))
		}
		if rc.EditedByHand && rule.Master != 0 {
			if rule.Policy == Hold {
				warn(fmt.Sprintf("People also edit %s by hand in %s. Each of their edits conflicts with %s and waits for review.", noun, c.Name, r.Name(rule.Master)),
					fmt.Sprintf("Make those edits in %s instead, or make %s the master of %s.", r.Name(rule.Master), c.Name, noun))
			} else {
				warn(fmt.Sprintf("People also edit %s by hand in %s. %s wins, so their edits are overwritten within %s.", noun, c.Name, r.Name(rule.Master), Minutes(rule.FreshnessMinutes)),
					fmt.Sprintf("Make those edits in %s instead, or make %s the master of %s.", r.Name(rule.Master), c.Name, noun))
			}
		}
		if masterKnown && master.Environment == vocab.EnvTest && c.Environment == vocab.EnvProduction {
			warn(fmt.Sprintf("%s is a test system, and %s is production: test data would be written into production.", master.Name, c.Name),
				"Choose a production master, or send to a test system.")
		}
	}
	if rule.Master != 0 && masterKnown {
		effective := rule.Trigger == Scheduled || !master.SendsWebhooks
		if rule.Trigger == Realtime && !master.SendsWebhooks {
			note(fmt.Sprintf("%s does not send webhooks, so its changes are picked up by the check every %s.", master.Name, Minutes(rule.SweepMinutes)), "")
		}
		if effective && rule.SweepMinutes > rule.FreshnessMinutes && len(rule.Receivers) > 0 {
			warn(fmt.Sprintf("Checking every %s cannot keep %s within %s.", Minutes(rule.SweepMinutes), noun, Minutes(rule.FreshnessMinutes)),
				fmt.Sprintf("Check at least every %s, or allow them to be older.", Minutes(rule.FreshnessMinutes)))
		}
	}
	// Two masters for one field: a product field's owner against the master of
	// the family the field follows.
	for _, field := range productFields {
		if field.Follows == vocab.Products || (f != vocab.Products && f != field.Follows) {
			continue
		}
		if owner, conflict := r.FieldOwner(field.Key); conflict {
			warn(fmt.Sprintf("Two systems decide %s: %s for %s, and %s for the product's %s field. %s is not synced until they agree.",
				strings.ToLower(field.Label), r.Name(r.Rule(field.Follows).Master), field.Follows.Noun(), r.Name(owner), strings.ToLower(field.Label), field.Label),
				fmt.Sprintf("Choose the same system for %s in both places.", strings.ToLower(field.Label)))
		}
	}
	if f == vocab.Products {
		for _, field := range productFields {
			own := r.FieldOwners[field.Key]
			if own == 0 {
				continue
			}
			if c, ok := r.Conn(own); !ok {
				warn(fmt.Sprintf("The system that decided %s no longer exists.", strings.ToLower(field.Label)), "Choose another owner for it.")
			} else if !c.Enabled {
				warn(fmt.Sprintf("%s decides %s but is disabled.", c.Name, strings.ToLower(field.Label)),
					fmt.Sprintf("Enable %s, or let %s follow the products master.", c.Name, strings.ToLower(field.Label)))
			}
		}
	}
	if f == vocab.Prices || f == vocab.Costs {
		p, c := r.Rule(vocab.Prices).Master, r.Rule(vocab.Costs).Master
		if p != 0 && c != 0 && p != c {
			note(fmt.Sprintf("Prices come from %s and costs from %s. That is fine: the margin review compares the two.", r.Name(p), r.Name(c)), "")
		}
	}
	return out
}

// Package vocab is Crossdock's shared vocabulary: the data families, sync
// directions, sync statuses, error classes, roles, environments, write scopes
// and kinds of system, as typed values with the plain words the pages use for
// them, and the field errors a form shows. It is a leaf: it imports nothing
// from Crossdock, so the store, the engine, the connectors, the handlers and
// the views all speak it.
//
// Each value is stored in the database as its string (the columns hold the
// same words as before), so sqlx scans straight into these types.
package vocab

import "slices"

// word is a value's label and, where sentences need it, its noun.
type word struct{ label, noun string }

// Family is a kind of data that flows between systems.
type Family string

// The data families, in the order pages list them.
const (
	Products     Family = "products" // product content: title, description, images...
	Prices       Family = "prices"
	Costs        Family = "costs"
	Inventory    Family = "inventory"
	Customers    Family = "customers"
	Orders       Family = "orders"
	Refunds      Family = "refunds" // refunds and returns
	Fulfillments Family = "fulfillments"
)

var families = []Family{Products, Prices, Costs, Inventory, Customers, Orders, Refunds, Fulfillments}

// AllFamilies lists every data family in page order.
func AllFamilies() []Family { return slices.Clone(families) }

var familyWords = map[Family]word{
	Products:     {"Products", "product content"},
	Prices:       {"Prices", "prices"},
	Costs:        {"Costs", "costs"},
	Inventory:    {"Inventory", "stock levels"},
	Customers:    {"Customers", "customers"},
	Orders:       {"Orders", "orders"},
	Refunds:      {"Refunds and returns", "refunds and returns"},
	Fulfillments: {"Fulfillments", "fulfillments"},
}

// Valid reports whether f is a known family.
func (f Family) Valid() bool { _, ok := familyWords[f]; return ok }

// Label is the family's title, e.g. "Refunds and returns"; "" when unknown.
func (f Family) Label() string { return familyWords[f].label }

// Noun is how a sentence names the family's data, e.g. "stock levels".
func (f Family) Noun() string {
	if n := familyWords[f].noun; n != "" {
		return n
	}
	return string(f)
}

// Direction is which way a sync carries a change.
type Direction string

// The directions.
const (
	ShopifyToOdoo Direction = "shopify_to_odoo"
	OdooToShopify Direction = "odoo_to_shopify"
)

var directions = []Direction{ShopifyToOdoo, OdooToShopify}

// AllDirections lists every direction, in the order filters show them.
func AllDirections() []Direction { return slices.Clone(directions) }

var directionWords = map[Direction]string{
	ShopifyToOdoo: "Shopify → Odoo",
	OdooToShopify: "Odoo → Shopify",
}

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { _, ok := directionWords[d]; return ok }

// Label names the direction, e.g. "Shopify → Odoo"; "" when unknown.
func (d Direction) Label() string { return directionWords[d] }

// Status is where a sync stands. A sync is created pending (or straight away
// failed, rejected or skipped when intake already knows), runs, and ends
// succeeded, failed, rejected or skipped; retrying means a transient failure
// with a next attempt scheduled.
type Status string

// The sync statuses.
const (
	SyncPending   Status = "pending"
	SyncRunning   Status = "running"
	SyncRetrying  Status = "retrying"
	SyncSucceeded Status = "succeeded"
	SyncFailed    Status = "failed"
	SyncRejected  Status = "rejected" // refused by the sources of truth: nothing was written
	SyncSkipped   Status = "skipped"  // nothing to do: superseded by a newer change, or a duplicate
)

var statuses = []Status{SyncFailed, SyncRetrying, SyncRejected, SyncPending, SyncRunning, SyncSucceeded, SyncSkipped}

// AllStatuses lists every status, in the order filters show them.
func AllStatuses() []Status { return slices.Clone(statuses) }

// ProblemStatuses are the statuses the failed-syncs console lists.
func ProblemStatuses() []Status { return []Status{SyncFailed, SyncRetrying, SyncRejected} }

var statusWords = map[Status]string{
	SyncPending:   "Waiting",
	SyncRunning:   "In progress",
	SyncRetrying:  "Will retry",
	SyncSucceeded: "Done",
	SyncFailed:    "Failed",
	SyncRejected:  "Not allowed",
	SyncSkipped:   "Nothing to do",
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := statusWords[s]; return ok }

// Label names the status in plain words, e.g. "Will retry"; "" when unknown.
func (s Status) Label() string { return statusWords[s] }

// ErrorClass is what kind of fix a failed sync needs.
type ErrorClass string

// The error classes.
const (
	ClassTransient   ErrorClass = "transient"    // the system was down or slow; retried automatically
	ClassRateLimited ErrorClass = "rate_limited" // the system asked to slow down; retried automatically
	ClassAuth        ErrorClass = "auth"         // credentials or permissions refused
	ClassValidation  ErrorClass = "validation"   // the data was refused (by the target, or before sending)
	ClassUnmapped    ErrorClass = "unmapped"     // an identifier has no mapping yet
	ClassOnlyInOne   ErrorClass = "only_in_one"  // the record exists in only one system: nothing to map it to
	ClassConflict    ErrorClass = "conflict"     // the target changed since Crossdock last wrote it
	ClassOwnership   ErrorClass = "ownership"    // the sources of truth do not allow this write
	ClassNotFound    ErrorClass = "not_found"    // the record does not exist in the target
	ClassInternal    ErrorClass = "internal"     // a fault in Crossdock or an unreadable answer
)

var errorClasses = []ErrorClass{ClassUnmapped, ClassOnlyInOne, ClassValidation, ClassOwnership, ClassConflict, ClassNotFound, ClassAuth,
	ClassRateLimited, ClassTransient, ClassInternal}

// AllErrorClasses lists every class, in the order filters show them.
func AllErrorClasses() []ErrorClass { return slices.Clone(errorClasses) }

var classWords = map[ErrorClass]string{
	ClassUnmapped:    "Not mapped yet",
	ClassOnlyInOne:   "Exists in only one system",
	ClassValidation:  "Data was refused",
	ClassOwnership:   "Against the sources of truth",
	ClassConflict:    "Changed in both places",
	ClassNotFound:    "Missing in the other system",
	ClassAuth:        "Access refused",
	ClassRateLimited: "Asked to slow down",
	ClassTransient:   "System unavailable",
	ClassInternal:    "Fault in Crossdock",
}

// Valid reports whether c is a known class.
func (c ErrorClass) Valid() bool { _, ok := classWords[c]; return ok }

// Label names the class in plain words, e.g. "Not mapped yet"; "" when unknown.
func (c ErrorClass) Label() string { return classWords[c] }

// Role decides what a user may see and do.
type Role string

// The three roles of Crossdock.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleFinance  Role = "finance"
)

var roles = []Role{RoleOperator, RoleFinance, RoleAdmin}

// AllRoles lists every role, in the order forms show them.
func AllRoles() []Role { return slices.Clone(roles) }

var roleWords = map[Role]word{
	RoleAdmin:    {"Admin", "Everything, plus approving mapping changes, sources of truth, connections and users"},
	RoleOperator: {"Operator", "Connects systems, watches syncs, maps identifiers, tries failed syncs again"},
	RoleFinance:  {"Finance", "Reviews prices and margins, acknowledges discrepancies, exports for month-end"},
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := roleWords[r]; return ok }

// Label names the role, e.g. "Operator"; "" when unknown.
func (r Role) Label() string { return roleWords[r].label }

// Describe says in plain words what the role may do.
func (r Role) Describe() string { return roleWords[r].noun }

// Environment is whether a connected system is the live one or a test one.
// It is shown wherever the connection appears, so nobody replays test data
// into production by accident.
type Environment string

// The environments.
const (
	EnvProduction Environment = "production"
	EnvTest       Environment = "test"
)

var environments = []Environment{EnvProduction, EnvTest}

// AllEnvironments lists every environment, in the order forms show them.
func AllEnvironments() []Environment { return slices.Clone(environments) }

var environmentWords = map[Environment]string{EnvProduction: "Production", EnvTest: "Test"}

// Valid reports whether e is a known environment.
func (e Environment) Valid() bool { _, ok := environmentWords[e]; return ok }

// Label names the environment, e.g. "Production"; "" when unknown.
func (e Environment) Label() string { return environmentWords[e] }

// Scope is where a person may write (try syncs again, send values, run
// checks, register webhooks): into every system, or into test systems only.
type Scope string

// The write scopes of a user.
const (
	ScopeAll  Scope = "all"  // production and test systems
	ScopeTest Scope = "test" // test systems only
)

var scopeWords = map[Scope]string{ScopeAll: "every system", ScopeTest: "test systems only"}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { _, ok := scopeWords[s]; return ok }

// Label says where a person with this scope may write, for a sentence:
// "test systems only", and "every system" for anything but test only.
func (s Scope) Label() string {
	if s == ScopeTest {
		return scopeWords[ScopeTest]
	}
	return scopeWords[ScopeAll]
}

// Kind is a kind of system Crossdock connects to.
type Kind string

// The kinds of system.
const (
	KindShopify Kind = "shopify"
	KindOdoo    Kind = "odoo"
)

var kinds = []Kind{KindShopify, KindOdoo}

// AllKinds lists every kind of system, in the order forms show them.
func AllKinds() []Kind { return slices.Clone(kinds) }

var kindWords = map[Kind]string{KindShopify: "Shopify", KindOdoo: "Odoo"}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindWords[k]; return ok }

// Label names the kind, e.g. "Shopify"; "" when unknown.
func (k Kind) Label() string { return kindWords[k] }

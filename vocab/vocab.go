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

// table holds the values of one vocabulary type, in the order pages list
// them, with their labels: what every type's All…, Valid and Label read.
type table[T ~string] struct {
	order  []T
	labels map[T]string
}

// entry is one value and its label.
type entry[T ~string] struct {
	value T
	label string
}

func newTable[T ~string](entries ...entry[T]) table[T] {
	t := table[T]{labels: make(map[T]string, len(entries))}
	for _, e := range entries {
		t.order = append(t.order, e.value)
		t.labels[e.value] = e.label
	}
	return t
}

func (t table[T]) all() []T         { return slices.Clone(t.order) }
func (t table[T]) valid(v T) bool   { _, ok := t.labels[v]; return ok }
func (t table[T]) label(v T) string { return t.labels[v] }

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
	// Payouts are Shopify Payments' payouts into the bank and the balance
	// transactions (charges, refunds, fees, disputes) they are made of.
	Payouts Family = "payouts"
)

var families = newTable(
	entry[Family]{Products, "Products"}, entry[Family]{Prices, "Prices"}, entry[Family]{Costs, "Costs"},
	entry[Family]{Inventory, "Inventory"}, entry[Family]{Customers, "Customers"}, entry[Family]{Orders, "Orders"},
	entry[Family]{Refunds, "Refunds and returns"}, entry[Family]{Fulfillments, "Fulfillments"},
	entry[Family]{Payouts, "Payouts"},
)

// familyNouns are how sentences name a family's data.
var familyNouns = map[Family]string{
	Products: "product content", Prices: "prices", Costs: "costs", Inventory: "stock levels",
	Customers: "customers", Orders: "orders", Refunds: "refunds and returns", Fulfillments: "fulfillments",
	Payouts: "payouts",
}

// AllFamilies lists every data family in page order.
func AllFamilies() []Family { return families.all() }

// Valid reports whether f is a known family.
func (f Family) Valid() bool { return families.valid(f) }

// Label is the family's title, e.g. "Refunds and returns"; "" when unknown.
func (f Family) Label() string { return families.label(f) }

// Noun is how a sentence names the family's data, e.g. "stock levels"; an
// unknown family is named by its key.
func (f Family) Noun() string {
	if n := familyNouns[f]; n != "" {
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
	// ShopifyToShipBob carries orders to the warehouse; ShipBobToShopify
	// brings shipments and stock back.
	ShopifyToShipBob Direction = "shopify_to_shipbob"
	ShipBobToShopify Direction = "shipbob_to_shopify"
	// ShopifyToQuickBooks carries orders, customers and refunds into QuickBooks Online.
	ShopifyToQuickBooks Direction = "shopify_to_quickbooks"
	// QuickBooksToShopify carries QuickBooks items' stock, prices and costs
	// to the storefront.
	QuickBooksToShopify Direction = "quickbooks_to_shopify"
)

var directions = newTable(entry[Direction]{ShopifyToOdoo, "Shopify → Odoo"}, entry[Direction]{OdooToShopify, "Odoo → Shopify"},
	entry[Direction]{ShopifyToShipBob, "Shopify → ShipBob"}, entry[Direction]{ShipBobToShopify, "ShipBob → Shopify"},
	entry[Direction]{ShopifyToQuickBooks, "Shopify → QuickBooks"}, entry[Direction]{QuickBooksToShopify, "QuickBooks → Shopify"})

// AllDirections lists every direction, in the order filters show them.
func AllDirections() []Direction { return directions.all() }

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return directions.valid(d) }

// Label names the direction, e.g. "Shopify → Odoo"; "" when unknown.
func (d Direction) Label() string { return directions.label(d) }

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

// statuses are in the order filters show them: problems first.
var statuses = newTable(
	entry[Status]{SyncFailed, "Failed"}, entry[Status]{SyncRetrying, "Will retry"}, entry[Status]{SyncRejected, "Not allowed"},
	entry[Status]{SyncPending, "Waiting"}, entry[Status]{SyncRunning, "In progress"}, entry[Status]{SyncSucceeded, "Done"},
	entry[Status]{SyncSkipped, "Nothing to do"},
)

// AllStatuses lists every status, in the order filters show them.
func AllStatuses() []Status { return statuses.all() }

// ProblemStatuses are the statuses the failed-syncs console lists.
func ProblemStatuses() []Status { return []Status{SyncFailed, SyncRetrying, SyncRejected} }

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return statuses.valid(s) }

// Label names the status in plain words, e.g. "Will retry"; "" when unknown.
func (s Status) Label() string { return statuses.label(s) }

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

// errorClasses are in the order filters show them: what a person can fix first.
var errorClasses = newTable(
	entry[ErrorClass]{ClassUnmapped, "Not mapped yet"}, entry[ErrorClass]{ClassOnlyInOne, "Exists in only one system"},
	entry[ErrorClass]{ClassValidation, "Data was refused"}, entry[ErrorClass]{ClassOwnership, "Against the sources of truth"},
	entry[ErrorClass]{ClassConflict, "Changed in both places"}, entry[ErrorClass]{ClassNotFound, "Missing in the other system"},
	entry[ErrorClass]{ClassAuth, "Access refused"}, entry[ErrorClass]{ClassRateLimited, "Asked to slow down"},
	entry[ErrorClass]{ClassTransient, "System unavailable"}, entry[ErrorClass]{ClassInternal, "Fault in Crossdock"},
)

// AllErrorClasses lists every class, in the order filters show them.
func AllErrorClasses() []ErrorClass { return errorClasses.all() }

// Valid reports whether c is a known class.
func (c ErrorClass) Valid() bool { return errorClasses.valid(c) }

// Label names the class in plain words, e.g. "Not mapped yet"; "" when unknown.
func (c ErrorClass) Label() string { return errorClasses.label(c) }

// Role decides what a user may see and do.
type Role string

// The three roles of Crossdock.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleFinance  Role = "finance"
)

// roles are in the order forms show them.
var roles = newTable(entry[Role]{RoleOperator, "Operator"}, entry[Role]{RoleFinance, "Finance"}, entry[Role]{RoleAdmin, "Admin"})

var roleDescriptions = map[Role]string{
	RoleAdmin:    "Everything, plus approving mapping changes, sources of truth, connections and users",
	RoleOperator: "Connects systems, watches syncs, maps identifiers, tries failed syncs again",
	RoleFinance:  "Reviews prices and margins, acknowledges discrepancies, exports for month-end",
}

// AllRoles lists every role, in the order forms show them.
func AllRoles() []Role { return roles.all() }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roles.valid(r) }

// Label names the role, e.g. "Operator"; "" when unknown.
func (r Role) Label() string { return roles.label(r) }

// Describe says in plain words what the role may do.
func (r Role) Describe() string { return roleDescriptions[r] }

// Environment is whether a connected system is the live one or a test one.
// It is shown wherever the connection appears, so nobody replays test data
// into production by accident.
type Environment string

// The environments.
const (
	EnvProduction Environment = "production"
	EnvTest       Environment = "test"
)

var environments = newTable(entry[Environment]{EnvProduction, "Production"}, entry[Environment]{EnvTest, "Test"})

// AllEnvironments lists every environment, in the order forms show them.
func AllEnvironments() []Environment { return environments.all() }

// Valid reports whether e is a known environment.
func (e Environment) Valid() bool { return environments.valid(e) }

// Label names the environment, e.g. "Production"; "" when unknown.
func (e Environment) Label() string { return environments.label(e) }

// Scope is where a person may write (try syncs again, send values, run
// checks, register webhooks): into every system, or into test systems only.
type Scope string

// The write scopes of a user.
const (
	ScopeAll  Scope = "all"  // production and test systems
	ScopeTest Scope = "test" // test systems only
)

var scopes = newTable(entry[Scope]{ScopeAll, "every system"}, entry[Scope]{ScopeTest, "test systems only"})

// AllScopes lists every scope, in the order forms show them.
func AllScopes() []Scope { return scopes.all() }

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return scopes.valid(s) }

// Label says where a person with this scope may write, for a sentence:
// "test systems only", and "every system" for anything but test only.
func (s Scope) Label() string {
	if s == ScopeTest {
		return scopes.label(ScopeTest)
	}
	return scopes.label(ScopeAll)
}

// Kind is a kind of system Crossdock connects to.
type Kind string

// The kinds of system.
const (
	KindShopify    Kind = "shopify"
	KindOdoo       Kind = "odoo"
	KindQuickBooks Kind = "quickbooks"
	KindShipBob    Kind = "shipbob"
)

var kinds = newTable(entry[Kind]{KindShopify, "Shopify"}, entry[Kind]{KindOdoo, "Odoo"},
	entry[Kind]{KindQuickBooks, "QuickBooks Online"}, entry[Kind]{KindShipBob, "ShipBob"})

// AllKinds lists every kind of system, in the order forms show them.
func AllKinds() []Kind { return kinds.all() }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return kinds.valid(k) }

// Label names the kind, e.g. "Shopify"; "" when unknown.
func (k Kind) Label() string { return kinds.label(k) }

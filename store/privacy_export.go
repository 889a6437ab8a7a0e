package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// CustomerDataLimit caps the syncs one customer's export reads: a customer
// with more (a wholesale account) gets the newest ones and a note saying so.
const CustomerDataLimit = 20000

// CustomerQuery names a customer of one Shopify connection as a privacy
// request does.
type CustomerQuery struct {
	ConnectionID int64
	CustomerGID  string   // gid://shopify/Customer/…, "" when only the e-mail is known
	Email        string   // "" when only the id is known
	OrderGIDs    []string // the orders the request names (gid://shopify/Order/…)
}

// CustomerRef is one system's record of the customer, as the mappings or a
// catalogue read know it.
type CustomerRef struct {
	ConnectionID   int64      `db:"connection_id"`
	ConnectionName string     `db:"connection_name"`
	ConnectionKind string     `db:"connection_kind"`
	EntityID       *int64     `db:"entity_id"` // the mapping's entity; nil for a catalogue record
	EntityType     string     `db:"entity_type"`
	ExternalID     string     `db:"external_id"`
	Email          string     `db:"email"`
	Name           string     `db:"name"`
	SeenAt         *time.Time `db:"seen_at"` // when a catalogue read last saw it; nil for a mapping
}

// CustomerDiscrepancy is a reconciliation difference about one of the
// customer's syncs.
type CustomerDiscrepancy struct {
	ID          int64     `db:"id"`
	Family      string    `db:"family"`
	Kind        string    `db:"kind"`
	Label       string    `db:"label"`
	MasterValue string    `db:"master_value"`
	OtherValue  string    `db:"other_value"`
	Status      string    `db:"status"`
	FirstSeenAt time.Time `db:"first_seen_at"`
	SyncID      *int64    `db:"sync_id"`
}

// CustomerData is everything Crossdock holds about one customer of a shop.
type CustomerData struct {
	Refs          []CustomerRef
	Syncs         []Sync // with payload, request and answer; oldest first
	Attempts      []SyncAttempt
	Events        []WebhookEvent // with their bodies
	Discrepancies []CustomerDiscrepancy
	// Truncated is true when the customer has more than CustomerDataLimit syncs.
	Truncated bool
}

// CustomerData gathers what Crossdock holds about a customer, every step an
// index lookup however many syncs are stored: the mappings by Shopify id
// (mapping_refs_external) and e-mail (mapping_refs_email), catalogue
// records by their key and e-mail (external_records_email), the syncs by
// their search keys (syncs_search_keys_idx: the customer's id and e-mail,
// then the ids of their orders, which their refunds carry), and the webhook
// events, attempts and discrepancies of those syncs by key.
func (q q) CustomerData(ctx context.Context, c CustomerQuery) (CustomerData, error) {
	var d CustomerData
	if err := q.PlanAsLookups(ctx); err != nil {
		return d, err
	}
	if err := sqlxSelect(ctx, q, &d.Refs, `SELECT r.connection_id, cn.name AS connection_name, cn.kind AS connection_kind, r.entity_id,
  r.entity_type, r.external_id, r.email, r.name, NULL::timestamptz AS seen_at
FROM mapping_refs r JOIN connections cn ON cn.id = r.connection_id
WHERE r.valid_to IS NULL AND r.entity_id IN (
  SELECT m.entity_id FROM mapping_refs m WHERE m.valid_to IS NULL AND m.entity_type = 'customer'
    AND (($1 <> '' AND m.external_id = $1) OR ($2 <> '' AND m.email <> '' AND lower(m.email) = lower($2))))
UNION ALL
SELECT x.connection_id, cn.name, cn.kind, NULL, x.entity_type, x.external_id, x.email, x.name, x.seen_at
FROM external_records x JOIN connections cn ON cn.id = x.connection_id
WHERE x.entity_type = 'customer' AND x.deleted_at IS NULL
  AND ((x.connection_id = $3 AND x.external_id = $1) OR (x.connection_id = ANY (SELECT id FROM connections)
    AND $2 <> '' AND x.email <> '' AND lower(x.email) = lower($2)))
ORDER BY 2, 6`, c.CustomerGID, c.Email, c.ConnectionID); err != nil {
		return d, fmt.Errorf("store: customer records: %w", err)
	}
	d.Refs = dedupeRefs(d.Refs)

	// The customer's own syncs and their orders', then the orders' refunds
	// and other records that carry an order id.
	keys := SearchKeys(append([]string{c.CustomerGID, c.Email}, c.OrderGIDs...)...)
	seen := map[int64]bool{}
	for round := 0; round < 2 && len(keys) > 0 && !d.Truncated; round++ {
		var ss []Sync
		// Materialized: the matches are read through the search-key index
		// first, then sorted. Left to itself, the planner takes the newest-
		// first index and filters it, expecting many matches for several
		// keys, and walks all 10,000,000 syncs for a customer with a dozen
		// (measured: 38 s).
		if err := sqlxSelect(ctx, q, &ss, `WITH matches AS MATERIALIZED (
  SELECT `+syncColumns+` FROM syncs
  WHERE search_keys && $1::text[] AND (source_connection_id = $2 OR target_connection_id = $2))
SELECT * FROM matches ORDER BY created_at DESC, id DESC LIMIT $3`, pq.Array(keys), c.ConnectionID, CustomerDataLimit+1); err != nil {
			return d, fmt.Errorf("store: customer syncs: %w", err)
		}
		var next []string
		for _, s := range ss {
			if seen[s.ID] {
				continue
			}
			if len(d.Syncs) == CustomerDataLimit {
				d.Truncated = true
				break
			}
			seen[s.ID] = true
			d.Syncs = append(d.Syncs, s)
			if s.EntityType == "order" && s.EntityRef != "" && !slices.Contains(keys, s.EntityRef) {
				next = append(next, s.EntityRef)
			}
		}
		keys = SearchKeys(next...)
	}
	slices.SortFunc(d.Syncs, func(a, b Sync) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	ids, events := make([]int64, 0, len(d.Syncs)), []int64{}
	for _, s := range d.Syncs {
		ids = append(ids, s.ID)
		if s.WebhookEventID != nil && !slices.Contains(events, *s.WebhookEventID) {
			events = append(events, *s.WebhookEventID)
		}
	}
	if len(ids) == 0 {
		return d, nil
	}
	if err := sqlxSelect(ctx, q, &d.Attempts, `SELECT sync_id, attempt, started_at, finished_at, status, error_class, message, response
FROM sync_attempts WHERE sync_id = ANY($1) ORDER BY sync_id, attempt`, pq.Array(ids)); err != nil {
		return d, fmt.Errorf("store: customer sync attempts: %w", err)
	}
	if err := sqlxSelect(ctx, q, &d.Events, `SELECT `+webhookEventListColumns+`, payload FROM webhook_events
WHERE id = ANY($1) ORDER BY received_at, id`, pq.Array(events)); err != nil {
		return d, fmt.Errorf("store: customer webhook events: %w", err)
	}
	if err := sqlxSelect(ctx, q, &d.Discrepancies, `SELECT id, family, kind, label, master_value, other_value, status, first_seen_at, sync_id
FROM discrepancies WHERE sync_id = ANY($1) ORDER BY id`, pq.Array(ids)); err != nil {
		return d, fmt.Errorf("store: customer discrepancies: %w", err)
	}
	return d, nil
}

// dedupeRefs keeps one row per system record: a mapping and a catalogue
// read of the same record are one copy.
func dedupeRefs(refs []CustomerRef) []CustomerRef {
	type key struct {
		conn int64
		id   string
	}
	seen := map[key]int{}
	out := refs[:0]
	for _, r := range refs {
		k := key{r.ConnectionID, r.ExternalID}
		if i, ok := seen[k]; ok {
			if out[i].SeenAt == nil {
				out[i].SeenAt = r.SeenAt
			}
			if out[i].Name == "" {
				out[i].Name = r.Name
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out
}

// PrivacyExport is a data request's answer: the request and everything
// Crossdock holds about its customer, as of At.
type PrivacyExport struct {
	Request PrivacyRequest
	Data    CustomerData
	// Systems names every connection by id (syncs and copies name theirs).
	Systems map[int64]ExportSystem
	At      time.Time
}

// ExportSystem is a connected system, as an export names it.
type ExportSystem struct {
	Name string `db:"name" json:"name"`
	Kind string `db:"kind" json:"kind"`
}

// PrivacyExport reads what Crossdock holds about a privacy request's
// customer, in one transaction: one consistent picture, read as the index
// lookups it is (PlanAsLookups). A shop's erasure names no customer:
// ErrNotFound.
func (s *Store) PrivacyExport(ctx context.Context, id int64, at time.Time) (PrivacyExport, error) {
	var x PrivacyExport
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		x, err = tx.privacyExport(ctx, id, at)
		return err
	})
	return x, err
}

func (q q) privacyExport(ctx context.Context, id int64, at time.Time) (PrivacyExport, error) {
	r, err := q.PrivacyRequestByID(ctx, id)
	if err != nil {
		return PrivacyExport{}, err
	}
	if r.Kind == PrivacyShopRedact {
		return PrivacyExport{}, fmt.Errorf("store: privacy request %d names no customer: %w", id, ErrNotFound)
	}
	x := PrivacyExport{Request: r, At: at, Systems: map[int64]ExportSystem{}}
	orders := make([]string, 0, len(r.OrderIDs))
	for _, o := range r.OrderIDs {
		orders = append(orders, "gid://shopify/Order/"+o)
	}
	if x.Data, err = q.CustomerData(ctx, CustomerQuery{ConnectionID: r.ConnectionID, CustomerGID: r.CustomerGID(),
		Email: r.CustomerEmail, OrderGIDs: orders}); err != nil {
		return x, err
	}
	var systems []struct {
		ID int64 `db:"id"`
		ExportSystem
	}
	if err := sqlxSelect(ctx, q, &systems, `SELECT id, name, kind FROM connections`); err != nil {
		return x, fmt.Errorf("store: export systems: %w", err)
	}
	for _, s := range systems {
		x.Systems[s.ID] = s.ExportSystem
	}
	return x, nil
}

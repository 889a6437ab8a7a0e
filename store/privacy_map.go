package store

import (
	"context"
	"fmt"
)

// countMappedPeople counts the customers with a current reference in both
// connections. Each side is read through an index of mapping_refs:
// mapping_refs_current_external (connection, type) for the first, and
// mapping_refs_current_one_per_connection (entity, connection) for the
// second, as a customer has one reference per system.
const countMappedPeople = `SELECT count(*) FROM mapping_refs a
JOIN mapping_refs b ON b.entity_id = a.entity_id AND b.connection_id = $2 AND b.valid_to IS NULL AND b.one_per_connection
WHERE a.connection_id = $1 AND a.entity_type = 'customer' AND a.valid_to IS NULL AND a.one_per_connection AND b.entity_type = 'customer'`

// CountMappedPeople is how many people Crossdock holds between two systems:
// the customers the identifier mappings tie together in both.
func (s *Store) CountMappedPeople(ctx context.Context, from, to int64) (int64, error) {
	var n int64
	if err := s.DB.GetContext(ctx, &n, countMappedPeople, from, to); err != nil {
		return 0, fmt.Errorf("store: count mapped people: %w", err)
	}
	return n, nil
}

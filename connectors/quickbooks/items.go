package quickbooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Change data capture limits (FACTS-next §1): an answer looks back at most
// 30 days and carries at most 1000 objects.
const (
	CDCLookBack = 30 * 24 * time.Hour
	CDCLimit    = 1000
)

// TracksQuantity reports whether QuickBooks counts the item's quantity on
// hand: an inventory item with TrackQtyOnHand on.
func (it Item) TracksQuantity() bool { return it.Type == "Inventory" && it.TrackQtyOnHand }

// Updated is when the item last changed (zero when QuickBooks did not say).
func (it Item) Updated() time.Time {
	if it.MetaData == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, it.MetaData.LastUpdatedTime)
	return t
}

// Label names the item for a merchant: its SKU, else its name, else its id.
func (it Item) Label() string {
	switch {
	case strings.TrimSpace(it.Sku) != "":
		return strings.TrimSpace(it.Sku)
	case strings.TrimSpace(it.Name) != "":
		return strings.TrimSpace(it.Name)
	}
	return "QuickBooks item #" + it.ID
}

// decodeRecords decodes the records of an answer about entity.
func decodeRecords[T any](entity string, recs []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, &Error{Kind: KindProtocol, Entity: entity, Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}

// queryAll runs a query and decodes its records.
func queryAll[T any](ctx context.Context, c *Client, entity, query string) ([]T, error) {
	p, err := c.Query(ctx, entity, query)
	if err != nil {
		return nil, err
	}
	return decodeRecords[T](entity, p.Records)
}

// Item reads one item by id.
func (c *Client) Item(ctx context.Context, id string) (Item, error) {
	var it Item
	err := c.Read(ctx, EntityItem, id, &it)
	return it, err
}

// ItemsByID reads the items of some ids, active or not, at most 1000 at
// once. An id QuickBooks does not know is left out.
func (c *Client) ItemsByID(ctx context.Context, ids []string) ([]Item, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > CDCLimit {
		return nil, fmt.Errorf("quickbooks: %d items asked at once, more than %d", len(ids), CDCLimit)
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = Quote(id)
	}
	p, err := c.Query(ctx, EntityItem, "select * from Item where Id in ("+strings.Join(quoted, ", ")+") and Active in (true, false) MAXRESULTS 1000")
	if err != nil {
		return nil, err
	}
	return decodeRecords[Item](EntityItem, p.Records)
}

// ItemsChangedSince lists the items changed since a time (within the last
// 30 days), by change data capture. An answer holds at most 1000 objects,
// and QuickBooks does not say which 1000 it keeps when more changed: a full
// answer is set aside, and the items changed since are read by a query
// instead, page by page in id order (QuickBooks never deletes an item, it
// makes it inactive, which the query lists too). An item is listed once,
// as last seen.
func (c *Client) ItemsChangedSince(ctx context.Context, since time.Time) ([]Item, error) {
	ch, err := c.CDC(ctx, []string{EntityItem}, since)
	if err != nil {
		return nil, err
	}
	items, err := decodeRecords[Item](EntityItem, ch[EntityItem])
	if err != nil {
		return nil, err
	}
	if len(items) < CDCLimit {
		return lastSeen(items), nil
	}
	items = items[:0]
	for start := 1; ; start += CDCLimit {
		page, err := queryAll[Item](ctx, c, EntityItem, fmt.Sprintf(
			"select * from Item where MetaData.LastUpdatedTime >= '%s' and Active in (true, false) ORDERBY Id STARTPOSITION %d MAXRESULTS %d",
			since.UTC().Format(time.RFC3339), start, CDCLimit))
		if err != nil {
			return nil, err
		}
		items = append(items, page...)
		if len(page) < CDCLimit {
			return lastSeen(items), nil
		}
	}
}

// lastSeen keeps one item per id, the last one listed, in the order first
// seen.
func lastSeen(items []Item) []Item {
	out := make([]Item, 0, len(items))
	at := make(map[string]int, len(items))
	for _, it := range items {
		if i, ok := at[it.ID]; ok {
			out[i] = it
			continue
		}
		at[it.ID] = len(out)
		out = append(out, it)
	}
	return out
}

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
// and a full one may have left changes out: the window is then narrowed to
// start at the newest change it carried, and asked again, until an answer
// is not full. An item seen twice is listed once, as last seen. Deleted
// items come with Status "Deleted".
func (c *Client) ItemsChangedSince(ctx context.Context, since time.Time) ([]Item, error) {
	var out []Item
	at := map[string]int{}
	for {
		ch, err := c.CDC(ctx, []string{EntityItem}, since)
		if err != nil {
			return nil, err
		}
		items, err := decodeRecords[Item](EntityItem, ch[EntityItem])
		if err != nil {
			return nil, err
		}
		newest := since
		for _, it := range items {
			if i, ok := at[it.ID]; ok {
				out[i] = it
			} else {
				at[it.ID] = len(out)
				out = append(out, it)
			}
			if u := it.Updated(); u.After(newest) {
				newest = u
			}
		}
		if len(items) < CDCLimit {
			return out, nil
		}
		if !newest.After(since) {
			return nil, &Error{Kind: KindProtocol, Entity: "cdc", Message: fmt.Sprintf(
				"more than %d items changed at the same moment (%s): change data capture cannot list them all", CDCLimit, since.UTC().Format(time.RFC3339))}
		}
		since = newest
	}
}

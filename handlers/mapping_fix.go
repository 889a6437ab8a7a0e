package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/vocab"
)

// The fix links shown on failures are built here, in one place, so each
// lands on the exact record: "Map it" and "Propose the missing mappings"
// open the unmapped records of the record's own type (locations for a
// location), filtered to the records the failures miss; "See its mappings"
// searches the record itself.

// CauseFixHref is "Map it" on a cause of unmapped failures; filter is the
// cause's Failed syncs filter (its query string).
func CauseFixHref(filter string) string { return "/mappings/fix?" + filter }

// SyncFixHref is "Map it" on one unmapped failure.
func SyncFixHref(syncID int64) string { return "/mappings/fix?sync=" + strconv.FormatInt(syncID, 10) }

// maxFixIDs: up to this many missing records are named in the unmapped
// list's URL; more show the whole list of that type.
const maxFixIDs = 50

// UnmappedHref opens the unmapped records of the missing records' type
// between their systems, filtered to them when there are few.
func UnmappedHref(m store.MissingMappings) string {
	if m.SourceID == 0 {
		return "/mappings/unmapped"
	}
	q := url.Values{"from": {strconv.FormatInt(m.SourceID, 10)}, "to": {strconv.FormatInt(m.TargetID, 10)}}
	if m.EntityType != "" {
		q.Set("type", m.EntityType)
	}
	if n := len(m.ExternalIDs); n > 0 && n <= maxFixIDs {
		q["id"] = m.ExternalIDs
	}
	return "/mappings/unmapped?" + q.Encode()
}

// mappedTypes are the record types a failure's own record can be searched
// as on the mappings list.
var mappedTypes = map[string]bool{"variant": true, "product": true, "customer": true, "order": true, "location": true}

// MappingSearchHref is "See its mappings" for a failed sync: the mappings
// list searched for the record the sync is about (an exact id, so it is the
// first row), of its type and in its system. "" when the sync names none.
func MappingSearchHref(s store.Sync) string {
	q := url.Values{"connection": {strconv.FormatInt(s.SourceConnectionID, 10)}}
	ref := s.EntityRef
	switch {
	case s.EntityType == "inventory_level" && strings.HasPrefix(ref, "location:"):
		q.Set("q", strings.TrimPrefix(ref, "location:"))
		q.Set("type", "location")
	case s.EntityType == "inventory_level" && strings.Contains(ref, "@"):
		_, loc, _ := strings.Cut(ref, "@")
		q.Set("q", "gid://shopify/Location/"+loc)
		q.Set("type", "location")
	case ref != "":
		q.Set("q", ref)
		if mappedTypes[s.EntityType] {
			q.Set("type", s.EntityType)
		}
	case s.EntityKey != "":
		q.Set("q", s.EntityKey)
	default:
		return ""
	}
	if len(q.Get("q")) > 200 {
		return ""
	}
	return "/mappings?" + q.Encode()
}

// Fix answers a fix link: it reads which records the failures miss and
// sends the person to them on the unmapped records page.
func (h Mappings) Fix(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var m store.MissingMappings
	var err error
	if raw := c.Query("sync"); raw != "" {
		id, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil || id <= 0 {
			return fiber.NewError(fiber.StatusNotFound, "That failed sync does not exist.")
		}
		m, err = h.Store.MissingRecordsOfSync(ctx, id)
	} else {
		f, _, _ := failedQuery(func(k string) string { return c.Query(k) })
		m, err = h.Store.MissingRecordsOf(ctx, f)
		if err == nil && m.SourceID == 0 && f.Group {
			m.SourceID, m.TargetID = f.SourceID, f.TargetID
		}
	}
	if err != nil {
		return err
	}
	if len(m.ExternalIDs) == 0 {
		h.Flash(c, "warning", "These failures do not say which records are missing. Find them in the list below, then try the failures again.")
	} else if len(m.ExternalIDs) > maxFixIDs {
		h.Flash(c, "info", fmt.Sprintf("%s records are missing; the list shows every unmapped one of their kind.", vocab.Thousands(len(m.ExternalIDs))))
	}
	return Redirect(c, UnmappedHref(m))
}

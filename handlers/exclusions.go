package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
)

// ExclusionsStore is what the Excluded records page needs from the store.
type ExclusionsStore interface {
	ListExclusions(ctx context.Context, f store.ExclusionFilter) ([]store.Exclusion, bool, error)
	CountExclusions(ctx context.Context) (int, error)
	IncludeAgain(ctx context.Context, a store.Actor, id int64) (store.Exclusion, error)
}

// Exclusions is the list of records excluded from syncing.
type Exclusions struct {
	Base
	Store ExclusionsStore
}

// List shows the records excluded now, newest first.
func (h Exclusions) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var f store.ExclusionFilter
	f.BeforeAt, f.BeforeID = keysetCursor(c)
	rows, more, err := h.Store.ListExclusions(ctx, f)
	if err != nil {
		return err
	}
	n, err := h.Store.CountExclusions(ctx)
	if err != nil {
		return err
	}
	p := views.ExclusionsPage{Meta: h.Meta(c, "Excluded records", "failed"), Count: n, Now: now()}
	for _, e := range rows {
		p.Rows = append(p.Rows, views.ExclusionRow{ID: e.ID, Name: e.Name, SKU: e.SKU, System: e.ConnectionName,
			Family: familyLabel(e.Family), By: e.By(), At: e.CreatedAt, Reason: e.Reason,
			Technical: fmt.Sprintf("%s %s in %s", e.EntityType, e.ExternalID, e.ConnectionName)})
	}
	p.FirstHref, p.NextHref = pageLinks("/exclusions", url.Values{}, f.BeforeID != 0, more && len(rows) > 0, func() (time.Time, int64) {
		return rows[len(rows)-1].CreatedAt, rows[len(rows)-1].ID
	})
	return Render(c, views.Exclusions(p))
}

// IncludeAgain ends one exclusion: the record is synced again.
func (h Exclusions) IncludeAgain(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	e, err := h.Store.IncludeAgain(c.UserContext(), Actor(c), id)
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("%s (%s) is synced again for %s: its next change or scheduled check sends it, or it fails again if it still exists in only one system.",
		cmp.Or(e.Name, e.SKU, e.ExternalID), e.ConnectionName, strings.ToLower(familyLabel(e.Family))))
	return Redirect(c, "/exclusions")
}

package handlers

import (
	"context"
	"net/url"
	"regexp"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/store/mask"
	"crossdock/views"
	"crossdock/vocab"
)

// Masker is how the signed-in person sees customers' personal data: nil
// (everything) for a role that sees it (admins always; operators and
// finance as the Privacy settings say), else a masker that shows
// "j•••@example.com" and "J••• D•••". Every page and export that shows a
// sync's, a failure's, a delivery's or a discrepancy's words passes them
// through it; a nil masker changes nothing.
func (b Base) Masker(c *fiber.Ctx) (*mask.Masker, error) {
	u := CurrentUser(c)
	if u == nil {
		return mask.New(), nil
	}
	sees := store.DefaultPrivacySettings.Sees(u.Role)
	if b.SeesPersonal != nil && u.Role != vocab.RoleAdmin {
		var err error
		if sees, err = b.SeesPersonal(c.UserContext(), u.Role); err != nil {
			return nil, err
		}
	}
	if sees {
		return nil, nil
	}
	return mask.New(), nil
}

// maskSyncRow hides the personal data in a sync's row: a customer named as
// what the sync is about, and the names and e-mails in its sentence.
func maskSyncRow(m *mask.Masker, r *views.SyncRow, entityType string) {
	if m == nil {
		return
	}
	if entityType == "customer" {
		m = m.With(r.Entity, r.Name)
		r.Entity, r.Name = m.Whole(r.Entity), m.Whole(r.Name)
	}
	r.Message = m.Text(r.Message)
}

// maskFailure hides the personal data in a failure's sentences and in the
// payload its edit form holds (only admins edit, and they see it whole).
func maskFailure(m *mask.Masker, d *views.FailureDetail) {
	if m == nil || d == nil {
		return
	}
	d.Summary, d.Note, d.ReplayNow = m.Text(d.Summary), m.Text(d.Note), m.Text(d.ReplayNow)
	d.Payload = prettyJSON(m.JSON([]byte(d.Payload)))
}

// maskDiscrepancy hides the personal data in a discrepancy's words and
// values (an order's customer, where a comparison names them); amounts stay.
func maskDiscrepancy(m *mask.Masker, d store.Discrepancy) store.Discrepancy {
	if m == nil {
		return d
	}
	m = m.WithDocs(d.Detail)
	d.Label, d.MasterValue, d.OtherValue, d.Note = m.Text(d.Label), m.Text(d.MasterValue), m.Text(d.OtherValue), m.Text(d.Note)
	d.Detail = m.JSON(d.Detail)
	return d
}

// SyncDocs reads syncs' stored data, for masking a list's rows with the
// personal values each sync holds.
type SyncDocs interface {
	StoredSyncs(ctx context.Context, ids []int64) ([]store.StoredSync, error)
}

// maskSyncRows masks a list's rows, each with the personal values its own
// sync holds (its payload, request and answer, read by primary key only for
// a person who sees them masked).
func maskSyncRows(ctx context.Context, m *mask.Masker, st SyncDocs, syncs []store.Sync, rows []views.SyncRow) error {
	if m == nil || len(syncs) == 0 {
		return nil
	}
	ids := make([]int64, len(syncs))
	for i, s := range syncs {
		ids[i] = s.ID
	}
	docs, err := st.StoredSyncs(ctx, ids)
	if err != nil {
		return err
	}
	by := make(map[int64]store.StoredSync, len(docs))
	for _, d := range docs {
		by[d.ID] = d
	}
	for i, s := range syncs {
		d := by[s.ID]
		maskSyncRow(m.WithDocs(d.Payload, d.Request, d.Response), &rows[i], s.EntityType)
	}
	return nil
}

// maskGroup hides the e-mails in a cause's sentences (a cause holds no
// stored data to learn names from). Its links, whose filter is the cause,
// name a cause holding personal data by its key instead (cause_key), so
// the e-mail is not in their address either.
func maskGroup(m *mask.Masker, v views.FailedGroupView) views.FailedGroupView {
	v.Sentence, v.Sample = m.Text(v.Sentence), m.Text(v.Sample)
	if m == nil {
		return v
	}
	for _, href := range []*string{&v.Href, &v.FixHref, &v.ExcludeHref, &v.IgnoreHref} {
		u, err := url.Parse(*href)
		if err != nil || *href == "" {
			continue
		}
		q := u.Query()
		if cause := q.Get("cause"); cause != "" && m.Text(cause) != cause {
			q.Del("cause")
			q.Set("cause_key", store.CauseKey(cause))
			u.RawQuery = q.Encode()
			*href = u.String()
		}
	}
	return v
}

// causeKeyRe is the form of a cause key (store.CauseKey).
var causeKeyRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// PrivacyExportStore is what a data request's export reads and records.
type PrivacyExportStore interface {
	PrivacyExport(ctx context.Context, id int64, at time.Time) (store.PrivacyExport, error)
	Audit(ctx context.Context, a store.Actor, c store.Change) error
}

// PrivacyExports serves a data request's answer: everything Crossdock holds
// about the customer, as a printable page and as a JSON download.
type PrivacyExports struct {
	Base
	Store PrivacyExportStore
}

// Page is the printable answer.
func (h PrivacyExports) Page(c *fiber.Ctx) error {
	doc, err := h.export(c, "printable page")
	if err != nil {
		return err
	}
	return Render(c, views.PrivacyExportPage(views.PrivacyExportView{Meta: h.Meta(c, "Data held about "+views.PrivacyCustomerTitle(doc.Request), "privacy"), Doc: doc}))
}

// Download is the answer as a JSON file.
func (h PrivacyExports) Download(c *fiber.Ctx) error {
	doc, err := h.export(c, "JSON file")
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="crossdock-privacy-request-%d.json"`, doc.Request.ID))
	c.Type("json", "utf-8")
	return c.Send(b)
}

// export reads the request's data and records who took it: personal data
// leaving the console is in the audit log.
func (h PrivacyExports) export(c *fiber.Ctx, as string) (views.PrivacyExportDoc, error) {
	id, err := c.ParamsInt("id")
	if err != nil {
		return views.PrivacyExportDoc{}, store.ErrNotFound
	}
	x, err := h.Store.PrivacyExport(c.UserContext(), int64(id), now())
	if err != nil {
		return views.PrivacyExportDoc{}, err
	}
	if err := h.Store.Audit(c.UserContext(), Actor(c), store.Change{Action: "privacy_request.exported", ObjectType: "privacy_request",
		ObjectID: strconv.Itoa(id), Summary: fmt.Sprintf("Took the data held about the customer of privacy request #%d as a %s.", id, as)}); err != nil {
		return views.PrivacyExportDoc{}, err
	}
	return privacyExportDoc(x), nil
}

// privacyExportDoc is the export as the customer reads it: names first, and
// every stored payload, request and answer as Crossdock keeps it.
func privacyExportDoc(x store.PrivacyExport) views.PrivacyExportDoc {
	r := x.Request
	system := func(id int64) string {
		if s, ok := x.Systems[id]; ok {
			return s.Name
		}
		return "A removed connection"
	}
	d := views.PrivacyExportDoc{GeneratedAt: x.At.UTC(), Truncated: x.Data.Truncated,
		Request: views.PrivacyExportRequest{ID: r.ID, Kind: views.PrivacyKindLabel(r.Kind), Store: r.ConnectionName, ShopDomain: r.ShopDomain,
			ShopifyRequestID: r.ShopifyRequestID, CustomerName: r.CustomerName, ShopifyCustomerID: r.CustomerID, Email: r.CustomerEmail,
			Phone: r.CustomerPhone, Orders: append([]string{}, r.OrderIDs...), ReceivedAt: r.ReceivedAt.UTC(), DueAt: r.DueAt.UTC()}}
	copies := map[[3]string]bool{}
	addCopy := func(cp views.PrivacyCopy) {
		k := [3]string{cp.System, cp.RecordType, cp.RecordID}
		if !copies[k] {
			copies[k] = true
			d.Copies = append(d.Copies, cp)
		}
	}
	for _, ref := range x.Data.Refs {
		from := "mapping"
		if ref.EntityID == nil {
			from = "catalogue"
		}
		addCopy(views.PrivacyCopy{System: ref.ConnectionName, SystemKind: ref.ConnectionKind, RecordType: ref.EntityType,
			RecordID: ref.ExternalID, Name: ref.Name, Email: ref.Email, KnownFrom: from})
	}
	attempts := map[int64][]views.PrivacyExportAttempt{}
	for _, a := range x.Data.Attempts {
		attempts[a.SyncID] = append(attempts[a.SyncID], views.PrivacyExportAttempt{Attempt: a.Attempt, StartedAt: a.StartedAt.UTC(),
			Status: string(a.Status), Message: a.Message, Answer: rawJSON(a.Response)})
	}
	for _, s := range x.Data.Syncs {
		d.Syncs = append(d.Syncs, views.PrivacyExportSync{ID: s.ID, At: s.CreatedAt.UTC(), Record: s.EntityKey, RecordType: s.EntityType,
			RecordID: s.EntityRef, Family: string(s.Family), From: system(s.SourceConnectionID), To: system(s.TargetConnectionID), Status: string(s.Status),
			Message: s.Message, TargetRecordID: s.TargetRef, Payload: rawJSON(s.Payload), Request: rawJSON(s.Request),
			Answer: rawJSON(s.Response), Attempts: attempts[s.ID]})
		if s.Status == vocab.SyncSucceeded && s.TargetRef != "" {
			addCopy(views.PrivacyCopy{System: system(s.TargetConnectionID), SystemKind: x.Systems[s.TargetConnectionID].Kind,
				RecordType: s.EntityType, RecordID: s.TargetRef, Name: s.EntityKey, KnownFrom: "sync"})
		}
	}
	for _, ev := range x.Data.Events {
		d.WebhookEvents = append(d.WebhookEvents, views.PrivacyExportEvent{ID: ev.ID, Topic: ev.Topic, ReceivedAt: ev.ReceivedAt.UTC(),
			Status: ev.Status, Body: rawJSON(ev.Payload)})
	}
	for _, dc := range x.Data.Discrepancies {
		d.Discrepancies = append(d.Discrepancies, views.PrivacyExportDiscrepancy{ID: dc.ID, Family: dc.Family, Label: dc.Label,
			SourceValue: dc.MasterValue, OtherValue: dc.OtherValue, Status: dc.Status, FirstSeenAt: dc.FirstSeenAt.UTC()})
	}
	return d
}

// rawJSON keeps a stored JSON value as it is; a body that is not JSON
// becomes a JSON string, so the file stays valid.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, err := json.Marshal(string(b))
	if err != nil {
		return nil
	}
	return s
}

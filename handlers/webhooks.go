package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// WebhookBodyLimit caps a webhook body. Shopify's payloads are far smaller
// (a large order is a few hundred KB); the route's body limit (web, twice
// this) turns away anything larger before it reaches the handler, unrecorded.
const WebhookBodyLimit = 1 << 20

// webhookStoreTimeout keeps the answer within Shopify's 5 s: a delivery that
// could not be stored by then fails, and Shopify sends it again.
const webhookStoreTimeout = 4 * time.Second

// WebhookIngestStore is what the webhook endpoint writes.
type WebhookIngestStore interface {
	InsertWebhookEvent(ctx context.Context, e store.NewWebhookEvent) (id int64, inserted bool, err error)
	RecordWebhookRejection(ctx context.Context, r store.NewWebhookRejection) (int64, error)
}

// WebhookTargetSource tells the endpoint about the connection a webhook is
// for (a cache: see store.WebhookTargets).
type WebhookTargetSource interface {
	Target(ctx context.Context, id int64) (store.WebhookTarget, error)
	Refresh(ctx context.Context, id int64) (store.WebhookTarget, bool, error)
}

// WebhookReceiver receives the webhook deliveries of every kind of system
// that sends them (connectors.Webhooks), at /webhooks/<kind>/:connection:
// one receiver, whatever the kind, so rejection records, deduplication, body
// limits, the content type and secret rotation apply to all alike. What
// differs per kind (what is signed, the headers, the account check, a body
// of several events) is the connector's.
type WebhookReceiver struct {
	Store   WebhookIngestStore
	Targets WebhookTargetSource
	// Kinds verify and read a delivery, as the connection's kind says.
	Kinds *connectors.Registry
	Log   *slog.Logger
	// Now is the clock of replay windows (time.Now when nil).
	Now func() time.Time
}

// ShopifyWebhooks is the receiver's former name.
type ShopifyWebhooks = WebhookReceiver

// webhookReply is every answer the endpoint gives: the sender only looks at
// the status, a person reading a delivery log reads the rest.
type webhookReply struct {
	Status    string  `json:"status,omitempty"`
	ID        int64   `json:"id,omitempty"`
	IDs       []int64 `json:"ids,omitempty"`
	Error     string  `json:"error,omitempty"`
	Message   string  `json:"message,omitempty"`
	RequestID string  `json:"request_id,omitempty"`
}

// Receive checks and stores one Shopify delivery to /webhooks/shopify/:connection.
func (h WebhookReceiver) Receive(c *fiber.Ctx) error { return h.receive(c, vocab.KindShopify) }

// For is the handler of one kind's deliveries, at
// connectors.WebhookPath(kind)+":connection".
func (h WebhookReceiver) For(kind vocab.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error { return h.receive(c, kind) }
}

// receive checks and stores one delivery. It answers 200 only once its
// events are committed; every refusal has its own status and is recorded
// with its evidence when the connection exists.
func (h WebhookReceiver) receive(c *fiber.Ctx, want vocab.Kind) error {
	id, err := strconv.ParseInt(c.Params("connection"), 10, 64)
	if err != nil || id <= 0 {
		return h.unknown(c)
	}
	kind, ok := h.Kinds.Kind(want)
	if !ok || kind.Webhooks == nil {
		return h.unknown(c)
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), webhookStoreTimeout)
	defer cancel()
	t, err := h.Targets.Target(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return h.unknown(c)
	}
	body := c.Request().Body() // the raw bytes the system signed, never decoded
	headers, hdr := requestHeaders(c)
	d := delivery{connectionID: id, body: body, headers: headers, remote: ClientIP(c)}
	if kind.Webhooks.DeliveryIDHeader != "" {
		d.webhookID = hdr.Get(kind.Webhooks.DeliveryIDHeader)
	}
	if kind.Webhooks.TopicHeader != "" {
		d.topic = hdr.Get(kind.Webhooks.TopicHeader)
	}
	secretLabel := kind.SecretLabel()
	if errors.Is(err, store.ErrSecretsUnreadable) {
		// Only an operator can fix this; 503 keeps the sender retrying meanwhile.
		return h.reject(ctx, c, d, fiber.StatusServiceUnavailable, store.RejectSecretUnreadable,
			"The "+secretLabel+" saved for this connection cannot be decrypted (was CROSSDOCK_SECRET_KEY changed?): enter it again on the connection.")
	}
	if err != nil {
		return h.unavailable(c, id, err)
	}

	switch {
	case t.Kind != want:
		what := kind.Label + " connection"
		if want == vocab.KindShopify {
			what = "Shopify store"
		}
		return h.reject(ctx, c, d, fiber.StatusNotFound, store.RejectWrongKind,
			fmt.Sprintf("This connection is not a %s, so it cannot receive %s webhooks: check the address of the subscription.", what, kind.Label))
	case !t.Enabled:
		return h.reject(ctx, c, d, fiber.StatusGone, store.RejectDisabled,
			"This connection is disabled, so the delivery was turned away: enable the connection to receive webhooks again.")
	case len(body) > WebhookBodyLimit:
		return h.reject(ctx, c, d, fiber.StatusRequestEntityTooLarge, store.RejectTooLarge,
			fmt.Sprintf("The body was %s, more than the %s Crossdock accepts for a webhook.", byteSize(int64(len(body))), byteSize(WebhookBodyLimit)))
	}
	if ct := c.Get(fiber.HeaderContentType); !isJSON(ct) {
		if ct == "" {
			ct = "no content type"
		}
		return h.reject(ctx, c, d, fiber.StatusUnsupportedMediaType, store.RejectContentType,
			fmt.Sprintf("The body was sent as %q, not application/json: create the webhook subscription with the JSON format.", ct))
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	verr := kind.VerifyWebhookAt(body, hdr, t.Secrets, now())
	if errors.Is(verr, connectors.ErrNoSignature) {
		missing := "no " + kind.Webhooks.SignatureHeader + " signature header"
		if verr != connectors.ErrNoSignature { //nolint:errorlint // the bare sentinel means the header is absent
			missing = "an incomplete signature (" + strings.TrimPrefix(verr.Error(), connectors.ErrNoSignature.Error()+": ") + ")"
		}
		return h.reject(ctx, c, d, fiber.StatusUnauthorized, store.RejectMissingSignature,
			"The delivery has "+missing+", so it cannot be shown to come from "+kind.Label+".")
	}
	if verr != nil && !errors.Is(verr, connectors.ErrStale) {
		// The secret may have just changed in the console: read it again (at
		// most once a second) before turning the delivery away.
		fresh, refreshed, err := h.Targets.Refresh(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return h.unknown(c)
		case err != nil:
			return h.unavailable(c, id, err)
		}
		if refreshed {
			verr = kind.VerifyWebhookAt(body, hdr, fresh.Secrets, now())
		}
		if !refreshed || (verr != nil && !errors.Is(verr, connectors.ErrStale)) {
			if len(fresh.Secrets) == 0 && len(t.Secrets) == 0 {
				return h.reject(ctx, c, d, fiber.StatusUnauthorized, store.RejectNoSecret,
					fmt.Sprintf("No %s is saved for this connection, so the signature cannot be checked: enter the %s on the connection.", secretLabel, secretLabel))
			}
			return h.reject(ctx, c, d, fiber.StatusUnauthorized, store.RejectBadSignature,
				"Signature did not match: check the "+secretLabel+" saved for this connection.")
		}
		t = fresh
	}
	if errors.Is(verr, connectors.ErrStale) {
		// Genuine, but signed outside the window: a captured delivery sent
		// again. The sender's own retries are signed anew.
		d.signed = true
		return h.reject(ctx, c, d, fiber.StatusUnauthorized, store.RejectStale,
			"The signature is genuine but was made too long ago "+strings.TrimPrefix(verr.Error(), connectors.ErrStale.Error()+" ")+
				", so the delivery was turned away as a possible replay: check the clock of this server.")
	}
	// From here on the body is the system's own: keep all of it as evidence.
	d.signed = true
	evs, err := kind.ReadWebhook(hdr, body)
	if errors.Is(err, connectors.ErrWebhookBody) {
		problem := strings.TrimPrefix(err.Error(), connectors.ErrWebhookBody.Error()+": ")
		if !json.Valid(body) {
			problem = jsonProblem(body)
		}
		return h.reject(ctx, c, d, fiber.StatusBadRequest, store.RejectInvalidJSON,
			"The body is not valid JSON ("+problem+"); it is kept here for inspection.")
	}
	if err == nil && len(evs) == 0 {
		err = errors.New("the delivery holds no event")
	}
	if err != nil {
		return h.reject(ctx, c, d, fiber.StatusBadRequest, store.RejectMissingHeader,
			"A "+kind.Label+" webhook header is missing or malformed: "+err.Error()+".")
	}
	if check := kind.Webhooks.CheckAccount; check != nil {
		for _, ev := range evs {
			if problem := check(t.Settings, ev.Account); problem != "" {
				return h.reject(ctx, c, d, fiber.StatusForbidden, store.RejectWrongShop, problem)
			}
		}
	}
	if !json.Valid(body) {
		return h.reject(ctx, c, d, fiber.StatusBadRequest, store.RejectInvalidJSON,
			"The body is not valid JSON ("+jsonProblem(body)+"); it is kept here for inspection.")
	}
	var ids []int64
	for _, ev := range evs {
		payload := ev.Body
		if payload == nil {
			payload = body
		}
		eventID, inserted, err := h.Store.InsertWebhookEvent(ctx, store.NewWebhookEvent{
			ConnectionID: id, WebhookID: metaText(ev.DeliveryID, 500), EventID: metaText(ev.EventID, 500), Topic: metaText(ev.Topic, 200),
			ShopDomain: metaText(ev.Account, 200), APIVersion: metaText(ev.APIVersion, 50), TriggeredAt: ev.At, Headers: headers, Payload: payload,
		})
		if err != nil {
			// The events stored before it stay: the sender's retry finds them
			// and stores only the rest.
			return h.unavailable(c, id, err)
		}
		if inserted {
			ids = append(ids, eventID)
		}
	}
	switch {
	case len(ids) == 0:
		return c.JSON(webhookReply{Status: "duplicate", Message: "This delivery was already received; nothing changed."})
	case len(evs) == 1:
		return c.JSON(webhookReply{Status: "stored", ID: ids[0]})
	}
	return c.JSON(webhookReply{Status: "stored", ID: ids[0], IDs: ids,
		Message: fmt.Sprintf("%d of the delivery's %d events were stored (the others were already received).", len(ids), len(evs))})
}

// delivery is the evidence of one request, for a rejection record.
type delivery struct {
	connectionID     int64
	body             []byte
	headers          map[string]string
	remote           string
	webhookID, topic string
	signed           bool
}

func (h WebhookReceiver) reject(ctx context.Context, c *fiber.Ctx, d delivery, status int, reason, detail string) error {
	// The store keeps a sample of unsigned ones (RejectionSampleBytes of the
	// body, RejectionsKeptPerHour per hour) and counts the rest.
	if _, err := h.Store.RecordWebhookRejection(ctx, store.NewWebhookRejection{
		ConnectionID: d.connectionID, Reason: reason, Detail: detail, StatusCode: status, WebhookID: metaText(d.webhookID, 200),
		Topic: metaText(d.topic, 200), Headers: d.headers, Body: d.body, BodySize: int64(len(d.body)), RemoteAddr: d.remote, Signed: d.signed,
	}); err != nil {
		// The answer is still the honest one; the missing record is logged.
		h.Log.Error("record webhook rejection", "connection_id", d.connectionID, "reason", reason, "request_id", RequestID(c), "err", err)
	}
	h.Log.Info("webhook rejected", "connection_id", d.connectionID, "reason", reason, "status", status, "request_id", RequestID(c))
	return c.Status(status).JSON(webhookReply{Error: reason, Message: detail, RequestID: RequestID(c)})
}

func (h WebhookReceiver) unknown(c *fiber.Ctx) error {
	return c.Status(fiber.StatusNotFound).JSON(webhookReply{Error: "unknown_connection",
		Message: "No connection has this id: check the address of the webhook subscription.", RequestID: RequestID(c)})
}

// unavailable answers 503 when the database could not be reached in time:
// Shopify retries, and the delivery is stored then.
func (h WebhookReceiver) unavailable(c *fiber.Ctx, id int64, err error) error {
	h.Log.Error("webhook not stored", "connection_id", id, "request_id", RequestID(c), "err", err)
	return c.Status(fiber.StatusServiceUnavailable).JSON(webhookReply{Error: "unavailable",
		Message: "The delivery could not be stored just now; send it again.", RequestID: RequestID(c)})
}

// requestHeaders copies the request headers, minus credentials Shopify never
// sends but a misdirected client might.
func requestHeaders(c *fiber.Ctx) (map[string]string, http.Header) {
	m := map[string]string{}
	h := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) {
		key := http.CanonicalHeaderKey(string(k))
		if key == "Cookie" || key == "Authorization" {
			return
		}
		h.Add(key, string(v))
		if old, ok := m[key]; ok {
			m[key] = old + ", " + string(v)
		} else {
			m[key] = clip(string(v), 4096)
		}
	})
	return m, h
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == fiber.MIMEApplicationJSON
}

// jsonProblem says where a body stops being JSON.
func jsonProblem(body []byte) string {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return "the body is empty"
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	case err != nil:
		return err.Error()
	}
	return "unknown problem"
}

// metaText is a header's (or a body's) word as a column can hold it: valid
// UTF-8 without NUL bytes, which PostgreSQL refuses in text, capped.
func metaText(s string, n int) string {
	return clip(strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", ""), n)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// WebhookPagesStore is what the webhook pages read.
type WebhookPagesStore interface {
	ConnectionByID(ctx context.Context, id int64) (store.Connection, error)
	ListWebhookEvents(ctx context.Context, f store.WebhookEventFilter) ([]store.WebhookEvent, bool, error)
	WebhookEventByID(ctx context.Context, connectionID, id int64) (store.WebhookEvent, error)
	WebhookTopics(ctx context.Context, connectionID int64) ([]string, error)
	ListWebhookRejections(ctx context.Context, f store.WebhookRejectionFilter) ([]store.WebhookRejection, bool, error)
	WebhookRejectionByID(ctx context.Context, connectionID, id int64) (store.WebhookRejection, error)
	CountRecentWebhookRejections(ctx context.Context, connectionID int64, since time.Time) (int, error)
	DroppedWebhookRejections(ctx context.Context, connectionID int64, since time.Time) (int64, error)
}

// Webhooks shows the webhook deliveries a connection received or turned away.
type Webhooks struct {
	Base
	Store   WebhookPagesStore
	BaseURL string // where Shopify reaches Crossdock, for the empty state
	// Kinds says which kinds of system send webhooks (nil: Shopify only).
	Kinds *connectors.Registry
}

const webhookPageSize = 50

// webhookConnection loads the connection of the page, or ErrNotFound when
// its kind of system sends no webhooks.
func (h Webhooks) webhookConnection(c *fiber.Ctx) (store.Connection, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return store.Connection{}, store.ErrNotFound
	}
	conn, err := h.Store.ConnectionByID(c.UserContext(), id)
	if err != nil {
		return store.Connection{}, err
	}
	if conn.Kind == vocab.KindShopify {
		return conn, nil
	}
	if k, ok := h.Kinds.Kind(conn.Kind); !ok || k.Webhooks == nil {
		return store.Connection{}, store.ErrNotFound
	}
	return conn, nil
}

func (h Webhooks) connectionView(c *fiber.Ctx, conn store.Connection) views.WebhookConnection {
	base := strings.TrimRight(h.BaseURL, "/")
	if base == "" {
		base = c.BaseURL()
	}
	return views.WebhookConnection{ID: conn.ID, Name: conn.Name, Environment: string(conn.Environment), Enabled: conn.Enabled,
		EndpointURL: connectors.WebhookURL(base, conn.Kind, conn.ID)}
}

// List shows a connection's received deliveries (newest first, filtered by
// topic and status) or, with ?tab=rejected, the ones turned away.
func (h Webhooks) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	conn, err := h.webhookConnection(c)
	if err != nil {
		return err
	}
	base := "/connections/" + strconv.FormatInt(conn.ID, 10) + "/webhooks"
	p := views.WebhooksPage{Meta: h.Meta(c, "Webhooks · "+conn.Name, "connections"), Connection: h.connectionView(c, conn), Now: now()}
	beforeAt, beforeID := keysetCursor(c)
	q := url.Values{}

	recent, err := h.Store.CountRecentWebhookRejections(ctx, conn.ID, now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	p.RecentRejections = recent
	if p.UnkeptRejections, err = h.Store.DroppedWebhookRejections(ctx, conn.ID, now().Add(-24*time.Hour)); err != nil {
		return err
	}
	p.KeptPerHour, p.SampleKB = store.RejectionsKeptPerHour, store.RejectionSampleBytes>>10

	if c.Query("tab") == "rejected" {
		p.Tab = views.WebhookTabRejected
		q.Set("tab", "rejected")
		rs, more, err := h.Store.ListWebhookRejections(ctx, store.WebhookRejectionFilter{ConnectionID: conn.ID,
			BeforeAt: beforeAt, BeforeID: beforeID, Limit: webhookPageSize})
		if err != nil {
			return err
		}
		for _, r := range rs {
			p.Rejections = append(p.Rejections, views.WebhookRejectionRow{ID: r.ID, ReceivedAt: r.ReceivedAt, Reason: views.RejectionReason(r.Reason),
				Detail: r.Detail, StatusCode: r.StatusCode, Topic: r.Topic, RemoteAddr: r.RemoteAddr,
				Href: base + "/rejected/" + strconv.FormatInt(r.ID, 10)})
		}
		p.FirstHref, p.NextHref = pageLinks(base, q, beforeID != 0, more && len(rs) > 0, func() (time.Time, int64) {
			return rs[len(rs)-1].ReceivedAt, rs[len(rs)-1].ID
		})
		return Render(c, views.Webhooks(p))
	}

	p.Tab = views.WebhookTabReceived
	p.Filter = views.WebhookFilterView{Topic: c.Query("topic"), Status: c.Query("status")}
	if p.Filter.Status != "" && !slices.Contains(store.WebhookStatuses, p.Filter.Status) {
		p.Filter.Error, p.Filter.Status = "That status is not known; showing every status.", ""
	}
	topics, err := h.Store.WebhookTopics(ctx, conn.ID)
	if err != nil {
		return err
	}
	p.Topics = []components.Option{{Value: "", Label: "Every topic"}}
	for _, t := range topics {
		p.Topics = append(p.Topics, components.Option{Value: t, Label: t})
	}
	if p.Filter.Topic != "" && !slices.Contains(topics, p.Filter.Topic) {
		// Keep the filter (nothing matches), but let the select show it.
		p.Topics = append(p.Topics, components.Option{Value: p.Filter.Topic, Label: p.Filter.Topic})
	}
	p.Statuses = []components.Option{{Value: "", Label: "Every status"}}
	for _, s := range store.WebhookStatuses {
		p.Statuses = append(p.Statuses, components.Option{Value: s, Label: views.WebhookStatusLabel(s)})
	}
	events, more, err := h.Store.ListWebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: conn.ID, Topic: p.Filter.Topic,
		Status: p.Filter.Status, BeforeAt: beforeAt, BeforeID: beforeID, Limit: webhookPageSize})
	if err != nil {
		return err
	}
	for _, e := range events {
		p.Events = append(p.Events, views.WebhookEventRow{ID: e.ID, Topic: e.Topic, Status: e.Status, ReceivedAt: e.ReceivedAt,
			TriggeredAt: e.TriggeredAt, ShopDomain: e.ShopDomain, Size: byteSize(e.PayloadSize),
			Href: base + "/" + strconv.FormatInt(e.ID, 10)})
	}
	for k, v := range map[string]string{"topic": p.Filter.Topic, "status": p.Filter.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	p.Filtered = len(q) > 0
	p.FirstHref, p.NextHref = pageLinks(base, q, beforeID != 0, more && len(events) > 0, func() (time.Time, int64) {
		return events[len(events)-1].ReceivedAt, events[len(events)-1].ID
	})
	return Render(c, views.Webhooks(p))
}

func keysetCursor(c *fiber.Ctx) (time.Time, int64) {
	at, err := time.Parse(time.RFC3339Nano, c.Query("before_at"))
	if err != nil {
		return time.Time{}, 0
	}
	id, err := strconv.ParseInt(c.Query("before_id"), 10, 64)
	if err != nil {
		return time.Time{}, 0
	}
	return at, id
}

func pageLinks(base string, q url.Values, paged, more bool, last func() (time.Time, int64)) (first, next string) {
	href := func(v url.Values) string {
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	if paged {
		first = href(q)
	}
	if more {
		at, id := last()
		n := url.Values{}
		for k, v := range q {
			n[k] = v
		}
		n.Set("before_at", at.Format(time.RFC3339Nano))
		n.Set("before_id", strconv.FormatInt(id, 10))
		next = href(n)
	}
	return first, next
}

// Show shows one received delivery: its headers, payload and status.
func (h Webhooks) Show(c *fiber.Ctx) error {
	conn, err := h.webhookConnection(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("event"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	e, err := h.Store.WebhookEventByID(c.UserContext(), conn.ID, id)
	if err != nil {
		return err
	}
	m, err := h.Masker(c)
	if err != nil {
		return err
	}
	m = m.WithDocs(e.Payload)
	e.Payload, e.Error = m.JSON(e.Payload), m.Text(e.Error)
	p := views.WebhookEventPage{Meta: h.Meta(c, e.Topic+" · "+conn.Name, "connections"), Connection: h.connectionView(c, conn), Now: now(),
		Event: views.WebhookEventDetail{ID: e.ID, Topic: e.Topic, Status: e.Status, ShopDomain: e.ShopDomain, APIVersion: e.APIVersion,
			WebhookID: e.WebhookID, EventID: e.EventID, TriggeredAt: e.TriggeredAt, ReceivedAt: e.ReceivedAt, ProcessedAt: e.ProcessedAt,
			Error: e.Error, Size: byteSize(e.PayloadSize), Headers: headerRows(e.Headers), Payload: prettyBody(e.Payload)}}
	return Render(c, views.WebhookEvent(p))
}

// ShowRejection shows one turned-away delivery with its evidence.
func (h Webhooks) ShowRejection(c *fiber.Ctx) error {
	conn, err := h.webhookConnection(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("rejection"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	r, err := h.Store.WebhookRejectionByID(c.UserContext(), conn.ID, id)
	if err != nil {
		return err
	}
	p := views.WebhookRejectionPage{Meta: h.Meta(c, "Turned-away webhook · "+conn.Name, "connections"), Connection: h.connectionView(c, conn), Now: now(),
		Rejection: views.WebhookRejectionDetail{ID: r.ID, ReceivedAt: r.ReceivedAt, Reason: views.RejectionReason(r.Reason), Detail: r.Detail,
			StatusCode: r.StatusCode, Topic: r.Topic, WebhookID: r.WebhookID, RemoteAddr: r.RemoteAddr, Headers: headerRows(r.Headers),
			Body: prettyBody(r.Body), Size: byteSize(r.BodySize), Capped: r.BodyStored < r.BodySize, StoredSize: byteSize(r.BodyStored)}}
	return Render(c, views.WebhookRejection(p))
}

func headerRows(raw []byte) []views.HeaderRow {
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	rows := make([]views.HeaderRow, 0, len(m))
	for k, v := range m {
		rows = append(rows, views.HeaderRow{Name: k, Value: v})
	}
	slices.SortFunc(rows, func(a, b views.HeaderRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

// prettyBody indents a JSON body for reading; anything else is shown as
// text, with bytes that are not UTF-8 replaced.
func prettyBody(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") == nil {
		return buf.String()
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

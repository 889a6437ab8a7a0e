package web

import (
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"crossdock/handlers"
	"crossdock/store"
	"crossdock/web/demo"
)

// Request body limits, per route. fasthttp reads a request's whole body
// before Fiber routes it, so a check in a handler comes after the memory is
// spent. bodyLimit runs on the headers alone (fasthttp's HeaderReceived): a
// Content-Length over the route's limit is answered 413 before a byte of the
// body is read, and a chunked body is cut off with 413 as soon as its chunks
// pass the limit, so no request holds more than its route's limit in memory.
const (
	// FormBodyLimit is any console form: a few fields and a reason.
	FormBodyLimit = 64 << 10
	// SelectionBodyLimit is a form listing ticked rows (up to 5,000 ids of
	// failed syncs or suggested matches).
	SelectionBodyLimit = 1 << 20
	// PayloadBodyLimit is an edited sync payload (1 MB of JSON, up to three
	// times that once URL-encoded).
	PayloadBodyLimit = 4 << 20
	// WebhookRouteLimit is twice the webhook's own 1 MB cap: a delivery a
	// little over it still reaches the handler, which records it as turned
	// away for being too large; anything larger is refused unread.
	WebhookRouteLimit = 2 * handlers.WebhookBodyLimit
	// SandboxBodyLimit is a call to the demo's sandbox Shopify and Odoo.
	SandboxBodyLimit = 4 << 20
	// ImportBodyLimit is a mapping CSV import: the file's own limit
	// (store.MaxImportBytes) plus the multipart form around it.
	ImportBodyLimit = store.MaxImportBytes + 1<<20
	// BodyLimit is the largest of them, Fiber's global cap.
	BodyLimit = ImportBodyLimit
)

// bodyLimit is the most a request to path may send.
func bodyLimit(path string) int {
	p := strings.ToLower(path)
	switch {
	case strings.HasPrefix(p, "/webhooks/"):
		return WebhookRouteLimit
	case p == "/mappings/import":
		return ImportBodyLimit
	case strings.HasPrefix(p, "/syncs/") && strings.HasSuffix(p, "/edit-replay"):
		return PayloadBodyLimit
	case p == "/failed/replay", p == "/failed/resolve", p == "/failed/ignore", p == "/failed/propose-mappings",
		p == "/mappings/unmapped/accept":
		return SelectionBodyLimit
	case strings.HasPrefix(p, demo.PathPrefix+"/"):
		return SandboxBodyLimit
	}
	return FormBodyLimit
}

// limitBodies gives fasthttp each request's limit from its path, read from
// the request line before the body (the path normalised as Fiber routes it).
func limitBodies(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	limit := FormBodyLimit
	if err := u.Parse(nil, h.RequestURI()); err == nil {
		limit = bodyLimit(string(u.Path()))
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: limit}
}

// sizeInWords is a byte count for people: "64 KB", "31 MB".
func sizeInWords(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// webhookTopics are the topics planEvent reads a payload for.
var webhookTopics = []string{"orders/create", "refunds/create", "customers/create", "customers/update",
	"products/create", "products/update", "inventory_levels/update"}

// FuzzPlanEvent feeds any body, under every topic Crossdock reads, to the
// intake's decode. Whatever arrives must become a plan the database can
// store: no panic, text PostgreSQL accepts (UTF-8 without NUL), a failed
// event with a sentence for the merchant, and a payload that reads back as
// it was written (the sync's job decodes it again).
func FuzzPlanEvent(f *testing.F) {
	for _, glob := range []string{"testdata/*.json", "../connectors/shopify/testdata/*-*.20[0-9][0-9]-[0-9][0-9].json"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, ".headers.json") {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			for i := range webhookTopics {
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"id":1,"name":"#1\u0000","updated_at":"2026-04-01T00:00:00Z"}`))
	f.Add(uint8(2), []byte(`null`))
	f.Add(uint8(6), []byte(`{"inventory_item_id":1e400}`))

	const shop, erp = 1, 2
	rs := rules.Rules{Connections: []rules.ConnInfo{
		{ID: shop, Name: "Shopify", Kind: vocab.KindShopify, Enabled: true, SendsWebhooks: true},
		{ID: erp, Name: "Odoo", Kind: vocab.KindOdoo, Enabled: true},
	}}
	e := &Engine{cfg: Config{MaxAttempts: 5}}
	f.Fuzz(func(t *testing.T, topic uint8, body []byte) {
		ev := store.WebhookEvent{ID: 7, ConnectionID: shop, Topic: webhookTopics[int(topic)%len(webhookTopics)], Payload: body}
		// What intake stores: the plan, with a NUL's syncs failed in words
		// (unstorable), each sync through the store's last edge (mendSync).
		p := unstorable(e.planEvent(rs, ev), ev)
		for i := range p.syncs {
			p.syncs[i].sync = mendSync(p.syncs[i].sync)
		}
		checkText(t, "outcome error", p.outcome.Error)
		switch p.outcome.Status {
		case store.WebhookProcessed, store.WebhookIgnored:
		case store.WebhookFailed:
			if p.outcome.Error == "" {
				t.Fatal("a failed event has no reason")
			}
		default:
			t.Fatalf("unknown outcome %q", p.outcome.Status)
		}
		for _, q := range p.syncs {
			s := q.sync
			for name, v := range map[string]string{"entity ref": s.EntityRef, "entity key": s.EntityKey, "message": s.Message,
				"idempotency key": s.IdempotencyKey, "lease": q.lease} {
				checkText(t, name, v)
			}
			for _, k := range s.SearchKeys {
				checkText(t, "search key", k)
			}
			b, err := store.JSON(s.Payload)
			if err != nil {
				t.Fatalf("payload cannot be stored: %v", err)
			}
			if b != nil && !json.Valid(b) {
				t.Fatalf("payload is not JSON: %q", b)
			}
			if s.Status == vocab.SyncFailed || b == nil {
				continue
			}
			// The job reads the payload back into the type it was written from.
			back := reflect.New(reflect.TypeOf(s.Payload))
			if err := json.Unmarshal(b, back.Interface()); err != nil {
				t.Fatalf("payload %s does not read back: %v", b, err)
			}
			again, err := store.JSON(back.Elem().Interface())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Fatalf("payload changed on its way through the database:\n%s\n%s", b, again)
			}
		}
	})
}

// checkText fails when PostgreSQL could not store s in a text column.
func checkText(t *testing.T, name, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		t.Fatalf("%s %q cannot be stored as text", name, s)
	}
}

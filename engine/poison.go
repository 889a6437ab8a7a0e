package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"crossdock/store"
	"crossdock/vocab"
)

// nulMark is how a NUL character shows in place once set aside: U+FFFD, the
// character that stands for one that could not be kept.
const nulMark = "\ufffd"

// nulReason says, in words, that a field of a record holds U+0000, which
// PostgreSQL text (and jsonb) cannot store: "The order's line 1 SKU contains
// a character that cannot be stored (a NUL byte)".
func nulReason(noun, field string) string {
	return fmt.Sprintf("The %s's %s contains a character that cannot be stored (a NUL byte).", noun, field)
}

// unstorable turns a plan whose syncs would carry a NUL character into
// failed syncs that say which field holds it: the text columns would refuse
// the row and, with it, every event of the batch. The failed syncs keep the
// raw payload (its NULs shown as U+FFFD) and set no watermark, so a corrected
// delivery of the same version still comes through.
func unstorable(p eventPlan, ev store.WebhookEvent) eventPlan {
	p.outcome.Error = clean(p.outcome.Error)
	// Every text a plan holds comes from the payload: without a NUL there
	// (escaped or raw), there is nothing to look for.
	if !bytes.Contains(ev.Payload, []byte(`\u0000`)) && bytes.IndexByte(ev.Payload, 0) < 0 {
		return p
	}
	reason := ""
	for _, q := range p.syncs {
		if reason = nulInSync(q.sync, nil); reason != "" {
			break
		}
	}
	if reason == "" {
		return p
	}
	reason += " Nothing was sent on; correct it in Shopify and it will come through again."
	p.mark = nil
	p.outcome.Status, p.outcome.Error = store.WebhookFailed, reason
	for i := range p.syncs {
		s := &p.syncs[i].sync
		s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassValidation, reason
		s.Payload = json.RawMessage(ev.Payload)
		s.IdempotencyKey = cmpStr(s.IdempotencyKey, fmt.Sprintf("webhook-%d", ev.ID))
		*s = cleanSync(*s)
		p.syncs[i].lease = ""
	}
	return p
}

func clean(s string) string { return strings.ReplaceAll(s, "\x00", nulMark) }

// mendSync is the last edge before the database for every sync the engine
// creates (intake, sweeps, replays): one that would carry a NUL character
// becomes failed, class validation, with the field named, its text mended,
// so that it alone fails rather than the transaction of its whole batch.
// The payload is marshalled here, once, and handed on as JSON.
func mendSync(s store.NewSync) store.NewSync {
	if cmp.Or(s.Status, vocab.SyncPending) != vocab.SyncPending {
		// A sync that will not run keeps its own reason; its text is only
		// mended (and the store shows its payload's NULs as U+FFFD).
		return cleanSync(s)
	}
	var payload []byte
	switch p := s.Payload.(type) {
	case nil:
	case json.RawMessage:
		payload = p
	case []byte:
		payload = p
	default:
		if b, err := json.Marshal(p); err == nil {
			payload, s.Payload = b, json.RawMessage(b)
		}
	}
	reason := nulInSync(s, payload)
	if reason == "" {
		return s
	}
	s.Status, s.ErrorClass = vocab.SyncFailed, vocab.ClassValidation
	s.Message = reason + " Nothing was sent on; correct it where it comes from and it will come through again."
	return cleanSync(s)
}

// cleanSync replaces NUL characters in a sync's text fields by U+FFFD.
func cleanSync(s store.NewSync) store.NewSync {
	s.EntityRef, s.EntityKey, s.IdempotencyKey, s.Message = clean(s.EntityRef), clean(s.EntityKey), clean(s.IdempotencyKey), clean(s.Message)
	if slices.ContainsFunc(s.SearchKeys, func(k string) bool { return strings.ContainsRune(k, 0) }) {
		s.SearchKeys = slices.Clone(s.SearchKeys)
		for j, k := range s.SearchKeys {
			s.SearchKeys[j] = clean(k)
		}
	}
	return s
}

// nulInSync returns the reason a sync cannot be stored because of a NUL
// character, naming the field, or "" when it can. payload is the sync's
// payload as JSON (nil to marshal it here).
func nulInSync(s store.NewSync, payload []byte) string {
	noun := strings.ReplaceAll(cmpStr(s.EntityType, "record"), "_", " ")
	if payload == nil && s.Payload != nil {
		payload, _ = json.Marshal(s.Payload)
	}
	if bytes.Contains(payload, []byte(`\u0000`)) || bytes.IndexByte(payload, 0) >= 0 {
		if field := nulField(payload); field != "" {
			return nulReason(noun, field)
		}
	}
	switch {
	case strings.ContainsRune(s.EntityKey, 0):
		return nulReason(noun, "name")
	case strings.ContainsRune(s.EntityRef, 0) || strings.ContainsRune(s.IdempotencyKey, 0):
		return nulReason(noun, "id")
	case slices.ContainsFunc(s.SearchKeys, func(k string) bool { return strings.ContainsRune(k, 0) }):
		return nulReason(noun, "SKU, number or e-mail")
	case strings.ContainsRune(s.Message, 0):
		return nulReason(noun, "name or title")
	}
	return ""
}

// nulField finds the first string in a JSON document that holds U+0000 and
// names where it is in words ("line 2 SKU"); "" when there is none.
func nulField(doc []byte) string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return ""
	}
	path, ok := nulPath(v, nil)
	if !ok {
		return ""
	}
	return strings.Join(path, " ")
}

func nulPath(v any, path []string) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return path, strings.ContainsRune(x, 0)
	case []any:
		// A list's items are numbered as people count them: "line 1".
		item := "item"
		if n := len(path); n > 0 {
			item, path = strings.TrimSuffix(path[n-1], "s"), path[:n-1]
		}
		for i, it := range x {
			if p, ok := nulPath(it, append(slices.Clip(path), item+" "+strconv.Itoa(i+1))); ok {
				return p, true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.ContainsRune(k, 0) {
				return append(path, "field names"), true
			}
			if p, ok := nulPath(x[k], append(slices.Clip(path), fieldWords(k))); ok {
				return p, true
			}
		}
	}
	return nil, false
}

// fieldWords names a JSON key the way a merchant reads it.
func fieldWords(k string) string {
	switch k {
	case "sku":
		return "SKU"
	case "email":
		return "e-mail"
	case "line_items", "lines":
		return "lines"
	case "id", "admin_graphql_api_id":
		return "id"
	}
	return strings.ReplaceAll(k, "_", " ")
}

package store

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseMappingCSV feeds any file to the mapping import's parser. It must
// not panic; a file it refuses is an ImportError in words; every row it reads
// is either an item or an invalid line with its reason, in text PostgreSQL can
// store; and the items it reads, written out as an export, read back the same.
func FuzzParseMappingCSV(f *testing.F) {
	for _, s := range []string{
		"type,connection,external_id,entity_key,sku,barcode,email,name,action\nvariant,Main store,gid://shopify/ProductVariant/1,A,A,,,,\n",
		"\ufefftype;connection;external_id;entity_key;sku;action\r\nvariant;main store;s1;A;A;\r\nvariant;Odoo;o2;A;A;\r\n" +
			"variant;Main store;s2;;;remove\r\nvariant;Main store;s3;\"C; \"\"the big one\"\"\";C;\r\n\r\n",
		"type,connection,external_id,entity_key,\ncustomer,2,42,ann@example.com,\ncustomer,odoo,42,bob@example.com,\n",
		"type,connection,external_id,entity_key,action\nvariant,odoo,7,,delete\nvariant,odoo,8,K,frobnicate\n",
		"type,connection,external_id\nvariant,odoo,\"unclosed\n",
		"type,connection,external_id,entity_key\nvariant,odoo,9,a\"b\n",
		"type,connection,external_id,entity_key\ntax,odoo,1,VAT 20%,extra\n",
		"type,connection,external_id,entity_key\n\xff\xfe,odoo,1,x\n",
		"type,type\n",
		"",
		"type,connection,external_id,entity_key\n",
	} {
		f.Add([]byte(s))
	}
	types := []EntityType{{Key: "variant"}, {Key: "customer"}, {Key: "tax", ManyPerConnection: true}}
	conns := []Connection{{ID: 1, Name: "Main store"}, {ID: 2, Name: "Odoo"}}
	f.Fuzz(func(t *testing.T, file []byte) {
		p, err := parseMappingCSV(bytes.NewReader(file), types, conns)
		if err != nil {
			var ie ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("not an ImportError: %T %v", err, err)
			}
			if ie.Message == "" {
				t.Fatal("an ImportError without a message")
			}
			return
		}
		if p.rows != len(p.items)+p.nInvalid || len(p.items) != len(p.lines) {
			t.Fatalf("%d rows read: %d items (%d lines) and %d invalid", p.rows, len(p.items), len(p.lines), p.nInvalid)
		}
		for _, r := range p.invalid {
			if r.msg == "" || r.line < 1 {
				t.Fatalf("invalid row without line or reason: %+v", r)
			}
			storable(t, "reason", r.msg)
		}
		for _, it := range p.items {
			for _, v := range []*string{&it.EntityType, &it.ExternalID, &it.EntityKey, it.SKU, it.Barcode, it.Email, it.Name} {
				if v != nil {
					storable(t, "value", *v)
				}
			}
		}
		if len(p.items) == 0 {
			return
		}
		// An export of the items imports as the same items.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(MappingCSVColumns) //nolint:errcheck // a bytes.Buffer does not fail
		name := map[int64]string{}
		for _, c := range conns {
			name[c.ID] = c.Name
		}
		for _, it := range p.items {
			action := ""
			if it.Op == OpRemove {
				action = OpRemove
			}
			w.Write([]string{it.EntityType, name[it.ConnectionID], it.ExternalID, it.EntityKey, //nolint:errcheck
				deref(it.SKU), deref(it.Barcode), deref(it.Email), deref(it.Name), action})
		}
		w.Flush()
		back, err := parseMappingCSV(&buf, types, conns)
		if err != nil {
			t.Fatalf("the export of the items does not import: %v\n%s", err, buf.Bytes())
		}
		if back.nInvalid != 0 {
			t.Fatalf("the export of the items has invalid rows: %+v\n%s", back.invalid, buf.Bytes())
		}
		if len(back.items) != len(p.items) {
			t.Fatalf("%d items became %d", len(p.items), len(back.items))
		}
		for i, it := range p.items {
			for _, v := range []**string{&it.SKU, &it.Barcode, &it.Email, &it.Name} {
				if *v == nil {
					*v = new(string) // an export writes every column
				}
			}
			if !reflect.DeepEqual(it, back.items[i]) {
				t.Fatalf("item %d changed on the way back:\n%#v\n%#v", i, it, back.items[i])
			}
		}
	})
}

// storable fails when PostgreSQL could not store s in a text column.
func storable(t *testing.T, name, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		t.Fatalf("%s %q cannot be stored as text", name, s)
	}
}

package mask_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store/mask"
)

func TestValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"jane.doe@example.com": "j•••@example.com",
		"Jane Doe":             "J••• D•••",
		"Émile Zola":           "É••• Z•••",
		"+44 20 7946 0958":     "•••58",
		"":                     "",
	} {
		require.Equal(t, want, mask.Value(in), in)
	}
}

// A nil masker (a role that sees personal data) changes nothing; a masker
// hides e-mails anywhere, the names it knows, and in JSON the personal
// fields by key and a person's or an address's "name" — never an order's
// name, an amount, a SKU or an id.
func TestMasker(t *testing.T) {
	t.Parallel()
	var none *mask.Masker
	doc := []byte(`{"name":"#1001","total":"120.00","id":9007199254740993,"email":"jane.doe@example.com",
"customer":{"first_name":"Jane","last_name":"Doe","phone":"+44 20 7946 0958"},
"shipping_address":{"name":"Jane Doe","address1":"4 Privet Drive","zip":"SW1"},"lines":[{"sku":"FURN-0042","title":"Chair"}],
"note":"call Jane Doe"}`)
	require.Equal(t, string(doc), string(none.JSON(doc)))
	require.Equal(t, "Jane Doe (jane@x.org)", none.Text("Jane Doe (jane@x.org)"))
	require.Equal(t, "a@b.co", none.Whole("a@b.co"))

	m := mask.New().WithDocs(doc)
	got := string(m.JSON(doc))
	for _, gone := range []string{"jane.doe@example.com", "Jane", "Doe", "Privet", "7946", "SW1"} {
		require.NotContains(t, got, gone)
	}
	for _, kept := range []string{`"name":"#1001"`, `"total":"120.00"`, `9007199254740993`, `"FURN-0042"`, `"Chair"`, `"call J••• D•••"`} {
		require.Contains(t, got, kept)
	}
	require.Equal(t, "Odoo refused J••• D••• (j•••@example.com); also w•••@shop.test",
		m.Text("Odoo refused Jane Doe (jane.doe@example.com); also who@shop.test"))
	require.Equal(t, "not json j•••@example.com", string(m.JSON([]byte("not json jane.doe@example.com"))))
}

func TestValues(t *testing.T) {
	t.Parallel()
	vs := mask.Values([]byte(`{"name":"#1001","email":"ada@example.com","customer":{"first_name":"Ada","last_name":"Lovelace"},
"partner":{"Name":"Ada Lovelace"},"line":{"name":"Chair","sku":"X-1"},"phone":"12","zip":"69001"}`), []byte(`not json`))
	require.Equal(t, []string{"ada@example.com", "Ada Lovelace", "Lovelace"}, vs, "longest first; no order or product name, short value, zip")
}

// The same customer is the same fake person under one key, at example.com.
func TestPseudonym(t *testing.T) {
	t.Parallel()
	key := []byte("k")
	a, b := mask.Pseudonym(key, "Jane@Example.com"), mask.Pseudonym(key, " jane@example.com")
	require.Equal(t, a, b)
	require.Regexp(t, `^[a-z]+\.[a-z]+\.[0-9a-f]{8}@example\.com$`, a.Email)
	require.NotEqual(t, a, mask.Pseudonym([]byte("other"), "jane@example.com"))
	require.Len(t, mask.PersonKey(key, "jane@example.com"), 16)
}

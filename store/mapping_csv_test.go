package store_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

func TestImportCSVPreviewAndApprove(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.shop.ID, "A", "s1", "A"), set("variant", e.odoo.ID, "A", "o1", "A"), set("variant", e.shop.ID, "B", "s2", "B"))

	// BOM, semicolons, a quoted field with the separator and a doubled quote,
	// Windows line endings, connection by name in any case.
	file := "\ufefftype;connection;external_id;entity_key;sku;action\r\n" +
		"variant;main store;s1;A;A;\r\n" + // unchanged
		"variant;Odoo;o2;A;A;\r\n" + // change: A's only Odoo reference becomes o2
		"variant;Main store;s2;;;remove\r\n" + // remove
		"variant;Main store;s3;\"C; \"\"the big one\"\"\";C;\r\n" + // add, new entity
		"\r\n"
	res, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(file), "catalogue.csv", "quarterly clean-up")
	require.NoError(t, err)
	cs := res.ChangeSet
	require.Equal(t, 4, res.Rows)
	require.Equal(t, store.ChangeSetDraft, cs.Status)
	require.Equal(t, [4]int{1, 1, 1, 1}, [4]int{cs.NAdd, cs.NChange, cs.NRemove, cs.NUnchanged})
	require.Zero(t, cs.NInvalid)
	require.Zero(t, cs.NConflicts)
	items, _, err := e.st.ChangeSetItems(ctx, cs.ID, store.ItemFilter{})
	require.NoError(t, err)
	require.Equal(t, `C; "the big one"`, items[3].EntityKey)
	require.Equal(t, 5, items[3].Line, "lines are the file's lines")
	require.Nil(t, items[0].Name, "a column the file leaves out keeps its value")

	_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin2, cs.ID, "")
	require.NoError(t, err)
	got, unmapped, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", []string{"s1", "s2", "s3"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"s1": "o2"}, got)
	require.Equal(t, []string{"s2", "s3"}, unmapped)

	// Export, then import the export: every row is unchanged.
	var buf bytes.Buffer
	n, err := e.st.ExportMappingsCSV(ctx, &buf, store.MappingFilter{}, nil)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.True(t, strings.HasPrefix(buf.String(), strings.Join(store.MappingCSVColumns, ",")+"\n"))
	before, _, err := e.st.ListChangeSets(ctx, store.ChangeSetFilter{})
	require.NoError(t, err)
	res, err = e.st.ImportMappingsCSV(ctx, e.oper, &buf, "export.csv", "")
	require.NoError(t, err)
	require.True(t, res.Nothing, "an import that changes nothing says so")
	require.Equal(t, 3, res.ChangeSet.NUnchanged)
	require.Zero(t, res.ChangeSet.ID, "and leaves no empty draft")
	after, _, err := e.st.ListChangeSets(ctx, store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before))
}

func TestImportCSVBadInput(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()

	fileErrors := []struct {
		name, file, text string
	}{
		{"empty file", "", "The file is empty"},
		{"wrong header", "kind,system,id\nvariant,Odoo,1\n", `Unknown column "kind"`},
		{"missing column", "type,connection,entity_key\nvariant,Odoo,A\n", `no "external_id" column`},
		{"duplicate column", "type,connection,external_id,sku,sku\n", `"sku" appears twice`},
		{"header only", "type,connection,external_id,entity_key\n", "no rows"},
		{"non-UTF-8 header", "type,conn\xe9ction,external_id\n", "not UTF-8"},
	}
	for _, tc := range fileErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(tc.file), "x.csv", "")
			var ie store.ImportError
			require.ErrorAs(t, err, &ie)
			require.Contains(t, ie.Error(), tc.text)
		})
	}

	file := "type,connection,external_id,entity_key,name,action\n" +
		"variant,Odoo,1,A,ok,\n" + // line 2: fine
		"spaceship,Odoo,2,B,,\n" + // 3: unknown type
		"variant,Odoo,,B,,\n" + // 4: empty id
		"variant,Odoo,1,C,,\n" + // 5: duplicate of line 2
		"variant,Nowhere,3,C,,\n" + // 6: unknown connection
		"variant,Odoo,4,D,caf\xe9,\n" + // 7: Latin-1
		"variant,Odoo,5,E,\"bad \"quote\",\n" + // 8: bad quoting
		"variant,Odoo,6\n" + // 9: too few fields
		"variant,Odoo,7,,,\n" + // 10: no entity key
		"variant,Odoo,8,F,,explode\n" + // 11: unknown action
		"variant,Odoo,9,G\x00,,\n" // 12: a NUL byte, which PostgreSQL cannot store
	res, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(file), "bad.csv", "")
	require.NoError(t, err)
	cs := res.ChangeSet
	require.Equal(t, 10, cs.NInvalid)
	require.Equal(t, 1, cs.NAdd)
	issues, err := e.st.ChangeSetIssues(ctx, cs.ID, 0)
	require.NoError(t, err)
	byLine := map[int]string{}
	for _, is := range issues {
		require.Equal(t, store.IssueInvalid, is.Kind)
		byLine[is.Line] = is.Message
	}
	for line, text := range map[int]string{
		3: `Unknown type "spaceship"`, 4: "external_id is empty", 5: "repeats the Odoo id 1 of line 2", 6: `no connection named "Nowhere"`,
		7: "not UTF-8", 8: "quote", 9: "has 3 values but the header has 6", 10: "entity_key is empty", 11: `Unknown action "explode"`,
		12: "cannot be stored (a NUL byte",
	} {
		require.Contains(t, byLine[line], text, "line %d", line)
	}
	_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.ErrorIs(t, err, store.ErrHasInvalidRows, "nothing is partially applied")
	v, err := e.st.CurrentVersion(ctx)
	require.NoError(t, err)
	require.Zero(t, v)
}

func TestImportCSVManyRows(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	var b strings.Builder
	b.WriteString("type,connection,external_id,entity_key,sku\n")
	const n = 20_000
	for i := range n {
		fmt.Fprintf(&b, "variant,Main store,gid://shopify/ProductVariant/%d,SKU-%06d,SKU-%06d\n", i, i, i)
	}
	res, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(b.String()), "big.csv", "")
	require.NoError(t, err)
	require.Equal(t, n, res.ChangeSet.NAdd)
	_, err = e.st.SubmitChangeSet(ctx, e.oper, res.ChangeSet.ID)
	require.NoError(t, err)
	cs, err := e.st.ApproveChangeSet(ctx, e.admin1, res.ChangeSet.ID, "")
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetApproved, cs.Status)
	rows, _, err := e.st.ListMappings(ctx, store.MappingFilter{Query: "SKU-001234"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
}

// A NUL character (which PostgreSQL text cannot hold) in a row makes that
// row invalid, with its line and the reason in words, under the import's
// rule for invalid rows: the other rows are checked and counted, and the
// draft cannot be submitted until the file is corrected. A NUL in the file
// name or the reason does not fail the import with a database error either.
func TestImportCSVRowWithNUL(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	file := "type,connection,external_id,entity_key,sku,name\n" +
		"variant,Odoo,1,A,A-1,Oak chair\n" + // line 2: fine
		"variant,Odoo,2,B,B-\x002,Pine chair\n" + // 3: NUL in the SKU
		"variant,Odoo,3,C,C-3,Ash\x00 table\n" + // 4: NUL in the name
		"variant,Odoo,4,D,D-4,Elm desk\n" // 5: fine
	res, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(file), "nul\x00.csv", "")
	require.NoError(t, err)
	cs := res.ChangeSet
	require.Equal(t, 4, res.Rows)
	require.Equal(t, 2, cs.NInvalid)
	require.Equal(t, 2, cs.NAdd)
	require.Equal(t, "Import of mappings.csv", cs.Title)
	issues, err := e.st.ChangeSetIssues(ctx, cs.ID, 0)
	require.NoError(t, err)
	byLine := map[int]string{}
	for _, is := range issues {
		byLine[is.Line] = is.Message
	}
	require.Equal(t, "The sku contains a character that cannot be stored (a NUL byte, often left by the program that wrote the file). Remove it and import the file again.", byLine[3])
	require.Contains(t, byLine[4], "The name contains a character that cannot be stored (a NUL byte")
	require.Len(t, byLine, 2)
	_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.ErrorIs(t, err, store.ErrHasInvalidRows)

	_, err = e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(file), "x.csv", "fix\x00")
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["reason"], "a character that cannot be stored (a NUL byte)")
}

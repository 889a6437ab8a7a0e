package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// A file over the row cap is refused whole, in words, before anything is
// stored: no draft is left behind.
func TestImportCSVRefusesMoreRowsThanTheCap(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	var b strings.Builder
	b.WriteString("type,connection,external_id,entity_key\n")
	for range store.MaxImportRows + 1 {
		b.WriteString("variant,Main store,s,K\n")
	}
	_, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(b.String()), "huge.csv", "")
	var ie store.ImportError
	require.True(t, errors.As(err, &ie), "a whole-file problem, got %v", err)
	require.Equal(t, "The file has more than 200000 rows. Split it into smaller files and import each.", ie.Message)
	var n int
	require.NoError(t, e.st.DB.GetContext(ctx, &n, `SELECT count(*) FROM change_sets`))
	require.Zero(t, n, "nothing was stored")
}

// Blank lines (empty, spaces only, separators only) are not rows: they are
// neither counted, nor invalid, nor shift the line numbers of the rows.
func TestImportCSVSkipsBlankLines(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	file := "type,connection,external_id,entity_key\n" +
		"\n" + // line 2
		"variant,Main store,s1,A\n" + // line 3
		"   \n" + // line 4
		",,,\n" + // line 5
		"\r\n" + // line 6
		"variant,Odoo,o1,A\n" + // line 7
		"\n\n"
	res, err := e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader(file), "gaps.csv", "")
	require.NoError(t, err)
	require.Equal(t, 2, res.Rows)
	require.Zero(t, res.ChangeSet.NInvalid)
	require.Equal(t, 2, res.ChangeSet.NAdd)
	items, _, err := e.st.ChangeSetItems(ctx, res.ChangeSet.ID, store.ItemFilter{})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, []int{3, 7}, []int{items[0].Line, items[1].Line}, "lines are the file's lines")

	_, err = e.st.ImportMappingsCSV(ctx, e.oper, strings.NewReader("type,connection,external_id,entity_key\n\n  \n,,,\n"), "empty.csv", "")
	require.EqualError(t, err, "The file has a header but no rows.")
}

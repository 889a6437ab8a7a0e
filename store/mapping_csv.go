package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crossdock/store/mask"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lib/pq"

	"crossdock/store/csvfile"
	"crossdock/vocab"
)

// MappingCSVColumns is the header of mapping CSV files, as exported. An
// import needs type, connection and external_id; entity_key is needed to add
// or change; a key column left out keeps the current values; action is
// empty (add or change) or "remove".
var MappingCSVColumns = []string{"type", "connection", "external_id", "entity_key", "sku", "barcode", "email", "name", "action"}

// Import limits.
const (
	MaxImportBytes = 30 << 20
	MaxImportRows  = MaxChangeSetRow
	// Beyond this many invalid rows the report stops listing them (it still counts them).
	maxListedInvalid = 10_000
)

// ImportError is a problem with the whole file (header, size, encoding):
// nothing was imported.
type ImportError struct {
	Line    int
	Message string
}

func (e ImportError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("Line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ImportResult is what an import made: the draft and its invalid row count.
type ImportResult struct {
	ChangeSet ChangeSet
	Rows      int // data rows read
	// Nothing: every row is already mapped that way, so no draft was kept
	// (ChangeSet is zero but for NUnchanged).
	Nothing bool
}

type invalidRow struct {
	line int
	msg  string
}

// ImportMappingsCSV reads a mapping CSV into a draft proposed change, checked
// against the current mappings: counts of rows to add, change, remove or
// leave unchanged, each invalid row with its line and reason, and the
// conflicts. Nothing is applied until the proposed change is approved, and a draft
// with invalid rows cannot be submitted. The file is read as a stream; a UTF-8
// BOM, comma or semicolon separators, quoted fields and CRLF line ends are
// accepted.
func (s *Store) ImportMappingsCSV(ctx context.Context, a Actor, r io.Reader, fileName, reason string) (ImportResult, error) {
	types, err := s.EntityTypes(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	conns, err := s.ListConnections(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	p, err := parseMappingCSV(r, types, conns)
	if err != nil {
		return ImportResult{}, err
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxReasonLen {
		return ImportResult{}, vocab.FieldErrors{"reason": fmt.Sprintf("The reason must be at most %d characters.", MaxReasonLen)}
	}
	if strings.ContainsRune(reason, 0) {
		return ImportResult{}, vocab.FieldErrors{"reason": "The reason contains a character that cannot be stored (a NUL byte). Remove it and try again."}
	}
	fileName = strings.TrimSpace(fileName)
	if utf8.RuneCountInString(fileName) > MaxTitleLen || !utf8.ValidString(fileName) || strings.ContainsRune(fileName, 0) {
		fileName = "mappings.csv"
	}
	var res ImportResult
	res.Rows = p.rows
	err = s.InTx(ctx, func(tx *Tx) error {
		cs, err := tx.insertChangeSet(ctx, a, NewChangeSet{Title: "Import of " + fileName, Reason: reason, Source: SourceImport, FileName: fileName})
		if err != nil {
			return err
		}
		if err := tx.copyItems(ctx, cs.ID, 0, p.items, p.lines...); err != nil {
			return err
		}
		if err := tx.copyInvalid(ctx, cs.ID, p.invalid, p.nInvalid); err != nil {
			return err
		}
		if res.ChangeSet, err = tx.checkChangeSet(ctx, cs.ID); err != nil {
			return err
		}
		if p.nInvalid > len(p.invalid) {
			// Rows beyond the listed ones still count.
			if err := sqlxGet(ctx, tx.q, &res.ChangeSet, `UPDATE change_sets SET n_invalid = $2 WHERE id = $1 RETURNING `+changeSetColumns, cs.ID, p.nInvalid); err != nil {
				return fmt.Errorf("store: count invalid rows: %w", err)
			}
		}
		cs = res.ChangeSet
		if cs.Changes() == 0 && cs.NInvalid == 0 && cs.NConflicts == 0 {
			// Nothing to propose: roll the draft back rather than leave an
			// empty one behind.
			return errNothingImported
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.created", ObjectType: "change_set", ObjectID: strconv.FormatInt(cs.ID, 10),
			Summary: fmt.Sprintf("Imported %s into proposed change #%d: %d rows, %s, %d invalid", fileName, cs.ID, p.rows, describeCounts(cs), cs.NInvalid),
			After:   auditChangeSet(cs)})
	})
	if errors.Is(err, errNothingImported) {
		res.Nothing, res.ChangeSet = true, ChangeSet{NUnchanged: res.ChangeSet.NUnchanged}
		return res, nil
	}
	return res, err
}

// errNothingImported rolls back an import whose every row is already mapped
// that way.
var errNothingImported = errors.New("store: the import changes nothing")

func (tx *Tx) copyInvalid(ctx context.Context, csID int64, rows []invalidRow, total int) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.tx.PrepareContext(ctx, pq.CopyIn("change_set_issues", "change_set_id", "line", "kind", "message", "resolution"))
	if err != nil {
		return fmt.Errorf("store: copy invalid rows: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, csID, r.line, IssueInvalid, r.msg, "Correct this line in the file and import it again."); err != nil {
			return fmt.Errorf("store: copy invalid row: %w", err)
		}
	}
	if total > len(rows) {
		if _, err := stmt.ExecContext(ctx, csID, 0, IssueInvalid, fmt.Sprintf("%d more invalid rows are not listed.", total-len(rows)),
			"Correct the rows listed, import again, and the rest will be listed."); err != nil {
			return fmt.Errorf("store: copy invalid row: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: copy invalid rows: %w", err)
	}
	return nil
}

type parsedCSV struct {
	items    []ItemInput
	lines    []int
	invalid  []invalidRow
	nInvalid int
	rows     int
}

func (p *parsedCSV) bad(line int, format string, args ...any) {
	p.nInvalid++
	if len(p.invalid) < maxListedInvalid {
		p.invalid = append(p.invalid, invalidRow{line: line, msg: fmt.Sprintf(format, args...)})
	}
}

func detectSeparator(br *bufio.Reader) rune {
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	if bytes.Count(head, []byte{';'}) > bytes.Count(head, []byte{','}) {
		return ';'
	}
	return ','
}

func parseMappingCSV(r io.Reader, types []EntityType, conns []Connection) (*parsedCSV, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3) //nolint:errcheck
	}
	cr := csv.NewReader(br)
	cr.Comma = detectSeparator(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ImportError{Message: "The file is empty. Start from the template: its first line names the columns."}
	}
	if err != nil {
		return nil, ImportError{Line: 1, Message: "The header line could not be read: " + csvReason(err)}
	}
	header = slices.Clone(header) // ReuseRecord: the next Read writes over it
	col := map[string]int{}
	known := map[string]bool{}
	for _, c := range MappingCSVColumns {
		known[c] = true
	}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, ImportError{Line: 1, Message: "The file is not UTF-8 text. Save it as \"CSV UTF-8\" and import it again."}
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "" && i == len(header)-1:
			continue // a trailing separator
		case !known[h]:
			return nil, ImportError{Line: 1, Message: fmt.Sprintf("Unknown column %q in the header. The columns are: %s.", h, strings.Join(MappingCSVColumns, ", "))}
		}
		if _, dup := col[h]; dup {
			return nil, ImportError{Line: 1, Message: fmt.Sprintf("The column %q appears twice in the header.", h)}
		}
		col[h] = i
	}
	for _, req := range []string{"type", "connection", "external_id"} {
		if _, ok := col[req]; !ok {
			return nil, ImportError{Line: 1, Message: fmt.Sprintf("The header has no %q column. The columns are: %s.", req, strings.Join(MappingCSVColumns, ", "))}
		}
	}
	typeByKey := typeSet(types)
	typeNames := make([]string, len(types))
	for i, t := range types {
		typeNames[i] = t.Key
	}
	connByName := map[string]int64{}
	for _, c := range conns {
		connByName[strings.ToLower(c.Name)] = c.ID
		connByName[strconv.FormatInt(c.ID, 10)] = c.ID
	}
	type extKey struct {
		typ  string
		conn int64
		ext  string
	}
	firstLine := map[extKey]int{}
	p := &parsedCSV{}
	get := func(rec []string, name string) (string, bool) {
		i, ok := col[name]
		if !ok {
			return "", false
		}
		// An exported cell that would read as a formula was written with a
		// leading quote: read back, it is the value again.
		return strings.TrimSpace(csvfile.Unescape(rec[i])), true
	}
	opt := func(rec []string, name string) *string {
		if v, ok := get(rec, name); ok {
			return &v
		}
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			if errors.As(err, &pe) {
				p.rows++
				p.bad(pe.StartLine, "%s", csvReason(err))
				continue
			}
			return nil, ImportError{Message: "The file could not be read: " + err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if isBlank(rec) {
			continue
		}
		p.rows++
		if p.rows > MaxImportRows {
			return nil, ImportError{Message: fmt.Sprintf("The file has more than %d rows. Split it into smaller files and import each.", MaxImportRows)}
		}
		if len(rec) != len(header) {
			p.bad(line, "This line has %d values but the header has %d columns. Check for a missing or extra separator.", len(rec), len(header))
			continue
		}
		if !validUTF8(rec) {
			p.bad(line, "This line is not UTF-8 text (accented letters may be garbled). Save the file as \"CSV UTF-8\" and import it again.")
			continue
		}
		// PostgreSQL text cannot hold U+0000: the row is invalid on its own,
		// rather than the whole import failing in the database.
		if i := slices.IndexFunc(rec, func(f string) bool { return strings.ContainsRune(f, 0) }); i >= 0 {
			name := strings.ToLower(strings.TrimSpace(header[i]))
			p.bad(line, "The %s contains a character that cannot be stored (a NUL byte, often left by the program that wrote the file). "+
				"Remove it and import the file again.", cmp.Or(name, "value in column "+strconv.Itoa(i+1)))
			continue
		}
		typ, _ := get(rec, "type")
		typ = strings.ToLower(typ)
		connName, _ := get(rec, "connection")
		ext, _ := get(rec, "external_id")
		key, _ := get(rec, "entity_key")
		action, _ := get(rec, "action")
		it := ItemInput{EntityType: typ, ExternalID: ext, EntityKey: key,
			SKU: opt(rec, "sku"), Barcode: opt(rec, "barcode"), Email: opt(rec, "email"), Name: opt(rec, "name")}
		switch strings.ToLower(action) {
		case "", "set", "add", "change":
			it.Op = OpSet
		case "remove", "delete":
			it.Op = OpRemove
		default:
			p.bad(line, "Unknown action %q: leave it empty to add or change, or write \"remove\".", action)
			continue
		}
		if _, ok := typeByKey[typ]; !ok {
			if typ == "" {
				p.bad(line, "The type is empty. Use one of: %s.", strings.Join(typeNames, ", "))
			} else {
				p.bad(line, "Unknown type %q. Use one of: %s.", typ, strings.Join(typeNames, ", "))
			}
			continue
		}
		conn, ok := connByName[strings.ToLower(connName)]
		if !ok {
			if connName == "" {
				p.bad(line, "The connection is empty. Write the name of the system, as on the Connections page.")
			} else {
				p.bad(line, "There is no connection named %q. Write the name of the system, as on the Connections page.", connName)
			}
			continue
		}
		it.ConnectionID = conn
		switch {
		case ext == "":
			p.bad(line, "The external_id is empty: write the id the system uses for this record.")
			continue
		case it.Op == OpSet && key == "":
			p.bad(line, "The entity_key is empty: write the key (usually the SKU or email) this id belongs to.")
			continue
		}
		if msg := tooLong(it); msg != "" {
			p.bad(line, "%s", msg)
			continue
		}
		k := extKey{typ, conn, ext}
		if prev, dup := firstLine[k]; dup {
			p.bad(line, "This line repeats the %s id %s of line %d. A file says one thing about each id: keep one of the two lines.", connName, ext, prev)
			continue
		}
		firstLine[k] = line
		p.items = append(p.items, it)
		p.lines = append(p.lines, line)
	}
	if p.rows == 0 {
		return nil, ImportError{Message: "The file has a header but no rows."}
	}
	return p, nil
}

func tooLong(it ItemInput) string {
	for name, v := range map[string]*string{"external_id": &it.ExternalID, "entity_key": &it.EntityKey, "sku": it.SKU,
		"barcode": it.Barcode, "email": it.Email, "name": it.Name} {
		if v != nil && utf8.RuneCountInString(*v) > MaxKeyLen {
			return fmt.Sprintf("The %s is longer than %d characters.", name, MaxKeyLen)
		}
	}
	return ""
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func validUTF8(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			return "A quoted value is not closed, or has a stray quote. Inside quotes, write a quote as two quotes (\"\")."
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return "A quote appears inside a value that is not quoted. Put the whole value in quotes and double the inner quote (\"\")."
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// ExportMappingsCSV writes the current references of the entities matching
// f as a mapping CSV (the import format), page by page, and returns the
// number of rows written. A masker hides customers' e-mails and names, as
// the pages do for the person exporting (nil: written whole).
func (q q) ExportMappingsCSV(ctx context.Context, w io.Writer, f MappingFilter, m *mask.Masker) (int, error) {
	cw := csvfile.NewWriter(w)
	if err := cw.Write(MappingCSVColumns); err != nil {
		return 0, err
	}
	n := 0
	f.AfterKey, f.AfterID = "", 0
	for {
		ents, err := q.listEntities(ctx, f, 2000)
		if err != nil {
			return n, err
		}
		if len(ents) == 0 {
			break
		}
		rows, err := q.withRefs(ctx, ents)
		if err != nil {
			return n, err
		}
		for _, r := range rows {
			for _, ref := range r.Refs {
				key := r.Entity.Key
				if ref.EntityType == "customer" {
					key, ref.Email, ref.Name = m.Whole(key), m.Whole(ref.Email), m.Whole(ref.Name)
				}
				if err := cw.Write([]string{ref.EntityType, ref.ConnectionName, ref.ExternalID, key, ref.SKU, ref.Barcode,
					ref.Email, ref.Name, ""}); err != nil {
					return n, err
				}
				n++
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
		last := ents[len(ents)-1]
		f.AfterKey, f.AfterID = last.Key, last.ID
		if len(ents) < 2000 {
			break
		}
	}
	cw.Flush()
	return n, cw.Error()
}

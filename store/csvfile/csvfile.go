// Package csvfile writes the CSV files people download from Crossdock
// (mapping, reconciliation and finance exports), safe to open in a
// spreadsheet.
//
// A cell that starts with =, +, -, @, a tab or a carriage return is read by
// Excel, LibreOffice and Google Sheets as a formula: an exported SKU, note or
// name such as =HYPERLINK(...) or +cmd|'/C calc'!A0, typed in Shopify or Odoo
// by anyone, would run on the reader's machine. Every cell written here that
// starts so is prefixed with a single quote, which spreadsheets show as text
// (the OWASP rule); a plain number such as -12.5 is left as it is.
package csvfile

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// formulaStarts are the first characters that make a cell a formula.
const formulaStarts = "=+-@\t\r"

// Writer is an encoding/csv writer that escapes formula cells.
type Writer struct {
	w   *csv.Writer
	rec []string
}

// NewWriter returns a writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell escaped.
func (w *Writer) Write(record []string) error {
	w.rec = w.rec[:0]
	for _, cell := range record {
		w.rec = append(w.rec, Escape(cell))
	}
	return w.w.Write(w.rec)
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports an error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

// Escape is the cell as a spreadsheet must read it: text, never a formula.
func Escape(cell string) string {
	if cell == "" || !strings.ContainsRune(formulaStarts, rune(cell[0])) {
		return cell
	}
	if _, err := strconv.ParseFloat(cell, 64); err == nil && cell[0] != '\t' && cell[0] != '\r' {
		return cell // -12.5, +3: a number, not a formula
	}
	return "'" + cell
}

// Unescape undoes Escape, for files Crossdock reads back (a mapping export
// edited and imported again).
func Unescape(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune(formulaStarts, rune(cell[1])) {
		return cell[1:]
	}
	return cell
}

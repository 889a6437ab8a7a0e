// Package migrations holds the SQL schema of Crossdock as numbered goose
// migrations, embedded into the binary and applied at start.
package migrations

import "embed"

// FS holds every migration file; store.Migrate applies them in order.
//
//go:embed *.sql
var FS embed.FS

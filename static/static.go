// Package static holds the stylesheet and the vendored htmx, embedded into the binary.
package static

import "embed"

// FS holds the files served under /static/.
//
//go:embed *.css *.js
var FS embed.FS

// HTMX is the vendored htmx file (2.0.11, from npm's htmx.org package).
const HTMX = "htmx-2.0.11.min.js"

# Crossdock — the commands the README promises.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# Go 1.26.8 has standard-library vulnerabilities that Crossdock's code reaches
# (net/http, crypto/tls, crypto/x509, mime/multipart, os: fixed in 1.26.9 and
# 1.26.10); go1.27.3 has none. The go command fetches it once from the module
# proxy (about 76 MB) and uses it for every command below.
export GOTOOLCHAIN ?= go1.27.3

# The Go vulnerability database as a module, for govulncheck without network.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018

.PHONY: run build test check bench generate vuln vulndb fuzz npm-deps

## run: build and start Crossdock (embedded PostgreSQL unless DATABASE_URL is set)
run: build
	./bin/crossdock serve

## build: the one binary, in ./bin/crossdock
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/crossdock ./cmd/crossdock

## test: every test (unit, database, HTTP, browser), after the static checks
test: check npm-deps
	$(GO) test -race -count=1 -timeout 20m ./...

# The npm client the QuickBooks twin is proven against (node-quickbooks, pinned by its
# package-lock.json; connectors/quickbooks/sandbox/node_client_test.go).
NODE_PROOF := connectors/quickbooks/sandbox/testdata/nodeqb

## npm-deps: install node-quickbooks into $(NODE_PROOF)/node_modules (ignored by git) with npm ci,
## again only when its package-lock.json changes. Without npm it says so, and fails in CI (CI set)
npm-deps:
	@if [ -f $(NODE_PROOF)/node_modules/.package-lock.json ] && [ ! $(NODE_PROOF)/package-lock.json -nt $(NODE_PROOF)/node_modules/.package-lock.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then cd $(NODE_PROOF) && npm ci --no-audit --no-fund --loglevel=error; \
	elif [ -n "$$CI" ]; then echo "npm is missing: apt-get install nodejs npm"; exit 1; \
	else echo "npm-deps skipped: npm is not installed (apt-get install nodejs npm); the node-quickbooks test skips outside CI"; fi

## check: formatting, vet, the layering rule (layers_test.go) and generated templates up to date
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run '^TestLayers$$' .
	$(GO) tool templ generate -check
	@$(MAKE) --no-print-directory vuln

## vuln: govulncheck over every package; it is skipped, saying so, when its database cannot be
## reached. Offline: make vulndb, then make vuln VULNDB=file://$$PWD/.vulndb
vuln:
	@out=$$($(GO) tool govulncheck $(if $(VULNDB),-db $(VULNDB)) ./... 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] && printf '%s\n' "$$out" | grep -q '^govulncheck: fetching vulnerabilities'; then \
		echo "govulncheck skipped: its vulnerability database cannot be reached (offline: make vulndb && make vuln VULNDB=file://$(CURDIR)/.vulndb)"; \
	else printf '%s\n' "$$out"; exit $$rc; fi

## vulndb: an offline copy of the Go vulnerability database in ./.vulndb, indexed from the
## golang.org/x/vulndb module (VULNDB_VERSION) taken from the Go module proxy
vulndb:
	@dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	test -n "$$dir" && rm -rf .vulndb && $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$dir/data/osv" -out .vulndb && \
	echo "offline database in .vulndb: make vuln VULNDB=file://$(CURDIR)/.vulndb"

## generate: regenerate templ components after editing *.templ
generate:
	$(GO) tool templ generate

## fuzz: every fuzz target for FUZZTIME each, one after another (failures land in testdata/fuzz)
FUZZTIME ?= 1m
# Go minimizes each new interesting input for up to a minute by default: on a short run that is most of it.
FUZZMINIMIZETIME ?= 10s
FUZZ_TARGETS := \
	./engine/:FuzzPlanEvent \
	./store/:FuzzParseMappingCSV \
	./connectors/shopify/:FuzzReadAnswer \
	./connectors/shopify/:FuzzWebhookHeaders \
	./connectors/shopify/sandbox/:FuzzGraphQL \
	./connectors/odoo/:FuzzCall \
	./connectors/odoo/sandbox/:FuzzDomain
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel 1 $$pkg; \
	done

## bench: the committed benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

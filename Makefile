# Crossdock — the commands the README promises.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test check bench generate fuzz

## run: build and start Crossdock (embedded PostgreSQL unless DATABASE_URL is set)
run: build
	./bin/crossdock serve

## build: the one binary, in ./bin/crossdock
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/crossdock ./cmd/crossdock

## test: every test (unit, database, HTTP, browser), after the static checks
test: check
	$(GO) test -race -count=1 -timeout 20m ./...

## check: formatting, vet and generated templates up to date
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool templ generate -check

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

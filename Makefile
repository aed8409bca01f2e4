# The repository's own scripts install what the tests need, idempotently.
GO        ?= go
FUZZTIME  ?= 20s
NODE_DIR  := e2e/node

.PHONY: test check vet fmt unit fuzz e2e-deps interop conformance-server

## test: everything CI runs: format, vet, unit and e2e tests under -race, bounded fuzzing
test: check e2e-deps unit fuzz

check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

## fuzz: every Fuzz* target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## e2e-deps: Node packages of the interop tests (pinned by package-lock.json)
e2e-deps: $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

conformance-server:
	$(GO) run ./e2e/conformance/server -addr 127.0.0.1:3000

# The repository's own scripts install what the tests need, idempotently.
GO        ?= go
FUZZTIME  ?= 20s
NODE_DIR  := e2e/node
CHAT_DIR  := examples/chat
BROWSER_DIR := examples/chat/e2e
# MODULES are the Go modules of the repository (tied by go.work).
MODULES   := . adapter/redis

.PHONY: test check vet fmt unit fuzz e2e-deps interop conformance-server chat chat-deps browser-deps chromium redis

## test: everything CI runs: format, vet, unit, e2e and browser tests under -race, bounded fuzzing
test: check e2e-deps chat-deps browser-deps redis unit fuzz

check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

unit:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 -timeout 15m ./...); done

## fuzz: every Fuzz* target for FUZZTIME each
fuzz:
	@set -e; for m in $(MODULES); do for pkg in $$(cd $$m && $(GO) list ./...); do \
	  for f in $$(cd $$m && $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    (cd $$m && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg); \
	  done; \
	done; done

## e2e-deps: Node packages of the interop tests (pinned by package-lock.json)
e2e-deps: $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

conformance-server:
	$(GO) run ./e2e/conformance/server -addr 127.0.0.1:3000

## chat: the socket.io tutorial's chat app (examples/chat) on ADDR (default localhost:3000),
## messages in the SQLite file DB (default chat.db here); both may be given as variables or env
chat: chat-deps
	$(GO) run ./examples/chat $(if $(ADDR),-addr '$(ADDR)') $(if $(DB),-db '$(DB)')

## chat-deps: the socket.io-client bundle the chat serves (pinned by examples/chat/package-lock.json)
chat-deps: $(CHAT_DIR)/node_modules/.package-lock.json

$(CHAT_DIR)/node_modules/.package-lock.json: $(CHAT_DIR)/package-lock.json
	cd $(CHAT_DIR) && npm ci --no-audit --no-fund
	@touch $@

## browser-deps: Debian's chromium (installed with apt-get, as root, only when missing) and
## playwright-core (pinned by examples/chat/e2e/package-lock.json) for the chat's browser test
browser-deps: chromium $(BROWSER_DIR)/node_modules/.package-lock.json

## redis: Debian's redis-server (installed with apt-get, as root, only when missing) for the Redis
## adapter tests, which start their own servers on free loopback ports
redis:
	@command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)

chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

$(BROWSER_DIR)/node_modules/.package-lock.json: $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund
	@touch $@

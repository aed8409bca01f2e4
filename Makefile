# The repository's own scripts install what the tests need, idempotently.
GO        ?= go
# FUZZ_EXECS: how many inputs `make fuzz` runs per target, about 20 s of
# each on the 2-core machine of the docs (docs/advisories.md). A count, not
# a duration: with -fuzztime as a duration, Go 1.26's fuzzing coordinator
# can fail a clean run with "context deadline exceeded" as the time runs
# out (golang/go#75804, fixed in Go 1.27). FUZZTIME=30m (say) runs each
# target for that time instead.
FUZZ_EXECS := parser/FuzzJSONDecode=800000 parser/FuzzJSONBinary=800000 \
  msgpack/FuzzDecode=800000 msgpack/FuzzUnmarshal=350000 \
  engineio/FuzzClientPolling=250000 engineio/FuzzPollingPost=280000 engineio/FuzzWebSocketFrames=150000 \
  packet/FuzzDecodeText=1500000 packet/FuzzDecode=1500000 packet/FuzzDecodePayload=1300000 \
  client/FuzzClientPackets=250000 \
  redis/FuzzClassicMessage=300000 redis/FuzzShardedMessage=300000 redis/FuzzStreamEntry=180000
FUZZ_DEFAULT_EXECS := 200000
FUZZTIME  ?=
NODE_DIR  := e2e/node
CHAT_DIR  := examples/chat
BROWSER_DIR := examples/chat/e2e
# MODULES are the Go modules of the repository (tied by go.work).
MODULES   := . adapter/redis examples/chat bench

.PHONY: test check vet fmt unit fuzz e2e-deps interop conformance-server chat chat-deps browser-deps chromium redis bench-crossnode bench-compare

## test: everything CI runs: format, vet, unit, e2e and browser tests under -race, bounded fuzzing
test: check e2e-deps chat-deps browser-deps redis unit fuzz

check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

unit:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 -timeout 15m ./...); done

## fuzz: every Fuzz* target for its FUZZ_EXECS inputs (or FUZZTIME each)
fuzz:
	@set -e; for m in $(MODULES); do for pkg in $$(cd $$m && $(GO) list ./...); do \
	  for f in $$(cd $$m && $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    budget=$(FUZZTIME); \
	    if [ -z "$$budget" ]; then \
	      budget=$(FUZZ_DEFAULT_EXECS)x; \
	      for kv in $(FUZZ_EXECS); do if [ "$${kv%%=*}" = "$${pkg##*/}/$$f" ]; then budget=$${kv#*=}x; fi; done; \
	    fi; \
	    echo "fuzz $$pkg $$f ($$budget)"; \
	    (cd $$m && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$budget -timeout 10m $$pkg); \
	  done; \
	done; done

## e2e-deps: Node packages of the interop tests (pinned by package-lock.json)
e2e-deps: $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

conformance-server:
	$(GO) run ./e2e/conformance/server -addr 127.0.0.1:3000

## chat: the socket.io tutorial's chat app (examples/chat, its own module) on ADDR (default
## localhost:3000), messages in the SQLite file DB (default chat.db here); with REDIS_URL (and
## REDIS_ADAPTER classic|sharded|streams) several processes share their broadcasts (step 9);
## all may be given as variables or env
chat: chat-deps
	cd $(CHAT_DIR) && $(GO) run . $(if $(ADDR),-addr '$(ADDR)') -db '$(abspath $(or $(DB),chat.db))' \
	  $(if $(REDIS_URL),-redis '$(REDIS_URL)') $(if $(REDIS_ADAPTER),-redis-adapter '$(REDIS_ADAPTER)')

## bench-crossnode: the cross-node broadcast benchmark (bench/README.md): redis-server and two
## siobench nodes per Redis adapter, started and stopped by bench/crossnode/run.sh; crossnode's
## flags in BENCH_ARGS, e.g. BENCH_ARGS='-receivers 100 -rate 500 -duration 10s'
bench-crossnode: redis
	bench/crossnode/run.sh $(BENCH_ARGS)

## bench-compare: ours (siobench) against Node's socket.io (bench/node) and plain gws (bench/raw),
## driven by sioload, every server fresh and pinned to CPU 0, the generator to CPU 1 (bench/compare);
## writes the medians and the targets into bench/README.md and the plot bench/compare.png (about 20 min);
## its flags in BENCH_ARGS, e.g. BENCH_ARGS='-quick' (a one-minute smoke test that writes nothing)
bench-compare:
	$(GO) run ./bench/compare $(BENCH_ARGS)

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

## soak: hours of mixed traffic with random faults against our server, in-process (e2e/soak; not
## part of test): SOAK_DURATION of traffic (default 2h) from SOAK_CLIENTS clients (default 200),
## more flags in SOAK_ARGS (go run ./e2e/soak -h); writes docs/soak.csv, docs/soak.png, docs/soak.md
## and fails when a message was lost or corrupted or memory, goroutines or fds did not come back
.PHONY: soak
SOAK_DURATION ?= 2h
SOAK_CLIENTS  ?= 200
soak:
	$(GO) run ./e2e/soak -duration $(SOAK_DURATION) -clients $(SOAK_CLIENTS) $(SOAK_ARGS)

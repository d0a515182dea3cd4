# amqplink: build, test and benchmark.
#
#   make test       unit, in-process and integration tests (integration tests skip
#                   with a clear message when no broker answers)
#   make test-all   starts the brokers (scripts/brokers.sh) and fails if any
#                   integration test would skip; prints each package's result and
#                   the fault tests' fault= lines (full log in TESTLOG)
#   make faults     only the fault tests (recovery under resets, silence, restarts)
#   make bench      the comparisons: amqplink against raw go-amqp (AMQP 1.0) and raw
#                   amqp091-go (AMQP 0-9-1), BENCHTIME rounds each; BENCH=regexp
#                   (in place of the default 'Vs') selects among ./tests/'s
#                   benchmarks, e.g. BENCH=AMQP091 or BENCH=ReceiverVs/recv-default
#   make bench-micro the other benchmarks (in-process broker, per-package), for
#                   their default time
#   make lint       gofmt and go vet
#   make fuzz       the fuzz targets of amqptest's codec, FUZZTIME each (default 2000000x)
#   make quickstart the quickstart example (embedded broker unless AMQPLINK_URL is set)

GO      ?= go
PKGS    ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 15m
# Fuzz budgets are execution counts, not durations: with a duration, Go before
# 1.27 can fail a clean run with "context deadline exceeded" at the deadline
# (golang/go#75804).
FUZZTIME ?= 2000000x
FUZZPKG  := ./amqptest/internal/wire/
TESTLOG ?= /tmp/amqplink-test-all.log
BENCH   ?= Vs
# Each round is 2 × 10,000 messages per side; the ratio varies by about ±0.05
# from run to run at 5 rounds on a 2-core machine, less at 10.
BENCHTIME ?= 10x

.PHONY: test test-all faults bench bench-micro lint fuzz quickstart brokers brokers-stop

test:
	$(GO) test $(TESTFLAGS) $(PKGS)

test-all: brokers lint
	@echo "AMQPLINK_REQUIRE_BROKERS=1 $(GO) test $(TESTFLAGS) -v $(PKGS)  (full log: $(TESTLOG))"
	@AMQPLINK_REQUIRE_BROKERS=1 $(GO) test $(TESTFLAGS) -v $(PKGS) >$(TESTLOG) 2>&1; rc=$$?; \
	grep -E '^(fault=|ok |FAIL|--- FAIL|--- SKIP)' $(TESTLOG); \
	if [ $$rc -ne 0 ]; then echo "--- end of the log:"; tail -n 150 $(TESTLOG); fi; exit $$rc
	$(MAKE) fuzz FUZZTIME=300000x

faults: brokers
	@AMQPLINK_REQUIRE_BROKERS=1 $(GO) test $(TESTFLAGS) -v -run 'TestFault' ./tests/ >$(TESTLOG) 2>&1; rc=$$?; \
	grep -E '^(fault=|ok |FAIL|--- FAIL)' $(TESTLOG); \
	if [ $$rc -ne 0 ]; then tail -n 150 $(TESTLOG); fi; exit $$rc

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) $(FUZZPKG)
	$(GO) test -run '^$$' -fuzz '^FuzzReadFrame$$' -fuzztime $(FUZZTIME) $(FUZZPKG)

bench: brokers
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./tests/

bench-micro:
	$(GO) test -run '^$$' -bench . -skip 'Vs' -benchmem $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Without AMQPLINK_URL the quickstart uses the embedded amqptest broker.
quickstart:
	$(GO) run ./examples/quickstart

brokers:
	bash scripts/brokers.sh start

brokers-stop:
	bash scripts/brokers.sh stop

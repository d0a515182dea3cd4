# amqplink: build, test and benchmark.
#
#   make test       unit, in-process and integration tests (integration tests skip
#                   with a clear message when no broker answers)
#   make test-all   starts the brokers (scripts/brokers.sh) and fails if any
#                   integration test would skip
#   make bench      benchmarks
#   make lint       gofmt and go vet
#   make quickstart the quickstart example against AMQPLINK_URL

GO      ?= go
PKGS    ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 15m

.PHONY: test test-all bench lint quickstart brokers brokers-stop

test:
	$(GO) test $(TESTFLAGS) $(PKGS)

test-all: brokers lint
	AMQPLINK_REQUIRE_BROKERS=1 $(GO) test $(TESTFLAGS) $(PKGS)

bench: brokers
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Until the embedded broker lands, the quickstart needs a broker: without
# AMQPLINK_URL it starts the local RabbitMQ first.
quickstart:
	@if [ -z "$$AMQPLINK_URL" ]; then bash scripts/brokers.sh start; fi
	$(GO) run ./examples/quickstart

brokers:
	bash scripts/brokers.sh start

brokers-stop:
	bash scripts/brokers.sh stop

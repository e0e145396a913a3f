# quanchain — top-level entry points. See README.md.
GO      ?= go
NET     := $(GO) run ./network/cmd/quanchain-net
PKGS    := ./...

.PHONY: bench-gateway bench-ledger bench-ledger-scale bench-load bench-scale deps all build up down clean status test test-unit test-integration test-faults soak fuzz cover vet fmt

all: build

## build: compile every command of the module into ./bin
build:
	$(GO) build -o bin/ ./chaincode/cmd/quanchain-cc ./network/cmd/quanchain-net ./cli/cmd/qc ./gateway/cmd/quanchain-gateway ./gateway/cmd/quanchain-devidp

## up: build what is missing, start or resume the local Fabric network, deploy and bootstrap
up:
	$(NET) up

## down: stop every process `make up` started (state is kept)
down:
	$(NET) down

## clean: stop everything and wipe all runtime state (binaries cache is kept)
clean:
	$(NET) clean

## status: show what is running and where
status:
	$(NET) status

## test: unit tests (with fuzz seed corpora) and integration tests on a real network
test: deps vet test-unit test-integration

## deps: what the tests need: PostgreSQL (store tests), Chromium (consent app tests)
deps:
	@scripts/ensure-postgres.sh
	@scripts/ensure-chromium.sh

test-unit:
	$(GO) test -count=1 -race $(shell $(GO) list ./... | grep -v /integration)

# The integration packages share one network and restart parts of it (the
# fault tests kill orderers, the short soak restarts the gateways with
# shortened timeouts): they run one package at a time.
test-integration:
	$(GO) test -p 1 -count=1 -timeout 40m ./integration/...

## test-faults: crash orderers under traffic for QUANCHAIN_FAULT_CYCLES cycles (default 30)
QUANCHAIN_FAULT_CYCLES ?= 30
test-faults:
	QUANCHAIN_FAULT_CYCLES=$(QUANCHAIN_FAULT_CYCLES) $(GO) test -count=1 -v -timeout 90m ./integration/faults/

## soak: lending, claims, pauses and revocations with idle gaps past every timeout, for SOAK (default 10m)
SOAK ?= 10m
soak:
	SOAK=$(SOAK) $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 0 ./integration/

## cover: contract coverage report
cover:
	$(GO) test -count=1 -coverprofile=coverage.out ./chaincode/...
	$(GO) tool cover -func=coverage.out | tail -1

## fuzz: run each fuzz target for a while (FUZZTIME, default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseSignedPayload -fuzztime=$(FUZZTIME) ./chaincode/model
	$(GO) test -run='^$$' -fuzz=FuzzVerifyInclusion -fuzztime=$(FUZZTIME) ./chaincode/merkle
	$(GO) test -run='^$$' -fuzz=FuzzParseJWK -fuzztime=$(FUZZTIME) ./chaincode/sig
	$(GO) test -run='^$$' -fuzz=^FuzzVerify$$ -fuzztime=$(FUZZTIME) ./chaincode/sig

## bench-ledger: submit and evaluate latency (p50/p99) on the real network
bench-ledger:
	$(GO) test -count=1 -run='^$$' -bench=LedgerLatency -benchtime=200x ./integration/

## bench-gateway: the gateway's overhead next to the direct Fabric client (p50/p99, ops/s)
bench-gateway:
	$(GO) test -count=1 -run='^$$' -bench=GatewayOverhead -benchtime=48x ./integration/

## bench-load: ops/s, p50/p95/p99, errors and network CPU per operation at 1, 8, 32, 128 clients (docs/bench/load.md, load.svg)
bench-load:
	QUANCHAIN_LOAD_OUT=docs/bench $(GO) test -count=1 -run='^$$' -bench='^BenchmarkLoad$$' -benchtime=1x -timeout=60m ./integration/

## bench-ledger-scale: a verified data request's latency (p50/p95/p99) before and after SCALE_AUTHS more authorisations on the ledger
SCALE_AUTHS ?= 100000
bench-ledger-scale:
	QUANCHAIN_SCALE_AUTHS=$(SCALE_AUTHS) $(GO) test -count=1 -run='^$$' -bench='^BenchmarkDeliveryAtScale$$' -benchtime=1x -timeout=90m ./integration/

## bench-scale: import throughput and a delivery's safe lookup (p50/p99) at scale; no network.
## Sizes: SCALE_RECORDS (import), SCALE_CITIZENS and SCALE_SAFE_RECORDS (lookup, SQLite and PostgreSQL).
SCALE_RECORDS      ?= 1000000
SCALE_BATCH        ?= 65536
SCALE_CITIZENS     ?= 100000
SCALE_SAFE_RECORDS ?= 1000000
bench-scale:
	QUANCHAIN_IMPORT_RECORDS=$(SCALE_RECORDS) QUANCHAIN_IMPORT_BATCH=$(SCALE_BATCH) \
		$(GO) test -count=1 -run='^$$' -bench='^BenchmarkImport$$' -benchtime=1x -timeout=1h ./gateway/internal/vault/
	QUANCHAIN_SAFE_CITIZENS=$(SCALE_CITIZENS) QUANCHAIN_SAFE_RECORDS=$(SCALE_SAFE_RECORDS) \
		$(GO) test -count=1 -v -run='^$$' -bench='^BenchmarkSafeLookup$$' -benchtime=2000x -timeout=3h ./gateway/internal/vault/

# staticcheck is pinned here rather than with a tool line in go.mod: as a
# tool its requirements would raise the versions the module itself builds
# with (golang.org/x/sync, x/mod, x/tools). `go run` fetches this exact
# version from the module proxy and caches the binary.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

## vet: go vet, staticcheck (checks in staticcheck.conf), a tidy go.mod/go.sum, gofmt
vet:
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt needed"; exit 1)

fmt:
	gofmt -w .

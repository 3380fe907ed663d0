# CUS coordination suite. `make run` starts everything with demo data; `make test` runs every test.
# Only Go is needed: buf, the protoc plugins and grpcurl are built from pinned Go modules under tools/.

SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
# Every module of the workspace (go.work); the tools modules are kept out of it on purpose.
MODULES := proto platform services/catalogue services/provider services/referral gateway bench e2e integration
PKGS     = $(addsuffix /...,$(addprefix ./,$(MODULES)))
GENERATED := proto/cus gateway/internal/openapi

.PHONY: test-etcd bench-web lint-openapi ts-client robustness robustness-short bench-referral bench-watch bench-provider bench-import bench-federation run-federation all build run test verify generate tools lint fmt bench bench-storage bench-growth bench-search ci clean tidy check-tidy fuzz breaking

all: verify test

## build: compile the service binaries into bin/
build:
	$(GO) build -o $(BIN)/ ./services/catalogue/cmd/catalogue ./services/provider/cmd/provider ./services/referral/cmd/referral ./gateway/cmd/gateway ./platform/cmd/cusctl ./platform/cmd/cus-etcd

## run: start the whole suite with embedded storage and demo data (Ctrl-C stops it)
run: build
	@scripts/run.sh

## run-ha: a three-member etcd cluster (bin/cus-etcd), two replicas of each service on it and the gateway, with
## demo data under var/ha/, on ports apart from make run's (Ctrl-C stops it; docs/etcd.md)
.PHONY: run-ha
run-ha: build
	@scripts/run-ha.sh

## bench-web: the residents' results page end to end on 100,000 services: page minus search p50/p99, page weight
bench-web: build
	@scripts/bench-web.sh

## run-federation: two instances (Rawicz 3022053, Jarocin 3006023) that federate their catalogues
run-federation: build
	@scripts/run-federation.sh

## test: every test of every module, race detector on
test:
	$(GO) test -race -count=1 $(PKGS)

## test-etcd: the three services' suites again with their stores on etcd (CUS_TEST_STORAGE_ENGINE=etcd: one
## in-process member per test binary at etcd's default limits, a prefix per data file); tests of the bbolt file
## itself skip, naming it.
## No race detector here: make test has it, and under it the in-process member slows the catalogue's large
## imports past their 20 s call deadline on a 2-core machine.
test-etcd:
	for m in services/provider services/referral services/catalogue; do \
		(cd $$m && CUS_TEST_STORAGE_ENGINE=etcd $(GO) test -count=1 ./...) || exit 1; \
	done

## tools: build buf, the protoc plugins, grpcurl and golangci-lint at their pinned versions into bin/
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/grpcurl $(BIN)/golangci-lint

$(BIN)/buf: tools/buf/go.mod tools/buf/go.sum
	cd tools/buf && GOWORK=off $(GO) build -o $(BIN)/ github.com/bufbuild/buf/cmd/buf

$(BIN)/protoc-gen-go: tools/go.mod tools/go.sum
	cd tools && GOWORK=off $(GO) build -o $(BIN)/ google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2

$(BIN)/grpcurl: tools/grpcurl/go.mod tools/grpcurl/go.sum
	cd tools/grpcurl && GOWORK=off $(GO) build -o $(BIN)/ github.com/fullstorydev/grpcurl/cmd/grpcurl

# golangci-lint has a module of its own: its many dependencies must not move the versions of the other tools.
$(BIN)/golangci-lint: tools/golangci/go.mod tools/golangci/go.sum
	cd tools/golangci && GOWORK=off $(GO) build -o $(BIN)/ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

## lint: golangci-lint (govet, staticcheck, errorlint, unused, misspell, ineffassign; .golangci.yml) in every module
lint: $(BIN)/golangci-lint
	@for m in $(MODULES); do (cd $$m && $(BIN)/golangci-lint run --config $(CURDIR)/.golangci.yml ./...) || exit 1; done

## generate: regenerate Go code and the OpenAPI document from the protos (byte-for-byte reproducible)
generate: $(BIN)/buf $(BIN)/protoc-gen-go
	rm -f proto/cus/*/v1/*.pb.go proto/cus/*/v1/*.pb.gw.go gateway/internal/openapi/*.swagger.json gateway/internal/openapi/cus.openapi.json
	PATH="$(BIN):$$PATH" $(BIN)/buf generate
	cd gateway && $(GO) run ./internal/openapi/gen

## lint-openapi: lint the OpenAPI 3.1 document with Redocly CLI (pinned in tools/npm, installed there by npm ci;
## the rules are in gateway/internal/openapi/redocly.yaml). Needs node and npm, so it is not part of verify.
NPM_BIN := tools/npm/node_modules/.bin
$(NPM_BIN)/redocly: tools/npm/package.json tools/npm/package-lock.json
	cd tools/npm && npm ci --no-audit --no-fund
	@touch $@
lint-openapi: $(NPM_BIN)/redocly
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NPM_BIN)/redocly lint \
		--config gateway/internal/openapi/redocly.yaml gateway/internal/openapi/cus.openapi.json

## ts-client: the TypeScript client generated from the OpenAPI document (e2e/ts-client: openapi-typescript and
## openapi-fetch, pinned): schema.d.ts must be up to date, the walk must type-check, then it runs the README's
## flows against a live suite (e2e TestTypeScriptClient). Needs node and npm.
TS_CLIENT := e2e/ts-client
$(TS_CLIENT)/node_modules/.bin/tsc: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund
	@touch $@
ts-client: $(TS_CLIENT)/node_modules/.bin/tsc
	cd $(TS_CLIENT) && node_modules/.bin/openapi-typescript $(CURDIR)/gateway/internal/openapi/cus.openapi.json -o schema.check.d.ts --silent && \
		if ! cmp -s schema.d.ts schema.check.d.ts; then rm -f schema.check.d.ts; echo "$(TS_CLIENT)/schema.d.ts is out of date: run npm run generate there and commit"; exit 1; fi; \
		rm -f schema.check.d.ts
	cd $(TS_CLIENT) && node_modules/.bin/tsc -p .
	cd e2e && CUS_TS_CLIENT=1 $(GO) test -count=1 -run '^TestTypeScriptClient$$' -v .

## verify: formatting, vet, buf lint/format, tidy modules, and generated code up to date
verify: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/golangci-lint
	@echo "== gofmt"; out=$$(gofmt -l $(MODULES) tools 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet $(PKGS)
	@echo "== golangci-lint"; $(MAKE) -s lint
	@echo "== buf lint"; $(BIN)/buf lint
	@echo "== buf format"; $(BIN)/buf format -d --exit-code
	@echo "== buf breaking"; $(MAKE) -s breaking
	@echo "== go mod tidy"; $(MAKE) -s check-tidy
	@echo "== generated code"; $(MAKE) -s generate && git diff --exit-code -- $(GENERATED) && \
		test -z "$$(git status --porcelain -- $(GENERATED))" || { echo "generated code is out of date: run make generate and commit"; exit 1; }

## breaking: refuse API changes that break v1 clients, against main (works offline)
breaking: $(BIN)/buf
	@if git rev-parse --verify -q main >/dev/null && git ls-tree -d main proto/cus >/dev/null 2>&1 && [ -n "$$(git ls-tree main proto/cus)" ]; then \
		$(BIN)/buf breaking --against '.git#branch=main'; else echo "no main branch with protos yet: nothing to compare"; fi

check-tidy:
	@for m in $(MODULES) tools tools/buf tools/grpcurl tools/golangci; do \
		(cd $$m && cp go.mod /tmp/cus-tidy.mod && cp go.sum /tmp/cus-tidy.sum && GOWORK=off GOFLAGS=-mod=mod $(GO) mod tidy >/dev/null 2>&1; \
		 if ! cmp -s go.mod /tmp/cus-tidy.mod || ! cmp -s go.sum /tmp/cus-tidy.sum; then \
			cp /tmp/cus-tidy.mod go.mod; cp /tmp/cus-tidy.sum go.sum; echo "$$m: go.mod/go.sum not tidy (run go mod tidy there)"; exit 1; fi) || exit 1; \
	done

## tidy: go mod tidy in every module (GOWORK=off, so each also builds alone)
tidy:
	@for m in $(MODULES) tools tools/buf tools/grpcurl tools/golangci; do (cd $$m && GOWORK=off $(GO) mod tidy) || exit 1; done

## fuzz: run each fuzz target briefly (the seed corpora always run in make test)
fuzz:
	cd platform && $(GO) test -run XXX -fuzz FuzzValidatePESEL -fuzztime 20s ./plid/

## bench: the figures of the closing notes (gateway vs bare net/http, gRPC vs health, search, start-up)
bench: build
	@scripts/bench.sh

.PHONY: bench-scale bench-scale-smoke

## bench-scale: issue 12's growth table, end to end per size (BENCH_SCALE_SIZES, default 10000 100000 500000
## 1000000): generate realistic import files, ImportServices into an empty catalogue, restart to SERVING, search
## at 1 and 8 clients, memory, file sizes; var/bench-scale/results.json and table.md (scripts/bench-scale.sh)
bench-scale:
	@scripts/bench-scale.sh

## bench-scale-smoke: the same at 2,000 services with short runs (under a minute), so the script cannot rot
bench-scale-smoke:
	@BENCH_SCALE_SIZES=2000 BENCH_SCALE_SEARCH_DURATION=3s BENCH_SCALE_WARMUP=1s BENCH_SCALE_OUT=var/bench-scale-smoke scripts/bench-scale.sh

## bench-referral: durable referral creates/s through REST at 64 clients beside raw bbolt batch commits
bench-referral: build
	@scripts/bench-referral.sh

## bench-watch: a coordinator's list latency (p50/p99) with 300 REST watches open by one provider
bench-watch: build
	@scripts/bench-watch.sh

## bench-etcd: raw etcd on this machine (bench/internal/etcdbench): durable 1 KB puts/s at 64 callers on one and
## three members side by side, time writes resume after the leader is killed, db size and RSS of a member with
## 100,000 records of 1.4 KB (docs/etcd.md)
.PHONY: bench-etcd
bench-etcd:
	cd bench && $(GO) test -run XXX -bench . -benchtime 1x -timeout 30m ./internal/etcdbench/

## bench-provider: capacity reservations/s at 64 callers beside raw bbolt batch commits
bench-provider:
	cd services/provider && $(GO) test -run XXX -bench 64 -benchtime 3s ./internal/store/

## bench-import: ImportServices of 100,000 services (CSV, batched durable commits, change feed, search index), services/s
bench-import:
	cd services/catalogue && $(GO) test -run XXX -bench ImportServices -benchtime 1x -benchmem -timeout 30m ./internal/server/

bench-storage:
	cd platform && $(GO) test -run XXX -bench . -benchtime 3s ./storage/

## bench-federation: initial sync of a 100k-service peer, propagation p50/p99 over 1,000 changes, time, heap and
## VmRSS of an instance following 10 and 50 peers x 10k (the peers run in a child process)
bench-federation:
	cd services/catalogue && $(GO) test -run XXX -bench . -benchtime 1x -timeout 60m ./internal/federation/

## bench-growth: file bytes per service after loading 500,000 services, file size after 1,000,000 updates to 10,000
## (CUS_GROWTH_SERVICES, CUS_GROWTH_UPDATES, CUS_GROWTH_LIVE override the counts)
bench-growth:
	cd services/catalogue && $(GO) test -run XXX -bench Growth -benchtime 1x -timeout 90m ./internal/store/

bench-search:
	cd services/catalogue && $(GO) test -run XXX -bench . -benchtime 200x ./internal/search/

## robustness: the storage layer's fault injection at the commit/fsync point, disk-full and group-commit model
## tests, then per service kill -9 loops under load with a ledger of acknowledged writes and a disk-full run (root)
## (docs/robustness.md); ROBUST_CYCLES, ROBUST_WRITERS and ROBUST_LOAD tune the loops
ROBUST_CYCLES  ?= 20
ROBUST_WRITERS ?= 8
ROBUST_LOAD    ?= 1500ms
STORAGE_FAULT_TESTS := ^(TestFailedCommit|TestFailedCommitUnderConcurrentWriters|TestCommitReadsRevisionFromTheFileNotFromMemory|TestDiskFull|TestGroupCommitModel)$$
robustness:
	cd platform && $(GO) test -race -count=1 -v -run '$(STORAGE_FAULT_TESTS)' ./storage/
	cd e2e && $(GO) test -tags robustness -count=1 -v -timeout 60m -run '^TestRobustness' . \
		-args -robust.cycles=$(ROBUST_CYCLES) -robust.writers=$(ROBUST_WRITERS) -robust.load=$(ROBUST_LOAD)

## robustness-short: the CI form (5 cycles per service, disk-full included; under 3 minutes on 2 cores)
robustness-short:
	cd platform && $(GO) test -count=1 -run '$(STORAGE_FAULT_TESTS)' ./storage/
	cd e2e && $(GO) test -tags robustness -count=1 -v -timeout 10m -run '^TestRobustness' . \
		-args -robust.cycles=5 -robust.writers=4 -robust.load=1s

.PHONY: check-links examples

## check-links: every relative link and anchor of every *.md resolves inside the repository (also part of make test);
## -v lists the external links, which are not fetched
check-links:
	cd integration && $(GO) test -count=1 -v -run '^TestRepository$$' ./internal/doclinks/

## examples: the integration kit against the live suite: the Python and PHP client examples and the Bruno
## collection (needs python3, php and the Bruno CLI `bru` on PATH; .ci/run installs them)
examples:
	cd e2e && CUS_E2E_EXAMPLES=1 $(GO) test -count=1 -v -run '^TestIntegrationExamples$$' .

## web-check: the residents' pages in Debian's chromium: axe WCAG 2.1 A/AA with 0 violations, 320 px reflow, 200%
## zoom, a search walked with the keyboard alone, JavaScript off (e2e/browser; the harness's self-test runs first)
.PHONY: web-check screenshots
web-check:
	@e2e/browser/web-check.sh check

## screenshots: rewrite docs/screenshots/*.png (home, results, service at 375 and 1280 px) from the demo suite
screenshots:
	@e2e/browser/web-check.sh screenshots

## ci: what .ci/run does
ci: verify test

clean:
	rm -rf $(BIN) var

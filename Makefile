# otelcol-posthog: build, demo and test.
#
#   make build     _build/otelcol-posthog (ocb v0.162.0, installed into ./.tools/bin)
#                  and _build/posthog-rules (explain and test rules)
#   make demo      local end-to-end demo (scripts/demo.sh); set POSTHOG_API_KEY
#                  (and POSTHOG_HOST) to send to a real PostHog project instead
#   make test      the tl-engine rules' fixture tests (posthog-rules test), then
#                  go test -race ./... including the end-to-end test against
#                  the built collector
#   make generate  regenerate internal/metadata etc. from metadata.yaml (mdatagen)
#   make soak      5 minutes at 2,000 spans/s with a PostHog outage every 30s
#                  (SOAK_DURATION, SOAK_RATE, ...: see e2e/soak_test.go)
#   make bench     load harness: CPU, RSS and losses at 10,000 spans/s (queue in
#                  memory and on file_storage, with and without trace_context)
#                  against the otlphttp baseline, max
#                  throughput (BENCH_*: cmd/benchharness)
#   make lint      golangci-lint (.golangci.yml: contrib's linters, gofmt and
#                  goimports), installed into ./.tools/bin
#   make clean     remove _build/ and .tools/

GO        ?= go
TOOLS_BIN := $(CURDIR)/.tools/bin
OCB_VERSION := v0.162.0
OCB       := $(TOOLS_BIN)/builder
OCB_STAMP := $(TOOLS_BIN)/.builder-$(OCB_VERSION)
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint
GOLANGCI_LINT_STAMP := $(TOOLS_BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)
DIST      := _build
OTELCOL   := $(DIST)/otelcol-posthog
RULES     := $(DIST)/posthog-rules
GO_TEST_FLAGS ?= -race -timeout 15m

# Non-test Go sources of this module (the collector build picks up the
# exporter from the working tree through a replace directive).
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './_build/*' -not -path './.tools/*' -not -path './e2e/*' -not -path './cmd/*')

.PHONY: all build demo test e2e generate lint fmt clean tools soak bench

all: build

tools: $(OCB_STAMP) $(GOLANGCI_LINT_STAMP)

$(OCB_STAMP):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	@rm -f $(TOOLS_BIN)/.builder-*
	@touch $@

# Built from source with the local Go toolchain (golangci-lint's docs advise a
# binary; here the module proxy is the only source).
$(GOLANGCI_LINT_STAMP):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@rm -f $(TOOLS_BIN)/.golangci-lint-*
	@touch $@

# ocb generates the distribution's sources and go.mod/go.sum (and runs
# `go mod tidy` there). Only needed when the manifest or this module's
# requirements change; otherwise a plain `go build` in _build is enough.
$(DIST)/.generated: builder-config.yaml go.mod go.sum $(OCB_STAMP)
	$(OCB) --config builder-config.yaml --skip-compilation
	@touch $@

$(OTELCOL): $(DIST)/.generated $(GO_SOURCES)
	cd $(DIST) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o otelcol-posthog .
	@echo "built $(OTELCOL)"

$(RULES): $(GO_SOURCES) $(wildcard cmd/posthog-rules/*.go) go.mod go.sum
	@mkdir -p $(DIST)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/posthog-rules

build: $(OTELCOL) $(RULES)

demo: build
	./scripts/demo.sh

# The e2e test (./e2e) runs the collector built above; under `make test` a
# missing binary is a failure, not a skip.
test: build
	$(RULES) test --config testdata/config/tl-engine.yaml testdata/config/tl-engine-fixtures
	OTELCOL_POSTHOG_BIN=$(CURDIR)/$(OTELCOL) OTELCOL_POSTHOG_REQUIRE_BIN=1 $(GO) test $(GO_TEST_FLAGS) ./...

e2e: build
	OTELCOL_POSTHOG_BIN=$(CURDIR)/$(OTELCOL) OTELCOL_POSTHOG_REQUIRE_BIN=1 $(GO) test -count=1 -v ./e2e/

# The soak test (e2e/soak_test.go) is not part of `make test`. Without -race:
# the load generator must not compete with the collector for CPU. Its summary
# is also written to $(DIST)/soak-summary.txt.
soak: build
	OTELCOL_POSTHOG_BIN=$(CURDIR)/$(OTELCOL) OTELCOL_POSTHOG_REQUIRE_BIN=1 POSTHOG_SOAK=1 \
	SOAK_SUMMARY=$${SOAK_SUMMARY:-$(CURDIR)/$(DIST)/soak-summary.txt} \
	$(GO) test -count=1 -v -timeout 60m -run '^TestSoak$$' ./e2e/

# Load harness (cmd/benchharness), not part of `make test`: the collector
# under fixed OTLP/HTTP load, posthog exporter vs the otlphttp baseline at
# 10,000 spans/s, then the maximum throughput with GOMAXPROCS=1; prints one
# table and writes it to $(DIST)/bench-result.md. About 4 minutes; for a
# quick look: BENCH_DURATION=10s BENCH_MAX_DURATION=8s make bench.
bench: build
	$(GO) build -o $(DIST)/benchharness ./cmd/benchharness
	$(DIST)/benchharness -collector $(OTELCOL) -config-dir testdata/config -out $(DIST)/bench-result.md -work $(DIST)/bench

# mdatagen names the generated test package after the directory holding
# metadata.yaml; run it through a link named after the package, so that a
# clone in any directory generates `package posthogexporter`.
generate:
	@link=$$(mktemp -d)/posthogexporter; ln -s $(CURDIR) $$link; \
	cd $$link && $(GO) tool mdatagen metadata.yaml; status=$$?; rm -f $$link; exit $$status

# govet, gofmt and goimports are among the linters (.golangci.yml).
lint: $(GOLANGCI_LINT_STAMP)
	$(GOLANGCI_LINT) run ./...

fmt:
	gofmt -w $$(find . -name '*.go' -not -path './_build/*' -not -path './.tools/*')

clean:
	rm -rf $(DIST) .tools

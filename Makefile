# otelcol-posthog: build, demo and test.
#
# Three Go modules live here: the component (this folder), the rules tool
# (cmd/posthog-rules) and the testbed (testbed/: demo, end-to-end tests, load
# harness and their support), so that the component's go.mod requires only
# what the component imports.
#
#   make build     _build/otelcol-posthog (ocb, installed into ./.tools/bin)
#                  and _build/posthog-rules (explain and test rules)
#   make demo      local end-to-end demo (scripts/demo.sh); set POSTHOG_API_KEY
#                  (and POSTHOG_HOST) to send to a real PostHog project instead
#   make test      every test of the three modules, the long end-to-end ones
#                  (build tag longtest) included, and the tl-engine rules'
#                  fixture tests with the built posthog-rules
#   make generate  regenerate internal/metadata etc. from metadata.yaml (mdatagen)
#   make soak      5 minutes at 2,000 spans/s with a PostHog outage every 30s
#                  (SOAK_DURATION, SOAK_RATE, ...: see testbed/e2e/soak_test.go)
#   make bench     load harness: CPU, RSS and losses at 10,000 spans/s, against
#                  the floor (nop exporter) and otlphttp (testbed/cmd/benchharness)
#   make deps      what the exporter adds to a collector's modules (scripts/deps.sh)
#   make lint      golangci-lint (.golangci.yml) on the three modules,
#                  installed into ./.tools/bin
#   make clean     remove _build/ and .tools/

GO        ?= go
TOOLS_BIN := $(CURDIR)/.tools/bin
OCB_VERSION := v0.162.0
OCB       := $(TOOLS_BIN)/builder
OCB_STAMP := $(TOOLS_BIN)/.builder-$(OCB_VERSION)
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint
GOLANGCI_LINT_STAMP := $(TOOLS_BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)
# mdatagen is a tool of the testbed module (its go.mod pins it), so that
# the component's go.mod does not carry it.
MDATAGEN  := $(TOOLS_BIN)/mdatagen
DIST      := $(CURDIR)/_build
OTELCOL   := $(DIST)/otelcol-posthog
RULES     := $(DIST)/posthog-rules
GO_TEST_FLAGS ?= -race -timeout 15m
MODULES   := . cmd/posthog-rules testbed

# Non-test Go sources of the component (the collector build picks up the
# exporter from the working tree through a replace directive).
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './_build/*' -not -path './.tools/*' -not -path './testbed/*' -not -path './cmd/*')

.PHONY: all build demo test e2e generate lint fmt clean tools soak bench deps

all: build

tools: $(OCB_STAMP) $(GOLANGCI_LINT_STAMP) $(MDATAGEN)

# $(1): stamp, $(2): package@version. A stamp per version, so that a new
# version in this file installs again.
define install-tool
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install $(2)
	@rm -f $(TOOLS_BIN)/.$(notdir $(basename $(firstword $(subst @, ,$(2)))))-*
	@touch $(1)
endef

$(OCB_STAMP):
	$(call install-tool,$@,go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION))

# Built from source with the local Go toolchain, from the module proxy.
$(GOLANGCI_LINT_STAMP):
	$(call install-tool,$@,github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION))

$(MDATAGEN): testbed/go.mod
	@mkdir -p $(TOOLS_BIN)
	cd testbed && $(GO) build -o $@ go.opentelemetry.io/collector/cmd/mdatagen

# ocb generates the distribution's sources and go.mod/go.sum (and runs
# `go mod tidy` there). Only needed when the manifest or this module's
# requirements change; otherwise a plain `go build` in _build is enough.
$(DIST)/.generated: builder-config.yaml go.mod go.sum $(OCB_STAMP)
	$(OCB) --config builder-config.yaml --skip-compilation
	@touch $@

$(OTELCOL): $(DIST)/.generated $(GO_SOURCES)
	cd $(DIST) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o otelcol-posthog .
	@echo "built $(OTELCOL)"

$(RULES): $(GO_SOURCES) $(wildcard cmd/posthog-rules/*.go) cmd/posthog-rules/go.mod cmd/posthog-rules/go.sum
	@mkdir -p $(DIST)
	cd cmd/posthog-rules && CGO_ENABLED=0 $(GO) build -trimpath -o $@ .

build: $(OTELCOL) $(RULES)

demo: build
	./scripts/demo.sh

# The end-to-end tests (testbed/e2e) run the collector and the ocb built
# above; under `make test` a missing binary is a failure, not a skip. The
# long ones (an outage of 30s, an ocb build) carry the build tag longtest.
TEST_ENV := OTELCOL_POSTHOG_BIN=$(OTELCOL) OTELCOL_POSTHOG_REQUIRE_BIN=1

test: build
	$(RULES) test --config testdata/config/tl-engine.yaml testdata/config/tl-engine-fixtures
	$(GO) test $(GO_TEST_FLAGS) ./...
	cd cmd/posthog-rules && $(GO) test $(GO_TEST_FLAGS) ./...
	cd testbed && $(TEST_ENV) $(GO) test $(GO_TEST_FLAGS) -tags longtest ./...

e2e: build
	cd testbed && $(TEST_ENV) $(GO) test -count=1 -v -tags longtest ./e2e/

# The soak test (testbed/e2e/soak_test.go) is not part of `make test`.
# Without -race: the load generator must not compete with the collector for
# CPU. Its summary is also written to $(DIST)/soak-summary.txt.
soak: build
	cd testbed && $(TEST_ENV) POSTHOG_SOAK=1 \
	SOAK_SUMMARY=$${SOAK_SUMMARY:-$(DIST)/soak-summary.txt} \
	$(GO) test -count=1 -v -timeout 60m -run '^TestSoak$$' ./e2e/

# Load harness (testbed/cmd/benchharness), not part of `make test`: the
# collector under fixed OTLP/HTTP load at 10,000 spans/s, the floor (the same
# receiver and the nop exporter), the posthog exporter and the otlphttp
# baseline (and posthog with file_storage and with trace_context) taken in
# turn for BENCH_ROUNDS rounds, then the maximum throughput with
# GOMAXPROCS=1; prints one table of medians and ratios and writes it to
# $(DIST)/bench-result.md. About 9 minutes; for a quick look:
# BENCH_RUNS=floor,posthog,otlphttp BENCH_DURATION=10s make bench.
bench: build
	cd testbed && $(GO) build -o $(DIST)/benchharness ./cmd/benchharness
	$(DIST)/benchharness -collector $(OTELCOL) -config-dir testdata/config -out $(DIST)/bench-result.md -work $(DIST)/bench

deps: $(OCB_STAMP)
	./scripts/deps.sh $(OCB)

# mdatagen names the generated test package after the directory holding
# metadata.yaml; run it through a link named after the package, so that a
# clone in any directory generates `package posthogexporter`.
generate: $(MDATAGEN)
	@link=$$(mktemp -d)/posthogexporter; ln -s $(CURDIR) $$link; \
	cd $$link && $(MDATAGEN) metadata.yaml; status=$$?; rm -f $$link; exit $$status

# govet, gofmt and goimports are among the linters (.golangci.yml).
lint: $(GOLANGCI_LINT_STAMP)
	@set -e; for m in $(MODULES); do echo "lint $$m"; (cd $$m && $(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...); done

fmt:
	gofmt -w $$(find . -name '*.go' -not -path './_build/*' -not -path './.tools/*')

clean:
	rm -rf $(DIST) .tools

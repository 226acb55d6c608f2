# Fleetscope — build, test, demo. No Mage: plain make + the scripts in scripts/.
#
#   make demo   local Prometheus "clusters" with demo data + the API server, a federated query printed
#   make test   Rust unit + integration (real Prometheus), Go conformance (Grafana's SDK), frontend
#
# Every target installs what it needs (apt packages, cargo fetch, go mod download, npm ci).

SHELL        := /bin/bash
CARGO        ?= cargo
BIN          := target/release/gpx_fleetscope
GOOS_ARCH    := $(shell go env GOOS 2>/dev/null || echo linux)_$(shell go env GOARCH 2>/dev/null || echo amd64)
DIST         := dist
VERSION      := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

.PHONY: all deps rust-deps stack-deps go-deps frontend-deps build frontend-build test test-rust test-go test-frontend \
        dist demo bench clean stack-up stack-down soak

all: build

deps: rust-deps stack-deps go-deps frontend-deps

rust-deps:
	$(CARGO) fetch --locked

stack-deps:
	tests/stack/install-deps.sh

go-deps:
	cd tests/conformance && go mod download

frontend-deps:
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

# The plugin binary and the stack's replayed Loki/Tempo/Kubernetes (tests/stack/replay_upstreams.rs),
# in one invocation so both share the features `cargo test --release` builds with.
build: rust-deps
	$(CARGO) build --release --locked --bins --example replay_upstreams

frontend-build: frontend-deps
	cd frontend && npm run build

# The whole suite, against a freshly started real stack (stopped on exit).
test: deps build
	scripts/license-check.py
	scripts/test-all.sh

stack-up: stack-deps build
	tests/stack/stack.sh up

stack-down:
	tests/stack/stack.sh down

dist: build frontend-build
	scripts/dist.sh "$(VERSION)" "$(GOOS_ARCH)"

demo: stack-deps build
	scripts/demo.sh

# Peer (vs Grafana's Go converter), fan-out, cache, RSS, criterion; summary table at the end.
# BENCH_RUNS=N (default 3) repeats; see docs/performance.md.
bench: rust-deps go-deps
	CARGO="$(CARGO)" benches/run.sh

# Soak (not in CI): concurrent QueryData through the Go harness against a fresh
# stack of its own for SOAK_SECONDS (default 600) while one cluster flaps; prints
# RSS start/end, error rate and p50/p99 (tests/conformance/soak, docs/operations.md).
SOAK_STACK_DIR ?= /tmp/fleetscope-soak-stack
soak: stack-deps go-deps build
	FLEETSCOPE_STACK_DIR=$(SOAK_STACK_DIR) tests/stack/stack.sh up
	cd tests/conformance && FLEETSCOPE_STACK_ENV=$(SOAK_STACK_DIR)/env FLEETSCOPE_PLUGIN_BIN=$(CURDIR)/$(BIN) \
	  go run ./soak; rc=$$?; cd $(CURDIR) && FLEETSCOPE_STACK_DIR=$(SOAK_STACK_DIR) tests/stack/stack.sh down; exit $$rc

clean:
	-tests/stack/stack.sh down
	rm -rf target $(DIST) .stack frontend/dist

# Fleetscope — build, test, demo. No Mage: plain make + the scripts in scripts/.
#
#   make demo   local Prometheus "clusters" with demo data + the API server, a federated query printed
#   make test   Rust unit + integration (real Prometheus), Go conformance (Grafana's SDK), frontend
#
#   make dist   both plugin folders, zips and checksums in dist/ (linux amd64/arm64 static, darwin, windows)
#
# Every target installs what it needs (rustup toolchain + targets, apt packages, cargo fetch,
# go mod download, npm ci).
#
# One build: the binary `make test` tests is the linux/amd64 binary `make dist` ships — a static
# musl build (TARGET), shared by cargo test, the Go harness, the demo and the browser test.
# Cargo.toml names the dev-dependencies' features among the normal ones, so `make dist`'s
# `cargo build --bins` finds that build fresh instead of building another.

SHELL        := /bin/bash
CARGO        ?= cargo
TARGET       ?= x86_64-unknown-linux-musl
BIN          := target/$(TARGET)/release/gpx_fleetscope
DIST         := dist
VERSION      := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

.PHONY: all deps toolchain rust-deps stack-deps go-deps frontend-deps build frontend-build test \
        dist demo bench clean stack-up stack-down soak check-static

all: build

deps: rust-deps stack-deps go-deps frontend-deps

# rust-toolchain.toml's toolchain and targets; musl-gcc for the C in ring, SQLite and mimalloc;
# `file` for the static check.
toolchain:
	scripts/install-toolchain.sh

rust-deps: toolchain
	$(CARGO) fetch --locked

stack-deps:
	tests/stack/install-deps.sh

go-deps:
	cd tests/conformance && go mod download

# npm ci only when package-lock.json changed since the last install (its sha256 is stamped
# into node_modules), so `make dist` after `make test` reuses node_modules.
frontend-deps:
	@cd frontend && want=$$(sha256sum package-lock.json | cut -d' ' -f1) && \
	if [ -d node_modules ] && [ "$$(cat node_modules/.package-lock.sha256 2>/dev/null)" = "$$want" ]; then \
	  echo "frontend: node_modules matches package-lock.json; npm ci skipped"; \
	else \
	  npm ci --no-audit --no-fund --loglevel=error && echo "$$want" > node_modules/.package-lock.sha256; \
	fi

# The plugin binary and the stack's replayed Loki/Tempo/Kubernetes (tests/stack/replay_upstreams.rs),
# in one invocation so both share the features `cargo test --release` builds with.
build: rust-deps
	$(CARGO) build --release --locked --target $(TARGET) --bins --example replay_upstreams

frontend-build: frontend-deps
	cd frontend && npm run build

# The whole suite, against a freshly started real stack (stopped on exit).
test: deps build
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --target $(TARGET) --all-targets -- -D warnings
	scripts/license-check.py
	FLEETSCOPE_TARGET=$(TARGET) scripts/test-all.sh

# The empty-root check alone: ELF headers, then --version and the go-plugin handshake in a
# chroot holding nothing but the binary (needs root). make test runs it too.
check-static: build
	scripts/check-static.sh --run $(BIN)

stack-up: stack-deps build
	FLEETSCOPE_TARGET=$(TARGET) tests/stack/stack.sh up

stack-down:
	tests/stack/stack.sh down

# Builds the plugin binaries itself (no test-only code): linux/amd64 (fresh after make test)
# and linux/arm64 must build; darwin and windows are built where the toolchain allows and
# reported. DIST_PLATFORMS narrows the list (e.g. DIST_PLATFORMS="linux/amd64 linux/arm64").
dist: toolchain frontend-build
	scripts/dist.sh "$(VERSION)"

demo: stack-deps build
	FLEETSCOPE_TARGET=$(TARGET) scripts/demo.sh

# Peer (vs Grafana's Go converter), fan-out, cache, RSS, criterion; summary table at the end.
# BENCH_RUNS=N (default 3) repeats; see docs/performance.md.
bench: rust-deps go-deps
	CARGO="$(CARGO)" benches/run.sh

# Soak (not in CI): concurrent QueryData through the Go harness against a fresh
# stack of its own for SOAK_SECONDS (default 600) while one cluster flaps; prints
# RSS start/end, error rate and p50/p99 (tests/conformance/soak, docs/operations.md).
SOAK_STACK_DIR ?= /tmp/fleetscope-soak-stack
soak: stack-deps go-deps build
	FLEETSCOPE_TARGET=$(TARGET) FLEETSCOPE_STACK_DIR=$(SOAK_STACK_DIR) tests/stack/stack.sh up
	cd tests/conformance && FLEETSCOPE_STACK_ENV=$(SOAK_STACK_DIR)/env FLEETSCOPE_PLUGIN_BIN=$(CURDIR)/$(BIN) \
	  go run ./soak; rc=$$?; cd $(CURDIR) && FLEETSCOPE_STACK_DIR=$(SOAK_STACK_DIR) tests/stack/stack.sh down; exit $$rc

clean:
	-tests/stack/stack.sh down
	rm -rf target $(DIST) .stack frontend/dist

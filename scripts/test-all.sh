#!/usr/bin/env bash
# The full test suite, as `make test` runs it. Starts the real stack
# (tests/stack), runs every suite against it, stops it on exit. Fails on the
# first failing suite. Expects `make deps build` to have run.
#
# Everything runs the one binary make dist ships for linux/amd64: the static musl build
# (FLEETSCOPE_TARGET, default x86_64-unknown-linux-musl), so the Rust integration tests,
# the Go harness, the empty-root check and the browser test all start that file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${FLEETSCOPE_TARGET:-x86_64-unknown-linux-musl}
export FLEETSCOPE_TARGET=$target

# A stack of its own (FLEETSCOPE_STACK_DIR), so a developer's running stack is left alone.
export FLEETSCOPE_STACK_DIR="${FLEETSCOPE_TEST_STACK_DIR:-$root/.stack-test}"
tests/stack/stack.sh up
trap 'tests/stack/stack.sh down' EXIT
export FLEETSCOPE_STACK_ENV="$FLEETSCOPE_STACK_DIR/env"
export FLEETSCOPE_BIN="$root/target/$target/release/gpx_fleetscope"

echo "==> Static binary: ELF headers, then --version and the go-plugin handshake in an empty root"
scripts/check-static.sh --run "$FLEETSCOPE_BIN"

echo "==> Rust: unit + integration tests (release profile, $target: the build of the shipped binary)"
cargo test --release --locked --target "$target"

echo "==> Go: conformance harness (Grafana's plugin SDK and host)"
(cd tests/conformance && go test -count=1 ./...)

echo "==> Go: Grafana's plugin host starts the binary in an empty root (chroot: the binary, nothing else)"
empty_root=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-empty-root.XXXXXX")
install -m 0755 "$FLEETSCOPE_BIN" "$empty_root/gpx_fleetscope"
printf '#!/bin/sh\nexec chroot %s /gpx_fleetscope "$@"\n' "$empty_root" >"$empty_root.sh"
chmod 0755 "$empty_root.sh"
(cd tests/conformance && FLEETSCOPE_BIN="$empty_root.sh" go test -count=1 \
  -run '^(TestHandshakeAndGoPluginHealth|TestCheckHealthOKWhenAllClustersAnswer|TestQueryRangeMerge)$' ./...)
rm -rf "$empty_root" "$empty_root.sh"

echo "==> Frontend: typecheck, unit/component tests, production build"
(cd frontend && npm run typecheck && npm test && npm run build)

if [ -x frontend/scripts/browser-test.sh ]; then
  echo "==> Frontend: real browser test against gpx_fleetscope serve on the stack"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$FLEETSCOPE_BIN" serve --config "$FLEETSCOPE_STACK_DIR/fleetscope-demo.yaml" --listen "127.0.0.1:$port" \
    2>"$FLEETSCOPE_STACK_DIR/logs/serve.log" &
  serve_pid=$!
  trap 'kill $serve_pid 2>/dev/null || true; tests/stack/stack.sh down' EXIT
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/v1/clusters" >/dev/null && break; sleep 0.1; done
  FLEETSCOPE_API_URL="http://127.0.0.1:$port" frontend/scripts/browser-test.sh
fi
echo "==> all suites passed"

#!/usr/bin/env bash
# The full test suite, as `make test` runs it. Starts the real stack
# (tests/stack), runs every suite against it, stops it on exit. Fails on the
# first failing suite. Expects `make deps build` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# A stack of its own (FLEETSCOPE_STACK_DIR), so a developer's running stack is left alone.
export FLEETSCOPE_STACK_DIR="${FLEETSCOPE_TEST_STACK_DIR:-$root/.stack-test}"
tests/stack/stack.sh up
trap 'tests/stack/stack.sh down' EXIT
export FLEETSCOPE_STACK_ENV="$FLEETSCOPE_STACK_DIR/env"
export FLEETSCOPE_BIN="$root/target/release/gpx_fleetscope"

echo "==> Rust: unit + integration tests (release profile, shared with the binary)"
cargo test --release --locked

echo "==> Go: conformance harness (Grafana's plugin SDK and host)"
(cd tests/conformance && go test -count=1 ./...)

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

#!/usr/bin/env bash
# Real-browser test of the built plugins against a running Fleetscope backend.
#   FLEETSCOPE_API_URL=http://127.0.0.1:8080 scripts/browser-test.sh
# Needs FLEETSCOPE_API_URL (fails, never skips, without it). Installs Debian's
# chromium when /usr/bin/chromium is missing; builds the plugins and the harness.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${FLEETSCOPE_API_URL:-}" ]; then
  echo "browser-test: FLEETSCOPE_API_URL is not set (start: target/release/gpx_fleetscope serve --config .stack/fleetscope-demo.yaml --listen 127.0.0.1:PORT)" >&2
  exit 2
fi

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation
fi

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npx webpack -c harness/webpack.config.mjs --no-stats
node harness/browser-test.mjs

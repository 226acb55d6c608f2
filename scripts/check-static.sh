#!/usr/bin/env bash
# Proves a Linux plugin binary runs on any Linux Grafana runs on (Alpine's musl, old glibc,
# distroless): it must be a static executable.
#
#   scripts/check-static.sh BIN...          ELF headers of each: no interpreter (PT_INTERP),
#                                           no shared-library dependency (DT_NEEDED); `file` printed
#   scripts/check-static.sh --run BIN ...   and, for the first BIN (this machine's architecture),
#                                           the empty-root run: a chroot holding nothing but the
#                                           binary, where it must answer --version and print the
#                                           go-plugin handshake line when started as Grafana does
#
# The chroot needs root (make test runs as root in CI). scripts/test-all.sh also drives the Go
# harness (Grafana's plugin host) through the same kind of empty root.
set -euo pipefail

run=0
if [ "${1:-}" = "--run" ]; then run=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--run] BIN..." >&2; exit 2; }

fail() { echo "check-static: FAIL: $*" >&2; exit 1; }

for bin in "$@"; do
  [ -f "$bin" ] || fail "$bin: no such file"
  echo "check-static: $bin: $(file -b "$bin")"
  if readelf -lW "$bin" | grep -q 'INTERP'; then
    fail "$bin asks for a program interpreter ($(readelf -lW "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')): it is dynamically linked"
  fi
  needed=$(readelf -dW "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  [ -z "$needed" ] || fail "$bin needs shared libraries: $needed"
  echo "check-static: $bin: no interpreter, no shared libraries"
done

[ "$run" = 1 ] || exit 0

bin=$1
name=gpx_fleetscope   # the name clap prints in --version, whatever the file is called
root=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-empty-root.XXXXXX")
trap 'rm -rf "$root" "$root.stdout" "$root.stderr"' EXIT
install -m 0755 "$bin" "$root/$name"
listing=$(cd "$root" && find . -mindepth 1 | tr '\n' ' ')
[ "$listing" = "./$name " ] || fail "empty root is not empty: $listing"

# 1. --version, as `gpx_fleetscope <version>`.
want_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml" | head -1)
out=$(chroot "$root" "/$name" --version 2>&1) || fail "--version in the empty root: exit $?: $out"
[ "$out" = "$name $want_version" ] || fail "--version in the empty root printed '$out', want '$name $want_version'"
echo "check-static: empty root: --version → $out"

# 2. Started as Grafana starts a backend plugin (magic cookie, protocol versions, nothing else in
#    the environment), the first stdout line is go-plugin's handshake:
#    CORE-PROTOCOL-VERSION|APP-PROTOCOL-VERSION|NETWORK-TYPE|NETWORK-ADDR|PROTOCOL.
fifo="$root.stdout"
mkfifo "$fifo"
env -i grafana_plugin_type=datasource PLUGIN_PROTOCOL_VERSIONS=2 "$(command -v chroot)" "$root" "/$name" >"$fifo" 2>"$root.stderr" &
pid=$!
line=""
read -r -t 30 line <"$fifo" || true
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if ! [[ "$line" =~ ^1\|2\|(tcp|unix)\|[^|]+\|grpc$ ]]; then
  fail "no go-plugin handshake from the empty root (stdout: '$line'; stderr: $(tail -c 2000 "$root.stderr" 2>/dev/null))"
fi
rm -f "$root.stderr" "$fifo"
echo "check-static: empty root: go-plugin handshake → $line"

#!/usr/bin/env bash
# `make toolchain` (run by make test and make dist): what building the shipped binaries needs,
# on a fresh Debian machine that has rustup, as CI has. Idempotent and quick when all is there.
#   - rust-toolchain.toml's toolchain, components and musl targets (rustup reads the file);
#   - musl-gcc (Debian musl-tools): the C of ring, bundled SQLite and mimalloc for
#     x86_64-unknown-linux-musl;
#   - file and binutils (readelf): scripts/check-static.sh reads the ELF headers.
# Cross linkers for make dist (zig, cargo-zigbuild) are scripts/dist.sh's own business.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install >/dev/null   # no argument: the toolchain of rust-toolchain.toml
rustc --version

missing=()
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v file >/dev/null 2>&1 || missing+=(file)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-toolchain: not root and no sudo; install ${missing[*]} by hand" >&2; exit 1; }
    SUDO=(sudo)
  fi
  echo "install-toolchain: apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

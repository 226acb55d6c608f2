#!/usr/bin/env bash
# `make dist VERSION`: the packages a Grafana admin installs, in dist/:
#
#   dist/fleetscope-federation-datasource/         the datasource plugin folder, as Grafana loads it:
#       plugin.json, module.js, gpx_fleetscope_<os>_<arch>[.exe], dashboards/, img/,
#       README.md (the plugin page: packaging/datasource/README.md), CHANGELOG.md, LICENSE
#   dist/fleetscope-llmops-panel/                  the LLM Platform Operations panel plugin folder
#   dist/fleetscope-macos-exporter/                fleetscope-macos-exporter_darwin_<arch>, the
#                                                  launchd plist, README.md (docs/macos-exporter.md),
#                                                  LICENSE; only when a darwin build succeeded
#   dist/<folder>-<version>.zip + .zip.sha256      one zip per folder (the folder inside it)
#   dist/SHA256SUMS, dist/BUILD.txt                every file's checksum; what was built, sizes, linkage
#   dist-debug/<binary>.debug                      debug info split off the ELF binaries (beside dist,
#                                                  not in it; each binary names its file: .gnu_debuglink)
#
# Platforms (DIST_PLATFORMS, default all five): linux/amd64 and linux/arm64 are static musl
# executables and must build; darwin/arm64, darwin/amd64 and windows/amd64 are built where the
# toolchain allows and BUILD.txt says which did not (and why). linux/amd64 is the build `make
# test` tested (cargo finds it fresh); the others are cross-built with zig as the C compiler and
# linker (cargo-zigbuild, installed from PyPI into target/dist-tools). Only the shipped binaries
# are built: no tests, no examples. DIST_NO_BUILD=1 packages the binaries already in the target
# directory without invoking cargo (to iterate on packaging without a build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=${1:?usage: scripts/dist.sh VERSION}
platforms=${DIST_PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 windows/amd64}
required="linux/amd64 linux/arm64"
target_dir=${CARGO_TARGET_DIR:-$root/target}
ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1

ds_id=fleetscope-federation-datasource
panel_id=fleetscope-llmops-panel
exporter_id=fleetscope-macos-exporter
ds=dist/$ds_id
panel=dist/$panel_id
exporter=dist/$exporter_id
debug=dist-debug
today=$(date -u +%F)

log() { printf 'dist: %s\n' "$*" >&2; }
die() { printf 'dist: ERROR: %s\n' "$*" >&2; exit 1; }

triple_of() {
  case $1 in
    linux/amd64) echo x86_64-unknown-linux-musl ;;
    linux/arm64) echo aarch64-unknown-linux-musl ;;
    darwin/arm64) echo aarch64-apple-darwin ;;
    darwin/amd64) echo x86_64-apple-darwin ;;
    windows/amd64) echo x86_64-pc-windows-gnu ;;
    *) die "unknown platform $1 (linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 windows/amd64)" ;;
  esac
}

# zig + cargo-zigbuild from PyPI, pinned, in a venv of their own (the system Python stays untouched).
zig_tools() {
  local venv=$target_dir/dist-tools/venv
  if ! "$venv/bin/cargo-zigbuild" --version 2>/dev/null | grep -q "$CARGO_ZIGBUILD_VERSION"; then
    log "installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION (PyPI) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
  fi
  export PATH="$venv/bin:$PATH"
}

# llvm-objcopy reads and writes ELF of every architecture, PE and Mach-O: the machine's, else
# the one of rustup's llvm-tools component (installed on demand).
objcopy=$(command -v llvm-objcopy || true)
if [ -z "$objcopy" ]; then
  rustup component add llvm-tools >/dev/null 2>&1 || true
  objcopy=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objcopy
  [ -x "$objcopy" ] || die "no llvm-objcopy (apt-get install llvm, or rustup component add llvm-tools)"
fi

rm -rf dist "$debug"
mkdir -p "$ds" "$panel" "$exporter" "$debug"
report=dist/BUILD.txt
{
  echo "Fleetscope $version, built $(date -u +%FT%TZ) with $(rustc --version)"
  echo
} >"$report"

# ---- binaries -------------------------------------------------------------------------------
# Each platform is built once (cargo reuses the build when nothing changed). On darwin the
# exporter comes first, from its own lean crate (crates/macos-exporter: no TLS, no framework,
# so zig links it without Apple's SDK); the plugin backend there links rustls' platform
# verifier (Security, CoreFoundation frameworks) and is tried only with an SDK (SDKROOT).
failed_required=()
built=()
ship() { # ship <platform> <built file> <dist path>: stripped copy in dist, debug info beside dist (ELF)
  local platform=$1 src=$2 dst=$3 os=${1%/*}
  install -m 0755 "$src" "$dst"
  case $os in
    linux)   # debug info beside dist, the binary names it (.gnu_debuglink)
      "$objcopy" --only-keep-debug "$src" "$debug/$(basename "$dst").debug"
      "$objcopy" --strip-all --add-gnu-debuglink="$debug/$(basename "$dst").debug" "$src" "$dst" ;;
    windows) "$objcopy" --strip-all "$src" "$dst" ;;
    darwin)  # left as linked: the linker's ad-hoc code signature (Apple Silicon runs nothing
             # unsigned) would not survive objcopy; the debug info stays in the build's objects
      ;;
  esac
  chmod 0755 "$dst"
  printf '%s: %s  %s bytes (%s)  %s\n' "$platform" "$dst" "$(stat -c %s "$dst")" "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$dst")")" \
    "$(file -b "$dst")" >>"$report"
}
cross() { # cross <platform> <triple> <what> <cargo args...>: build, or say in BUILD.txt why not
  local platform=$1 triple=$2 what=$3; shift 3
  local cmd buildlog=$target_dir/dist-build-${platform//\//-}-$what.log
  if [ "$triple" = x86_64-unknown-linux-musl ]; then
    cmd=(cargo build)        # musl-gcc (make toolchain): the same build make test tested
  else
    [ "${DIST_NO_BUILD:-}" = 1 ] || zig_tools
    cmd=(cargo zigbuild)
  fi
  [ "${DIST_NO_BUILD:-}" = 1 ] && cmd=(true)   # package what is there; a missing binary is reported below
  log "$platform $what: ${cmd[*]} --release --locked --target $triple $*"
  mkdir -p "$target_dir"
  if ! "${cmd[@]}" --release --locked --target "$triple" "$@" >"$buildlog" 2>&1; then
    local reason
    reason=$(grep -m1 -E '^error' "$buildlog" || tail -1 "$buildlog")
    echo "$platform: $what NOT BUILT ($triple): $reason (full log: $buildlog)" >>"$report"
    log "$platform $what: not built: $reason"
    return 1
  fi
}
for platform in $platforms; do
  triple=$(triple_of "$platform")
  os=${platform%/*} arch=${platform#*/}
  ext=""; [ "$os" = windows ] && ext=.exe
  out=$target_dir/$triple/release
  rustup target add "$triple" >/dev/null 2>&1 || true
  if [ "$os" = darwin ]; then
    if cross "$platform" "$triple" exporter -p fleetscope-macos-exporter --bin fleetscope-macos-exporter &&
      [ -f "$out/fleetscope-macos-exporter" ]; then
      ship "$platform" "$out/fleetscope-macos-exporter" "$exporter/fleetscope-macos-exporter_darwin_${arch}"
    fi
    if [ -z "${SDKROOT:-}" ]; then
      echo "$platform: plugin NOT BUILT ($triple): its TLS verifier links Apple's Security and CoreFoundation frameworks, which zig does not ship; set SDKROOT to a MacOSX.sdk to build it" >>"$report"
      continue
    fi
  fi
  if ! cross "$platform" "$triple" plugin -p fleetscope --bin gpx_fleetscope || [ ! -f "$out/gpx_fleetscope$ext" ]; then
    [ -f "$out/gpx_fleetscope$ext" ] || echo "$platform: plugin NOT BUILT ($triple): no $out/gpx_fleetscope$ext" >>"$report"
    case " $required " in *" $platform "*) failed_required+=("$platform") ;; esac
    continue
  fi
  ship "$platform" "$out/gpx_fleetscope$ext" "$ds/gpx_fleetscope_${os}_${arch}$ext"
  built+=("$platform")
done
[ ${#failed_required[@]} -eq 0 ] || die "required platform(s) did not build: ${failed_required[*]} (see $report)"

# The Linux binaries must be static (scripts/check-static.sh; make test also runs amd64 in an empty root).
linux_bins=()
for f in "$ds"/gpx_fleetscope_linux_*; do [ -e "$f" ] && linux_bins+=("$f"); done
scripts/check-static.sh "${linux_bins[@]}" >>"$report"

# ---- plugin folders -------------------------------------------------------------------------
stamp() { sed -e "s/%VERSION%/$version/" -e "s/%TODAY%/$today/" "$1"; }

# Screenshots and logo listed in plugin.json must exist (Grafana's plugin page and validator).
check_images() { # check_images <plugin dir>
  local dir=$1 f
  for f in $(python3 -c 'import json,sys
i=json.load(open(sys.argv[1]))["info"]
print(" ".join([i["logos"]["small"], i["logos"]["large"]] + [s["path"] for s in i.get("screenshots", [])]))' "$dir/plugin.json"); do
    [ -f "$dir/$f" ] || die "$dir/plugin.json names $f, which is not in the package"
  done
}

[ -f frontend/dist/datasource/module.js ] || die "frontend/dist/datasource/module.js missing (make frontend-build)"
[ -f frontend/dist/panel/module.js ] || die "frontend/dist/panel/module.js missing (make frontend-build)"

# Datasource: the root plugin.json is the source of truth (version and date stamped).
cp -r frontend/dist/datasource/. "$ds/"
stamp plugin.json >"$ds/plugin.json"
mkdir -p "$ds/img" && cp -r img/. "$ds/img/"
cp -r dashboards "$ds/dashboards"
cp LICENSE "$ds/LICENSE"
cp packaging/datasource/README.md "$ds/README.md"
cp CHANGELOG.md "$ds/CHANGELOG.md"
check_images "$ds"

# Panel: its own plugin.json (frontend/panel), README and images.
cp -r frontend/dist/panel/. "$panel/"
stamp frontend/panel/plugin.json >"$panel/plugin.json"
mkdir -p "$panel/img" && cp -r frontend/panel/img/. "$panel/img/"
cp LICENSE "$panel/LICENSE"
cp packaging/panel/README.md "$panel/README.md"
cp CHANGELOG.md "$panel/CHANGELOG.md"
check_images "$panel"

# macOS exporter: the darwin binaries, the launchd job, install steps; no package without a binary.
packages=("$ds_id" "$panel_id")
if compgen -G "$exporter/fleetscope-macos-exporter_darwin_*" >/dev/null; then
  cp packaging/macos-exporter/io.fleetscope.macos-exporter.plist "$exporter/"
  cp docs/macos-exporter.md "$exporter/README.md"
  cp LICENSE "$exporter/LICENSE"
  packages+=("$exporter_id")
else
  rm -rf "$exporter"
  echo "$exporter_id: no darwin build, no package" >>"$report"
fi

for d in "$ds" "$panel"; do
  [ -f "$d/module.js" ] || die "$d/module.js missing"
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$d/plugin.json" || die "$d/plugin.json is not JSON"
done

# ---- zips and checksums ---------------------------------------------------------------------
# The folder at the zip's root, file modes kept (Grafana keeps the executable bit from the zip).
zip_folder() { # zip_folder <dist/folder> <zip>
  python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
base = os.path.dirname(src)
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, base))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read(), compresslevel=9)
PY
}

(cd dist && find "${packages[@]}" -type f | sort | xargs sha256sum) >dist/SHA256SUMS
for id in "${packages[@]}"; do
  zip="dist/$id-$version.zip"
  zip_folder "dist/$id" "$zip"
  (cd dist && sha256sum "$(basename "$zip")") >"$zip.sha256"
  (cd dist && sha256sum "$(basename "$zip")") >>dist/SHA256SUMS
done

{
  echo
  echo "built: ${built[*]:-none}"
  for id in "${packages[@]}"; do
    printf '%s-%s.zip  %s\n' "$id" "$version" "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "dist/$id-$version.zip")")"
  done
  echo "debug info: $(cd "$debug" && ls | tr '\n' ' ')"
} >>"$report"
cat "$report"

#!/usr/bin/env bash
# `make dist`: two plugin folders Grafana loads as they are (a datasource plugin
# cannot also be a panel, so the LLM panel is its own plugin):
#   dist/fleetscope-federation-datasource/  plugin.json, module.js, gpx_fleetscope_<os>_<arch>, img/, dashboards/
#   dist/fleetscope-llmops-panel/           plugin.json, module.js, img/
# Copy both into Grafana's plugins directory (or mount dist/ as it) and allow the
# unsigned ids: GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=fleetscope-federation-datasource,fleetscope-llmops-panel
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?version}; os_arch=${2:?os_arch}
ds=dist/fleetscope-federation-datasource
panel=dist/fleetscope-llmops-panel
rm -rf dist && mkdir -p "$ds" "$panel"

cp -r frontend/dist/datasource/. "$ds/"
# The root plugin.json is the source of truth; stamp version and date.
sed -e "s/%VERSION%/$version/" -e "s/%TODAY%/$(date -u +%F)/" plugin.json > "$ds/plugin.json"
mkdir -p "$ds/img" && cp img/logo.svg "$ds/img/"
if [ -d dashboards ]; then cp -r dashboards "$ds/dashboards"; fi
install -m 0755 target/release/gpx_fleetscope "$ds/gpx_fleetscope_${os_arch}"

cp -r frontend/dist/panel/. "$panel/"
test -f "$panel/plugin.json" || sed -e "s/%VERSION%/$version/" -e "s/%TODAY%/$(date -u +%F)/" frontend/panel/plugin.json > "$panel/plugin.json"

for d in "$ds" "$panel"; do
  test -f "$d/module.js" || { echo "dist: $d/module.js missing (frontend build failed?)" >&2; exit 1; }
  test -f "$d/plugin.json" || { echo "dist: $d/plugin.json missing" >&2; exit 1; }
done
echo "dist: $(du -sh "$ds" | cut -f1) $ds, $(du -sh "$panel" | cut -f1) $panel"

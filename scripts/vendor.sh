#!/usr/bin/env bash
# Puts the dashboard's front-end libraries into hub/dashboard/static/vendor/, fetched from the
# npm registry at install time (nothing is fetched at run time: browsers may be offline from the
# hub's point of view). Versions are pinned here; cheap when they are already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(echarts@5.6.0 world-atlas@2.0.2 topojson-client@3.1.0)
vendor=hub/dashboard/static/vendor
stamp="$vendor/.versions"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor: npm is required to fetch the dashboard's libraries (${packages[*]})" >&2
  exit 1
fi
echo "vendor: fetching ${packages[*]} from the npm registry" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${packages[@]}" >/dev/null 2>&1)
rm -rf "$vendor.partial" && mkdir -p "$vendor.partial"
for tarball in "$work"/*.tgz; do
  name=$(basename "$tarball" .tgz)
  mkdir -p "$work/$name" && tar -xzf "$tarball" -C "$work/$name"
done
cp "$work"/echarts-*/package/dist/echarts.min.js "$vendor.partial/"
cp "$work"/echarts-*/package/LICENSE "$vendor.partial/echarts.LICENSE"
cp "$work"/world-atlas-*/package/countries-50m.json "$vendor.partial/"
cp "$work"/world-atlas-*/package/LICENSE "$vendor.partial/world-atlas.LICENSE"
cp "$work"/topojson-client-*/package/dist/topojson-client.min.js "$vendor.partial/"
cp "$work"/topojson-client-*/package/LICENSE "$vendor.partial/topojson-client.LICENSE"
echo "${packages[*]}" > "$vendor.partial/.versions"
rm -rf "$vendor" && mv "$vendor.partial" "$vendor"

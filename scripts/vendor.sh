#!/usr/bin/env bash
# Vendor the web UI's front-end libraries from the npm registry into src/toancanh/web/static/vendor/.
#
# Toàn Cảnh has no Node build step at install time: the few browser libraries it uses are copied here, with
# their licenses and a VERSION file, and committed. Run this script (needs node + npm and registry access) to
# update them, then review the diff and update static/vendor/README.md if a version changed.
#
#   scripts/vendor.sh            # fetch the versions pinned below (latest matching each range)
#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/src/toancanh/web/static/vendor"

# name  npm-spec
PACKAGES=(
  "htmx htmx.org@2"
  "htmx-ext-sse htmx-ext-sse@2"
  "leaflet leaflet@1.9"
  "echarts echarts@5"
)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

# npm pack <spec> downloads the registry tarball without installing or running any package scripts.
fetch() {
  local spec="$1" dir="$2"
  mkdir -p "$dir"
  local tgz
  tgz="$(cd "$dir" && npm pack --silent --ignore-scripts "$spec" 2>/dev/null | tail -n 1)"
  tar -xzf "$dir/$tgz" -C "$dir"
  echo "$dir/package"
}

pkg_version() {
  node -e 'const p=require(process.argv[1]); process.stdout.write(p.name+"@"+p.version+"\n")' "$1/package.json"
}

copy_license() {
  local src="$1" out="$2" f
  for f in LICENSE LICENSE.md LICENSE.txt license license.md LICENCE; do
    if [[ -f "$src/$f" ]]; then cp "$src/$f" "$out/LICENSE"; return 0; fi
  done
  echo "no LICENSE file in $(pkg_version "$src")" >&2
  return 1
}

for entry in "${PACKAGES[@]}"; do
  read -r name spec <<<"$entry"
  echo "==> $spec"
  pkg="$(fetch "$spec" "$WORK/$name")"
  out="$DEST/$name"
  rm -rf "$out"
  mkdir -p "$out"
  case "$name" in
    htmx)
      cp "$pkg/dist/htmx.min.js" "$out/"
      ;;
    htmx-ext-sse)
      cp "$pkg/sse.js" "$out/" 2>/dev/null || cp "$pkg/dist/sse.js" "$out/"
      ;;
    leaflet)
      cp "$pkg/dist/leaflet.js" "$pkg/dist/leaflet.css" "$out/"
      cp -r "$pkg/dist/images" "$out/images"
      ;;
    echarts)
      cp "$pkg/dist/echarts.min.js" "$out/"
      ;;
  esac
  copy_license "$pkg" "$out"
  # Apache-2.0 packages (echarts) ship a NOTICE that must travel with the code.
  if [[ -f "$pkg/NOTICE" ]]; then cp "$pkg/NOTICE" "$out/NOTICE"; fi
  pkg_version "$pkg" >"$out/VERSION"
  echo "    $(cat "$out/VERSION") -> ${out#"$ROOT"/}"
done

echo "==> done; total size: $(du -sh "$DEST" | cut -f1)"

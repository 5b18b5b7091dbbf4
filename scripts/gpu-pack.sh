#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has Python's torch but no Node, no npm
# and no network, into .gpu-pack/ (ignored by git). With the built dist/ beside it, it is what one
# device call carries (under 64 MiB):
#   node.xz                the running Node binary, stripped and xz-compressed (~22 MB of 99)
#   node-headers.tar.xz    Node's include/node (node_api.h) for the addon build
#   node_modules.tar.xz    the production dependencies and node-addon-api's headers, nothing else
#   shared-data.tar.xz     the course's data: the HF cache (MRPC, bert-base-cased), the tokenizer
#                          folders and GLUE's MRPC TSVs, from ../shared/data (or $1)
# Run after `npm run build:ts`. Usage: bash scripts/gpu-pack.sh [SHARED_DATA_DIR]
# (NODE_BIN: another Node binary to pack than the one on PATH.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pack="$root/.gpu-pack"
shared=${1:-"$root/../shared/data"}
[ -f "$root/dist/src/index.js" ] || { echo "dist/ is not built: run npm run build:ts first" >&2; exit 1; }
[ -d "$shared/hf-home" ] || { echo "no course data at $shared (give the shared data folder as argument)" >&2; exit 1; }
rm -rf "$pack"
mkdir -p "$pack"

node_bin=${NODE_BIN:-$(command -v node)}
headers="$(dirname "$node_bin")/../include/node"
[ -f "$headers/node_api.h" ] || headers="$(dirname "$(command -v node)")/../include/node"
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
[ -f "$headers/node_api.h" ] || { echo "Node's headers (node_api.h) not found beside $node_bin" >&2; exit 1; }
strip -o "$pack/node" "$node_bin" 2>/dev/null || cp "$node_bin" "$pack/node"
xz -T0 -6 "$pack/node"
tar -C "$(dirname "$headers")" -cJf "$pack/node-headers.tar.xz" "$(basename "$headers")"

# npm's own list of the production tree (paths relative to the root), plus node-addon-api (headers).
cd "$root"
mapfile -t deps < <(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s|^$root/||" | sort -u)
tar -cJf "$pack/node_modules.tar.xz" "${deps[@]}" node_modules/node-addon-api

tar -C "$shared" -cJf "$pack/shared-data.tar.xz" hf-home models glue/MRPC
du -ch "$pack"/* dist | sed "s|$root/||"

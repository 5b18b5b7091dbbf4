#!/usr/bin/env bash
# Installs what finetune-ts needs on Debian/Ubuntu and builds it: libtorch (Debian's libtorch-dev,
# unless LIBTORCH or a Python torch is found) with gloo's headers (libgloo-dev: c10d's process group,
# for distributed training), OpenBLAS's pthread build (without it matmul falls to
# the reference BLAS, ~5 GFLOP/s), Chromium (the browser test of the ONNX export), the npm packages,
# the addon and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "finetune-ts needs Node.js >= 20 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

packages=(libtorch-dev libgloo-dev libopenblas0-pthread g++ make python3 tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ -z "${LIBTORCH:-}" ] && [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's chromium runs the browser test; where the distribution has none (Ubuntu ships it as a
# snap), that test skips and says so.
if ! command -v chromium >/dev/null && [ -z "${LIBTORCH:-}" ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; } ||
    echo "chromium could not be installed: the browser test will skip" >&2
fi

# onnxruntime-node's install script would fetch CUDA builds from outside the npm registry; its CPU
# build is inside the package, and that is the one the tests use.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build

#!/usr/bin/env bash
# The GPU check, in one command, on a machine with an NVIDIA GPU and Python's torch (CUDA build) but
# possibly no Node, no npm and no network. From the repository root, with .gpu-pack/ (made here by
# scripts/gpu-pack.sh) and the built dist/ present:
#
#   bash scripts/gpu-check.sh OUTDIR
#
# It unpacks Node and the runtime node_modules, builds the addon against that Python's libtorch (its
# C++ ABI, C++ standard, include and library paths read from the install), then runs, each under its
# own time limit and logged to OUTDIR:
#   cuda-tests   test/cuda.test.ts and the CUDA golden of test/golden.test.ts, including the course's
#                run on MRPC against a plain PyTorch loop on the same GPU (TF32 off, dropout 0)
#   judge-cpu    transformers' Trainer vs finetune-ts on this machine's CPU (dropout and shuffling on):
#                every loss within 1e-4
#   judge-cuda   the same on the GPU (within 1e-3); judge-*-ga2 with gradient accumulation 2
#   goldens-hf   the decoder and ModernBERT goldens (eager and SDPA) against transformers itself
#   speed-*      the course's whole run (bert-base, MRPC, batch 32, FT_SPEED_EPOCHS epochs, default 3)
#                in bf16 and fp16 through transformers' Trainer, a plain PyTorch loop and ours:
#                samples/s, MFU, wall time (scripts/gpu/hf_speed.py, bench/gpu_speed.ts, speed_table.py)
#   suite        every test of the repository against this libtorch, GPU visible
# and ends with a table (OUTDIR/summary.txt). Exit status: the number of steps that failed.
# FT_GPU_CHECK_SKIP="speed suite" leaves out those steps (several minutes each).
set -uo pipefail
out=${1:?usage: bash scripts/gpu-check.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pack="$root/.gpu-pack"
PY=${PYTHON:-python3}
summary="$out/summary.txt"
: >"$summary"
note() { echo "[$(date +%T)] $*" | tee -a "$summary"; }
rows=()
failed=0

# step NAME SECONDS CMD...: runs CMD with its output in OUTDIR/NAME.log, records exit status and time.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  note "$name: start"
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local secs=$((SECONDS - t0))
  rows+=("$name|$rc|$secs")
  [ $rc -eq 0 ] || failed=$((failed + 1))
  note "$name: exit $rc after ${secs}s$([ $rc -eq 124 ] && echo ' (time limit)')"
  return $rc
}

# ---- Node, its headers, the runtime node_modules and the course's data ----
# xz where the machine has it, Python's lzma where it does not.
untar_xz() {
  if command -v xz >/dev/null; then tar -C "$2" -xJf "$1"; else "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
if ! command -v node >/dev/null || [ -n "${FT_FORCE_PACKED_NODE:-}" ]; then
  [ -f "$pack/node.xz" ] || { note "no node on PATH and no $pack/node.xz: run scripts/gpu-pack.sh where Node is"; exit 1; }
  nodedir=${FT_NODE_DIR:-/tmp/ft-node}
  mkdir -p "$nodedir/bin" "$nodedir/include"
  unxz_to "$pack/node.xz" "$nodedir/bin/node" && chmod +x "$nodedir/bin/node"
  untar_xz "$pack/node-headers.tar.xz" "$nodedir/include"
  export PATH="$nodedir/bin:$PATH" NODE_HEADERS="$nodedir/include/node"
fi
[ -d node_modules/apache-arrow ] || untar_xz "$pack/node_modules.tar.xz" .
if [ ! -d ../shared/data/hf-home ]; then
  mkdir -p ../shared/data && untar_xz "$pack/shared-data.tar.xz" ../shared/data
fi
[ -f dist/src/index.js ] || { note "dist/ is missing: carry the built dist/"; exit 1; }

# ---- the libtorch of this machine's PyTorch ----
if [ -z "${LIBTORCH:-}" ]; then
  LIBTORCH=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))') || { note "$PY has no torch: set LIBTORCH or PYTHON"; exit 1; }
fi
export LIBTORCH
# pip's CUDA libraries (cuBLAS, cuDNN, NCCL, ...) live in nvidia/*/lib beside torch; Python preloads
# them, a Node process finds them through this path.
nvlibs=$("$PY" - "$LIBTORCH" 2>/dev/null <<'EOF'
import glob, os, sys
site = os.path.dirname(os.path.abspath(sys.argv[1]))
print(":".join(sorted({os.path.dirname(p) for p in glob.glob(os.path.join(site, "nvidia", "**", "lib*.so*"), recursive=True)})))
EOF
)
export LD_LIBRARY_PATH="$LIBTORCH/lib${nvlibs:+:$nvlibs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "node $(node --version)"
  "$PY" -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "transformers", transformers.__version__, "threads", torch.get_num_threads())'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  c++ --version | head -1
} >"$out/env.txt" 2>&1
cat "$out/env.txt" | tee -a "$summary"

if ! step build 420 env JOBS="$(nproc)" node scripts/build-native.mjs --direct; then
  # The one libtorch call the CPU machine cannot compile; without it AdamW's fused path is the addon's own.
  note "retrying without torch's _fused_adamw_"
  step build-without-fused-adamw 420 env JOBS="$(nproc)" FT_EXTRA_CXXFLAGS=-DFT_NO_TORCH_FUSED_ADAMW node scripts/build-native.mjs --direct ||
    { note "the addon did not build against $LIBTORCH: see $out/build.log"; exit 1; }
fi
step load 60 node -e 'import("./dist/src/torch/index.js").then((t) => { console.log("libtorch", t.torchVersion, "cuda", t.cuda.isAvailable(), "devices", t.cuda.deviceCount()); if (!t.cuda.isAvailable()) process.exit(3); })'
cat "$out/load.log" | tee -a "$summary"

# ---- CUDA tests, with the course's loop in plain PyTorch on this GPU as the golden ----
step course-pytorch 180 "$PY" scripts/golden/trainer_mrpc.py ../shared/data --device cuda --out "$out/course_cuda_pytorch.json"
step cuda-tests 300 env FINETUNE_CUDA_COURSE_GOLDEN="$out/course_cuda_pytorch.json" node --test --test-reporter=spec dist/test/cuda.test.js dist/test/golden.test.js

# ---- Hugging Face's Trainer as the judge: CPU (exact) and GPU, without and with accumulation ----
# With accumulation, transformers 5 sums the micro-batch losses for BERT's head (transformers#47688):
# those runs are printed side by side, compared as ours × micro-batches, with no pass mark.
if step hf 300 "$PY" scripts/gpu/hf_judge.py --shared ../shared/data --runs cpu:1,cpu:2,cuda:1,cuda:2 --ckpt /tmp/ft-judge-ckpt --out-dir "$out"; then
  step judge-cpu 120 node dist/bench/hf_judge.js "$out/hf_cpu_ga1.json" "$out/ours_cpu_ga1.json" --tolerance 1e-4
  step judge-cuda 120 node dist/bench/hf_judge.js "$out/hf_cuda_ga1.json" "$out/ours_cuda_ga1.json" --tolerance 1e-3
  step judge-cpu-ga2 120 node dist/bench/hf_judge.js "$out/hf_cpu_ga2.json" "$out/ours_cpu_ga2.json"
  step judge-cuda-ga2 120 node dist/bench/hf_judge.js "$out/hf_cuda_ga2.json" "$out/ours_cuda_ga2.json"
fi

# ---- the goldens written from transformers' modeling files, against transformers itself ----
step goldens-hf 180 "$PY" scripts/golden/check_against_transformers.py

# ---- speed: the course's whole run, bert-base, batch 32, per precision and implementation ----
if [[ " ${FT_GPU_CHECK_SKIP:-} " != *" speed "* ]]; then
  epochs=${FT_SPEED_EPOCHS:-3}
  for precision in bf16 fp16; do
    step "speed-hf-$precision" 300 env FT_PROCESS_START="$(date +%s.%N)" "$PY" scripts/gpu/hf_speed.py --shared ../shared/data --impl hf --precision "$precision" --epochs "$epochs" --out "$out/speed_hf_$precision.json"
    step "speed-loop-$precision" 300 env FT_PROCESS_START="$(date +%s.%N)" "$PY" scripts/gpu/hf_speed.py --shared ../shared/data --impl loop --precision "$precision" --epochs "$epochs" --out "$out/speed_loop_$precision.json"
    step "speed-ours-$precision" 300 env FT_PROCESS_START="$(date +%s.%N)" node dist/bench/gpu_speed.js "$precision" "$epochs" "$out/speed_ours_$precision.json"
  done
  "$PY" scripts/gpu/speed_table.py "$out" | tee "$out/speed.txt" | tee -a "$summary"
fi

# ---- every test against this libtorch, the GPU visible ----
[[ " ${FT_GPU_CHECK_SKIP:-} " == *" suite "* ]] || step suite 420 node --test --test-concurrency=1 --test-reporter=spec dist/test/

# ---- the table ----
{
  echo
  printf '%-16s %6s %8s  %s\n' step exit seconds result
  for r in "${rows[@]}"; do
    IFS='|' read -r name rc secs <<<"$r"
    detail=$(grep -E '^ℹ (pass|fail|skipped) ' "$out/$name.log" 2>/dev/null | sed 's/^ℹ //' | tr '\n' ' ')
    [ -z "$detail" ] && detail=$(grep -E '^largest differences' "$out/$name.log" 2>/dev/null)
    printf '%-16s %6s %8s  %s\n' "$name" "$rc" "$secs" "$detail"
  done
  grep -h 'largest differences from PyTorch' "$out/cuda-tests.log" 2>/dev/null | sed 's/^ℹ /course run: /'
  grep -hE '^✖|not ok' "$out/cuda-tests.log" "$out/suite.log" 2>/dev/null | head -40
} | tee -a "$summary"
exit $failed

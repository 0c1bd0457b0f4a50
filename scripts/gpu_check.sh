#!/usr/bin/env bash
# The GPU check of one short lease: on a machine with Python 3.12, torch
# (CUDA) and nvcc but no package registry, one call
#   1. checks what it relies on and the carry size (<= 64 MiB with the tree),
#   2. installs the carried wheels (scripts/gpu_carry.txt) into .gpu_build/,
#   3. builds mmcv 2.1.0's CUDA ops for the local GPU only (C++20 patch as
#      scripts/install.sh; TORCH_CUDA_ARCH_LIST from the device, MAX_JOBS =
#      cores; plan by scripts/mmcv_build_plan.py),
#   4. compares RoIAlign / nms CUDA vs CPU (scripts/gpu_check_ops.py),
#   5. times the R50 QDTrack and DARTH training steps, fp32 and AMP
#      (tools/analysis_tools/benchmark.py: s/iter, peak GPU memory),
#   6. tracks the real clip with the tracking tool, plain and --adapt online
#      (frames/s), when the tool exists.
#
#   bash scripts/gpu_carry.sh                      # here: fill .gpu_carry/
#   bash scripts/gpu_check.sh                      # there (carry .gpu_carry)
#   PYTHON=.venv/bin/python bash scripts/gpu_check.sh --cpu   # CPU path
#
# Without a GPU (or with --cpu) it skips the build and the install, checks
# the carry, runs the ops check against torchvision and the benchmarks at a
# tiny setting on the CPU, with the installed stack.
#
# Options: --cpu | --build-only | --iters N (timed steps, default 10).
# Environment: PYTHON (python3), GPU_CARRY (.gpu_carry), OUT (results;
# default work_dirs/gpu_check), BUILD_BUDGET_S (420: past it the build stops;
# its objects stay in .gpu_build/, and the same command on the warm machine
# goes on from them), MAX_JOBS (nproc), TRACK_TOOL (tools/track_video.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE=auto; BUILD_ONLY=0; ITERS=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) MODE=cpu ;;
    --build-only) BUILD_ONLY=1 ;;
    --iters) ITERS="$2"; shift ;;
    *) echo "usage: $0 [--cpu] [--build-only] [--iters N]" >&2; exit 2 ;;
  esac
  shift
done
PY="${PYTHON:-python3}"
CARRY="${GPU_CARRY:-$ROOT/.gpu_carry}"
BUILD="$ROOT/.gpu_build"
RESULTS="${OUT:-$ROOT/work_dirs/gpu_check}"
WORK="${TMPDIR:-/tmp}/mmplug-gpu-check"
LIMIT_MIB=64
TRACK_TOOL="${TRACK_TOOL:-tools/track_video.py}"
R50_CONFIG=configs/qdtrack/qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py
START=$SECONDS
# cores this process may use (nproc alone follows OMP_NUM_THREADS)
CORES="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"
mkdir -p "$RESULTS" "$WORK" "$BUILD"
SUMMARY="$RESULTS/summary.txt"
: > "$SUMMARY"

log() { printf '[gpu_check %4ss] %s\n' "$((SECONDS - START))" "$*"; }
note() { log "$*"; printf '%s\n' "$*" >> "$SUMMARY"; }
die() { printf '[gpu_check] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- 1. what this relies on ------------------------------------------------
command -v "$PY" >/dev/null || die "no $PY (set PYTHON)"
PROBE="$("$PY" - <<'EOF' 2>/dev/null || true
import sys
import torch
gpu = torch.cuda.is_available()
name = torch.cuda.get_device_name(0) if gpu else '-'
cap = '.'.join(map(str, torch.cuda.get_device_capability(0))) if gpu else '-'
print(f'{sys.version_info[0]}.{sys.version_info[1]} '
      f'torch={torch.__version__},cuda={torch.version.cuda},gpu={int(gpu)},'
      f'cap={cap},name={name.replace(" ", "_")}')
EOF
)"
[[ -n "$PROBE" ]] || die "$PY cannot import torch (this relies on the machine's torch)"
read -r PY_VERSION TORCH_INFO <<< "$PROBE"
GPU="$(sed -n 's/.*gpu=\([01]\).*/\1/p' <<< "$TORCH_INFO")"
if [[ "$MODE" == auto ]]; then MODE=$([[ "$GPU" == 1 ]] && echo cuda || echo cpu); fi
if [[ "$MODE" == cuda ]]; then
  [[ "$PY_VERSION" == 3.12 ]] || die "the carried wheels are cp312; $PY is Python $PY_VERSION"
  if [[ -z "${CUDA_HOME:-}" ]]; then
    NVCC="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
    [[ -n "$NVCC" ]] || die "no nvcc on PATH, in CUDA_HOME or /usr/local/cuda"
    CUDA_HOME="$(dirname "$(dirname "$(readlink -f "$NVCC")")")"
  fi
  export CUDA_HOME
  [[ -x "$CUDA_HOME/bin/nvcc" ]] || die "CUDA_HOME=$CUDA_HOME has no bin/nvcc"
  NVCC_VERSION="$("$CUDA_HOME/bin/nvcc" --version | grep -o 'release [0-9.]*' | cut -d' ' -f2)"
  note "mode cuda: Python $PY_VERSION, $TORCH_INFO, nvcc $NVCC_VERSION ($CUDA_HOME), $CORES cores"
else
  note "mode cpu (no GPU or --cpu): Python $PY_VERSION, $TORCH_INFO, $CORES cores; no CUDA build"
fi

# ---- carry size -----------------------------------------------------------
[[ -f "$CARRY/MANIFEST" ]] || die "no $CARRY/MANIFEST: run scripts/gpu_carry.sh here first"
CARRY_BYTES=0
while IFS=$'\t' read -r size digest name; do
  [[ -f "$CARRY/$name" ]] || die "carry: $name (in MANIFEST) is missing"
  [[ "$(stat -c %s "$CARRY/$name")" == "$size" ]] || die "carry: $name has not the size in MANIFEST"
  [[ "$(sha256sum "$CARRY/$name" | cut -d' ' -f1)" == "$digest" ]] || die "carry: $name does not match MANIFEST"
  CARRY_BYTES=$((CARRY_BYTES + size))
done < "$CARRY/MANIFEST"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then  # what travels
  TREE_BYTES="$(git -C "$ROOT" ls-files -z -c -o --exclude-standard |
                xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')"
else
  TREE_BYTES="$(du -sb --exclude=.gpu_carry --exclude=.gpu_build "$ROOT" | cut -f1)"
fi
TOTAL=$((CARRY_BYTES + TREE_BYTES))
note "$(awk -v c="$CARRY_BYTES" -v t="$TREE_BYTES" -v l="$LIMIT_MIB" 'BEGIN {
  printf "carry %.1f MiB + working tree %.1f MiB = %.1f MiB (limit %d MiB)",
         c / 2^20, t / 2^20, (c + t) / 2^20, l}')"
(( TOTAL <= LIMIT_MIB * 1024 * 1024 )) || die "carry + working tree over $LIMIT_MIB MiB"

# ---- 2. + 3. install the carried wheels, build mmcv's CUDA ops -------------
if [[ "$MODE" == cuda ]]; then
  SITE="$BUILD/site"
  STAMP="$(sha256sum "$CARRY/MANIFEST" | cut -d' ' -f1)"
  if [[ "$(cat "$SITE/.carry-stamp" 2>/dev/null)" != "$STAMP" ]]; then
    log "installing the carried wheels into $SITE"
    "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps \
      --no-compile --no-cache-dir --upgrade --target "$SITE" "$CARRY"/*.whl
    echo "$STAMP" > "$SITE/.carry-stamp"
  fi
  export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  if ! "$PY" -c 'import mmcv.ops, sys; sys.exit(mmcv.ops.get_compiling_cuda_version() == "not available")' 2>/dev/null; then
    eval "$(MMPLUG_CUDA=1 MMPLUG_CUDA_TOOLKIT=system "$PY" scripts/mmcv_build_plan.py)" \
      || die "cannot plan the mmcv build (see above)"
    SRC="$BUILD/mmcv-2.1.0"
    if [[ ! -d "$SRC" ]]; then
      tar -xzf "$CARRY/mmcv-2.1.0.tar.gz" -C "$BUILD"
      # as scripts/install.sh: torch's headers need C++20 (cxx and nvcc)
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
      grep -q 'std=c++20' "$SRC/setup.py" || die "could not patch mmcv setup.py to C++20"
    fi
    export MAX_JOBS="${MAX_JOBS:-$CORES}"
    LIBS="$("$PY" -c 'import glob, os, nvidia; print(":".join(sorted(glob.glob(os.path.join(list(nvidia.__path__)[0], "*", "include")))))' 2>/dev/null || true)"
    note "building mmcv 2.1.0 CUDA ops: CUDA $CUDA_VERSION, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST, MAX_JOBS=$MAX_JOBS"
    T0=$SECONDS
    set +e
    (cd "$SRC" && timeout "${BUILD_BUDGET_S:-420}" env MMCV_WITH_OPS=1 FORCE_CUDA=1 \
       TORCH_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST" PATH="$CUDA_HOME/bin:$PATH" \
       CPATH="$LIBS${CPATH:+:$CPATH}" CFLAGS="${CFLAGS:-} -g0" \
       "$PY" setup.py -q bdist_wheel -d "$BUILD/dist") > "$RESULTS/build.log" 2>&1
    rc=$?
    set -e
    if [[ $rc == 124 ]]; then
      note "mmcv build stopped after ${BUILD_BUDGET_S:-420} s: its objects stay in $BUILD; run the same command again on the warm machine to go on"
      exit 75
    fi
    [[ $rc == 0 ]] || { tail -n 40 "$RESULTS/build.log"; die "mmcv build failed (build.log)"; }
    note "mmcv build: $((SECONDS - T0)) s"
    "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps \
      --no-compile --upgrade --target "$SITE" "$(ls "$BUILD"/dist/mmcv-*.whl | head -n1)"
  fi
  "$PY" -c 'import mmcv.ops, mmdet, mmengine, trackeval, mmplug' \
    || die "the installed stack does not import"
  DEVICE=cuda
else
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  "$PY" -c 'import mmcv.ops, mmdet, mmengine, trackeval, mmplug' \
    || die "$PY lacks the stack (scripts/install.sh installs it)"
  DEVICE=cpu
fi
[[ "$BUILD_ONLY" == 1 ]] && { note "--build-only: done"; exit 0; }

# ---- 4. ops ---------------------------------------------------------------
OPS_ARGS=(--out "$RESULTS/ops.json"); [[ "$MODE" == cpu ]] && OPS_ARGS+=(--cpu)
"$PY" scripts/gpu_check_ops.py "${OPS_ARGS[@]}" | tee -a "$SUMMARY"

# ---- 5. training-step benchmarks -------------------------------------------
bench() {  # bench NAME ARGS...: R50 QDTrack vs DARTH steps
  local name="$1"; shift
  log "benchmark $name: $*"
  "$PY" tools/analysis_tools/benchmark.py --preset r50 --random-weights \
    --data-root "$WORK/data" --device "$DEVICE" --out "$RESULTS/$name.json" \
    "$@" > "$WORK/$name.log" 2>&1 || { tail -n 30 "$WORK/$name.log"; die "benchmark $name failed"; }
  grep -E 'step median|darth_step/qdtrack_step' "$WORK/$name.log" | sed "s/^/$name: /" | tee -a "$SUMMARY"
}
if [[ "$MODE" == cuda ]]; then
  bench bench_fp32 --iters "$ITERS" --warmup 3 --batch-size 2
  bench bench_amp --iters "$ITERS" --warmup 3 --batch-size 2 --amp
else  # tiny: one timed step of batch 1 each (AMP is a CUDA measure)
  bench bench_cpu --iters 1 --warmup 0 --batch-size 1
fi

# ---- 6. tracking the real clip: plain vs online adaptation ----------------
CLIP="$CARRY/street-8f.mp4"
if [[ ! -f "$TRACK_TOOL" ]]; then
  note "tracking tool $TRACK_TOOL not in this tree: clip timing skipped"
else
  CKPT="$WORK/r50_random.pth"
  "$PY" - "$R50_CONFIG" "$CKPT" <<'EOF'
import sys
from mmengine.config import Config
from mmplug.apis.step_benchmark import random_source_checkpoint
random_source_checkpoint(Config.fromfile(sys.argv[1]), sys.argv[2])
EOF
  FRAMES="$("$PY" -c 'import cv2, sys; print(int(cv2.VideoCapture(sys.argv[1]).get(cv2.CAP_PROP_FRAME_COUNT)))' "$CLIP")"
  for adapt in none online; do
    rm -rf "$WORK/tracks-$adapt"
    T0=$(date +%s.%N)
    "$PY" "$TRACK_TOOL" "$CLIP" "$R50_CONFIG" --checkpoint "$CKPT" \
      --device "$DEVICE" --adapt "$adapt" --out-tracks "$WORK/tracks-$adapt" \
      --out "$WORK/track-$adapt.mp4" > "$RESULTS/track_$adapt.log" 2>&1 \
      || { tail -n 30 "$RESULTS/track_$adapt.log"; die "tracking tool failed (--adapt $adapt)"; }
    WALL="$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')"
    OWN="$(grep -oE '[0-9.]+ ?(frames/s|fps|it/s)' "$RESULTS/track_$adapt.log" | tail -n1 || true)"
    note "$(printf 'track --adapt %-6s %s frames: %.1f s wall with start-up (%.2f frames/s); the tool says: %s' \
      "$adapt" "$FRAMES" "$WALL" "$(awk -v f="$FRAMES" -v w="$WALL" 'BEGIN {print f / w}')" "${OWN:-n/a}")"
  done
fi
note "done in $((SECONDS - START)) s; results in $RESULTS"

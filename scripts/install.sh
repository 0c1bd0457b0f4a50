#!/usr/bin/env bash
# One-command set-up of the mmplug stack (called by `make install`).
#
#   VENV=.venv bash scripts/install.sh
#
# Steps: virtual environment -> pinned torch / torchvision -> mmcv 2.1.0 built
# from source against that torch (wheel cached outside the repo, keyed by the
# torch version) -> mmengine / mmdet / trackeval -> `pip install -e .` -> checks.
# A stamp in the venv (hash of this script and the pin files) makes a repeat run
# with nothing changed only re-run the checks.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# absolute: builds run in other folders (CUDA_HOME may lie in the venv)
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PYTHON_BOOT="${PYTHON:-python3}"
CONSTRAINTS="$ROOT/constraints.txt"
MMCV_VERSION="2.1.0"
WHEEL_CACHE="${MMPLUG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmplug/wheels}"
export MAX_JOBS="${MAX_JOBS:-2}"

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

stamp_hash() {
  { cat "$ROOT/scripts/install.sh" "$ROOT/scripts/mmcv_build_plan.py" \
      "$CONSTRAINTS" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" \
      "$ROOT/setup.py"
    echo "MMPLUG_CUDA=${MMPLUG_CUDA:-auto} ARCH=${TORCH_CUDA_ARCH_LIST:-}" \
      "TOOLKIT=${MMPLUG_CUDA_TOOLKIT:-auto}"
  } | sha256sum | cut -d' ' -f1
}

verify() {
  # Fails loudly when any compiled piece does not load against this torch.
  "$PY" - <<'EOF'
import sys
try:
    import torch, torchvision
    import torchvision.ops
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0], keep
    import mmcv, mmcv.ops
    from mmcv.ops import nms as mmcv_nms
    dets, _ = mmcv_nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert dets.shape[0] == 1
    built = mmcv.ops.get_compiling_cuda_version()
    if built != 'not available':  # the CUDA build
        assert built == torch.version.cuda, \
            f'mmcv ops built for CUDA {built}, torch uses {torch.version.cuda}'
        if torch.cuda.is_available():  # its kernels agree with the CPU ones
            from mmcv.ops import RoIAlign
            gen = torch.Generator().manual_seed(0)
            feats = torch.rand(2, 8, 32, 32, generator=gen)
            xy = torch.rand(64, 2, generator=gen) * 20
            wh = torch.rand(64, 2, generator=gen) * 12 + 1
            rois = torch.cat([torch.randint(0, 2, (64, 1), generator=gen),
                              xy, xy + wh], 1).float()
            align = RoIAlign(7, 0.5, 2)
            diff = (align(feats.cuda(), rois.cuda()).cpu() -
                    align(feats, rois)).abs().max().item()
            assert diff < 1e-4, f'RoIAlign CUDA vs CPU differ by {diff}'
            scores = torch.rand(64, generator=gen)
            boxes = rois[:, 1:].contiguous()
            keep_gpu = mmcv_nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu()
            keep_cpu = mmcv_nms(boxes, scores, 0.5)[1]
            assert torch.equal(keep_gpu, keep_cpu), 'nms CUDA vs CPU differ'
            print(f'[install] CUDA ops agree with CPU (RoIAlign max diff '
                  f'{diff:.1e}, nms equal)')
    import mmengine, mmdet, trackeval
    import mmplug
except Exception as exc:  # noqa: BLE001 - report whatever broke, then fail
    print(f'[install] verification FAILED: {type(exc).__name__}: {exc}',
          file=sys.stderr)
    sys.exit(1)
print(f'[install] OK: torch {torch.__version__}, torchvision '
      f'{torchvision.__version__}, mmcv {mmcv.__version__} (ops; CUDA: '
      f'{built}), mmengine {mmengine.__version__}, mmdet '
      f'{mmdet.__version__}, mmplug {mmplug.__version__}')
EOF
}

STAMP="$VENV/.mmplug-install-stamp"
if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_hash)" ]]; then
  log "environment up to date ($VENV); verifying"
  if verify; then exit 0; fi
  log "verification failed: reinstalling"
  rm -f "$STAMP"
fi

if [[ ! -x "$PY" ]]; then
  log "creating virtual environment $VENV"
  "$PYTHON_BOOT" -m venv "$VENV"
fi

log "build tools (setuptools < 81: mmcv 2.1.0's setup.py imports pkg_resources)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" pip setuptools wheel

log "torch / torchvision (pinned pair that runs on CPU)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" torch torchvision
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
# CPU or CUDA ops, toolkit, architectures and wheel-cache key
# (scripts/mmcv_build_plan.py; MMPLUG_CUDA=0|1 forces either way)
PLAN="$("$PY" "$ROOT/scripts/mmcv_build_plan.py")" || die "cannot plan the mmcv build (see above)"
eval "$PLAN"
CACHE_DIR="$WHEEL_CACHE/$MMCV_CACHE_KEY"
if [[ "$MMPLUG_BUILD" == cuda ]]; then
  log "CUDA build of mmcv's ops: CUDA $CUDA_VERSION, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST"
fi

log "mmengine and the pure-Python needs of mmcv (import mmcv.ops needs them)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" mmengine opencv-python addict yapf \
  pyyaml packaging

# mmcv.ops imports, and was compiled for this plan: CPU ops only, or the
# CUDA version torch uses
mmcv_ops_ok() {
  "$PY" - "$MMPLUG_BUILD" "${CUDA_VERSION:-}" >/dev/null 2>&1 <<'PY'
import sys
from mmcv.ops import get_compiling_cuda_version
got = get_compiling_cuda_version()
build, cuda = sys.argv[1], sys.argv[2]
sys.exit(0 if (got == 'not available') == (build == 'cpu') and
         (build == 'cpu' or got == cuda) else 1)
PY
}

# nvcc and headers of torch's CUDA version: CUDA_HOME or a system toolkit
# when the plan found one, else the registry's NVIDIA packages in the venv
cuda_toolkit() {
  if [[ -n "$CUDA_HOME" ]]; then
    log "CUDA toolkit: $CUDA_HOME"
    return 0
  fi
  local dir="$VENV/cuda-toolkit-$CUDA_VERSION"
  if [[ ! -x "$(ls "$dir"/nvidia/cu*/bin/nvcc 2>/dev/null | head -n1)" ]]; then
    log "CUDA toolkit from the registry: $TOOLKIT_PACKAGES"
    # shellcheck disable=SC2086
    "${PIP[@]}" install -q --no-deps --target "$dir" $TOOLKIT_PACKAGES
  fi
  CUDA_HOME="$(dirname "$(dirname "$(ls "$dir"/nvidia/cu*/bin/nvcc | head -n1)")")"
  # the layout torch's extension builder expects
  [[ -e "$CUDA_HOME/lib64" ]] || ln -s lib "$CUDA_HOME/lib64"
  [[ -e "$CUDA_HOME/lib/libcudart.so" ]] || \
    ln -s "$(basename "$(ls "$CUDA_HOME"/lib/libcudart.so.* | head -n1)")" \
      "$CUDA_HOME/lib/libcudart.so"
  log "CUDA toolkit: $CUDA_HOME ($("$CUDA_HOME/bin/nvcc" --version | grep -o 'release [0-9.]*'))"
}

install_mmcv() {
  local wheel
  wheel="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -n "$wheel" ]]; then
    log "mmcv $MMCV_VERSION from cached wheel $wheel"
    "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
    if mmcv_ops_ok; then return 0; fi
    log "cached mmcv wheel does not load against torch $TORCH_VERSION: rebuilding"
    rm -f "$wheel"
  fi
  build_mmcv
}

build_mmcv() {
  # mmcv 2.1.0 ships only an sdist. Its setup.py forces -std=c++17, but the
  # torch 2.14 headers need C++20, so the flag is patched before building.
  BUILD_TMP="$(mktemp -d)"
  trap 'rm -rf "$BUILD_TMP"' EXIT
  local work="$BUILD_TMP"
  log "building mmcv $MMCV_VERSION with $MMPLUG_BUILD ops against torch $TORCH_VERSION (CPU: ~8 min on 2 cores)"
  "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" "mmcv==$MMCV_VERSION"
  tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
  local src="$work/mmcv-$MMCV_VERSION"
  # C++ and CUDA sources alike (setup.py passes the flag to nvcc too)
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q 'std=c++20' "$src/setup.py" || die "could not patch mmcv setup.py to C++20"
  mkdir -p "$CACHE_DIR"
  local env=(MMCV_WITH_OPS=1 FORCE_CUDA=0)
  if [[ "$MMPLUG_BUILD" == cuda ]]; then
    cuda_toolkit
    # headers of the CUDA libraries torch links (cuBLAS, cuSPARSE, ...):
    # those of torch's own NVIDIA wheels, which a nvcc-only toolkit lacks
    local libs
    libs="$("$PY" -c 'import glob, os, nvidia; print(":".join(sorted(glob.glob(os.path.join(list(nvidia.__path__)[0], "*", "include")))))')"
    env=(MMCV_WITH_OPS=1 FORCE_CUDA=1 CUDA_HOME="$CUDA_HOME"
         TORCH_CUDA_ARCH_LIST="$TORCH_CUDA_ARCH_LIST"
         PATH="$CUDA_HOME/bin:$PATH" CPATH="$libs${CPATH:+:$CPATH}")
  fi
  # -g0: no debug info, a large part of the compile time of mmcv's ops
  env "${env[@]}" CFLAGS="${CFLAGS:-} -g0" "${PIP[@]}" wheel -q \
    --no-deps --no-build-isolation -w "$work/dist" "$src"
  local built
  built="$(ls "$work"/dist/mmcv-*.whl | head -n1)"
  # Copy then rename: a crash never leaves a half-written wheel in the cache.
  cp "$built" "$CACHE_DIR/.tmp.whl"
  mv "$CACHE_DIR/.tmp.whl" "$CACHE_DIR/$(basename "$built")"
  "${PIP[@]}" install -q --no-deps --force-reinstall "$CACHE_DIR/$(basename "$built")"
  mmcv_ops_ok || die "mmcv.ops does not import (or is not a $MMPLUG_BUILD build) after building against torch $TORCH_VERSION"
}

if mmcv_ops_ok && [[ "$("$PY" -c 'import mmcv; print(mmcv.__version__)')" == "$MMCV_VERSION" ]]; then
  log "mmcv $MMCV_VERSION with $MMPLUG_BUILD ops already installed"
else
  install_mmcv
fi

log "mmengine, mmdet, trackeval and mmplug (editable)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" -r "$ROOT/requirements.txt" \
  -r "$ROOT/requirements-dev.txt"
"${PIP[@]}" install -q -c "$CONSTRAINTS" --no-build-isolation --no-deps -e "$ROOT"
# the reference ImageNet-C implementation, for the corruption tests only:
# beside the venv's packages, as it has the fork's import name
"${PIP[@]}" install -q -c "$CONSTRAINTS" --no-deps --upgrade \
  --target "$VENV/share/mmplug-reference" imagecorruptions

verify || die "the installed stack is broken (see above)"
stamp_hash > "$STAMP"
log "done"

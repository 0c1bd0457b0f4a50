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
  cat "$ROOT/scripts/install.sh" "$CONSTRAINTS" "$ROOT/requirements.txt" \
      "$ROOT/requirements-dev.txt" \
      "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
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
    import mmengine, mmdet, trackeval
    import mmplug
except Exception as exc:  # noqa: BLE001 - report whatever broke, then fail
    print(f'[install] verification FAILED: {type(exc).__name__}: {exc}',
          file=sys.stderr)
    sys.exit(1)
print(f'[install] OK: torch {torch.__version__}, torchvision '
      f'{torchvision.__version__}, mmcv {mmcv.__version__} (ops), mmengine '
      f'{mmengine.__version__}, mmdet {mmdet.__version__}, mmplug '
      f'{mmplug.__version__}')
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
PY_TAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
CACHE_DIR="$WHEEL_CACHE/torch-$TORCH_VERSION-$PY_TAG"

log "mmengine and the pure-Python needs of mmcv (import mmcv.ops needs them)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" mmengine opencv-python addict yapf \
  pyyaml packaging

mmcv_ops_ok() { "$PY" -c 'import mmcv.ops' >/dev/null 2>&1; }

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
  log "building mmcv $MMCV_VERSION with ops against torch $TORCH_VERSION (~8 min on 2 cores)"
  "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" "mmcv==$MMCV_VERSION"
  tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
  local src="$work/mmcv-$MMCV_VERSION"
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q 'std=c++20' "$src/setup.py" || die "could not patch mmcv setup.py to C++20"
  mkdir -p "$CACHE_DIR"
  # -g0: no debug info, a large part of the compile time of mmcv's ops
  CFLAGS="${CFLAGS:-} -g0" MMCV_WITH_OPS=1 FORCE_CUDA=0 "${PIP[@]}" wheel -q \
    --no-deps --no-build-isolation -w "$work/dist" "$src"
  local built
  built="$(ls "$work"/dist/mmcv-*.whl | head -n1)"
  # Copy then rename: a crash never leaves a half-written wheel in the cache.
  cp "$built" "$CACHE_DIR/.tmp.whl"
  mv "$CACHE_DIR/.tmp.whl" "$CACHE_DIR/$(basename "$built")"
  "${PIP[@]}" install -q --no-deps --force-reinstall "$CACHE_DIR/$(basename "$built")"
  mmcv_ops_ok || die "mmcv.ops does not import after building against torch $TORCH_VERSION"
}

if mmcv_ops_ok && [[ "$("$PY" -c 'import mmcv; print(mmcv.__version__)')" == "$MMCV_VERSION" ]]; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  install_mmcv
fi

log "mmengine, mmdet, trackeval and mmplug (editable)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" -r "$ROOT/requirements.txt" \
  -r "$ROOT/requirements-dev.txt"
"${PIP[@]}" install -q -c "$CONSTRAINTS" --no-build-isolation --no-deps -e "$ROOT"

verify || die "the installed stack is broken (see above)"
stamp_hash > "$STAMP"
log "done"

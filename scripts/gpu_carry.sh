#!/usr/bin/env bash
# Fill .gpu_carry/ with what scripts/gpu_check.sh needs on a GPU machine
# without a package registry (the list: scripts/gpu_carry.txt).
#
#   bash scripts/gpu_carry.sh [CARRY_DIR]      # default: .gpu_carry
#
# Downloads (here, with pip) the mmcv sdist and cp312 manylinux wheels,
# copies the listed files, then checks the folder: every wheel is one a
# Python 3.12 x86-64 pip accepts (when python3.12 is found here), every
# Requires-Dist of a carried wheel is carried or listed as present there,
# and the total stays within the 64 MiB that may travel. Writes
# CARRY_DIR/MANIFEST (size and sha256 of each file). Re-running downloads
# only what is missing; a file no longer listed is removed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIST="$ROOT/scripts/gpu_carry.txt"
CARRY="${1:-$ROOT/.gpu_carry}"
# the project's environment (make install) has the setuptools / wheel that
# pip needs to read the mmcv sdist's metadata; a bare python3 may not
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
LIMIT_MIB="${GPU_CARRY_LIMIT_MIB:-64}"
# pip matches each manylinux tag exactly: the ones cp312 wheels use
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64
           manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)

log() { printf '[gpu_carry] %s\n' "$*"; }
die() { printf '[gpu_carry] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f "$LIST" ]] || die "carry list $LIST not found"
mkdir -p "$CARRY"
PIP=("$PY" -m pip --disable-pip-version-check)
platform_args=()
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done

have() {  # a carried file for NAME==VERSION (wheel or sdist) exists
  local name="${1%%==*}" version="${1##*==}"
  ls "$CARRY"/"${name//-/_}"-"$version"[-.]* \
    "$CARRY"/"$name"-"$version"[-.]* 2>/dev/null | grep -q .
}

keep=()
while read -r kind rest; do
  case "$kind" in
    ''|'#'*) continue ;;
    sdist)
      have "$rest" || "${PIP[@]}" download -q --no-deps --no-binary :all: \
        --no-build-isolation -d "$CARRY" "$rest"
      keep+=("sdist:$rest") ;;
    wheel)
      have "$rest" || "${PIP[@]}" download -q --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp "${platform_args[@]}" \
        -d "$CARRY" "$rest"
      keep+=("wheel:$rest") ;;
    file)
      src="$ROOT/$rest"
      [[ -f "$src" ]] || die "$LIST: file $rest not found ($src)"
      install -m 644 "$src" "$CARRY/$(basename "$rest")"
      keep+=("file:$(basename "$rest")") ;;
    present) ;;
    *) die "$LIST: unknown kind '$kind' (sdist, wheel, file or present)" ;;
  esac
done < "$LIST"

# check the folder against the list; write the manifest
"$PY" - "$LIST" "$CARRY" "$LIMIT_MIB" "${keep[@]}" <<'EOF'
import hashlib
import os
import re
import sys
import zipfile

list_path, carry, limit_mib, keep = sys.argv[1], sys.argv[2], \
    float(sys.argv[3]), sys.argv[4:]


def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()


present = set()
with open(list_path) as f:
    for line in f:
        parts = line.split('#')[0].split()
        if parts and parts[0] == 'present':
            present.update(norm(p) for p in parts[1:])

wanted = {}  # normalised file-name prefix -> entry
for entry in keep:
    kind, spec = entry.split(':', 1)
    if kind == 'file':
        wanted[spec] = entry
    else:
        name, version = spec.split('==')
        wanted[f'{norm(name)}-{version}'] = entry

files = sorted(f for f in os.listdir(carry) if f != 'MANIFEST')
carried, extra = {}, []
for name in files:
    key = next((k for k in wanted
                if name == k or norm(name).startswith(norm(k) + '-') or
                norm(name).startswith(norm(k) + '.tar')), None)
    if key is None:
        extra.append(name)
    else:
        carried.setdefault(key, []).append(name)
for name in extra:  # no longer listed
    os.remove(os.path.join(carry, name))
    print(f'[gpu_carry] removed {name} (not in the list)')
missing = sorted(set(wanted) - set(carried))
if missing:
    sys.exit(f'[gpu_carry] ERROR: not downloaded: {missing}')
twice = {k: v for k, v in carried.items() if len(v) > 1}
if twice:
    sys.exit(f'[gpu_carry] ERROR: more than one file for {twice}')

# every requirement of a carried wheel is carried or present there
names = {k.rsplit('-', 1)[0] for k in wanted} | present
unmet = []
for files_ in carried.values():
    wheel = files_[0]
    if not wheel.endswith('.whl'):
        continue
    with zipfile.ZipFile(os.path.join(carry, wheel)) as zf:
        meta = next(n for n in zf.namelist()
                    if n.endswith('.dist-info/METADATA'))
        for line in zf.read(meta).decode().splitlines():
            if not line.startswith('Requires-Dist:'):
                continue
            req = line.split(':', 1)[1].strip()
            marker = req.split(';', 1)[1] if ';' in req else ''
            if 'extra' in marker or 'win32' in marker:
                continue
            if re.search(r'python_version\s*(<|==)\s*["\']3\.(\d+)', marker):
                continue  # only for older Pythons than 3.12
            dep = norm(re.split(r'[\s<>=!~;\[(]', req, 1)[0])
            if dep not in names:
                unmet.append(f'{wheel}: {req}')
if unmet:
    sys.exit('[gpu_carry] ERROR: requirements neither carried nor present '
             'there (add them to scripts/gpu_carry.txt):\n  ' +
             '\n  '.join(unmet))

total = 0
with open(os.path.join(carry, 'MANIFEST.tmp'), 'w') as out:
    for files_ in sorted(carried.values()):
        path = os.path.join(carry, files_[0])
        size = os.path.getsize(path)
        total += size
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        out.write(f'{size}\t{digest}\t{files_[0]}\n')
os.replace(os.path.join(carry, 'MANIFEST.tmp'),
           os.path.join(carry, 'MANIFEST'))
print(f'[gpu_carry] {len(carried)} files, {total / 2**20:.1f} MiB '
      f'(limit {limit_mib:g} MiB with the working tree)')
if total > limit_mib * 2**20:
    sys.exit(f'[gpu_carry] ERROR: carry is over {limit_mib:g} MiB')
EOF

# the wheels install on Python 3.12 (tags, metadata), when one is here
PY312="$(command -v python3.12 || true)"
if ! "${PY312:-false}" -m pip --version >/dev/null 2>&1 && \
    command -v pyenv >/dev/null 2>&1; then  # a pyenv shim without a version
  PY312="$(pyenv root)/versions/$(pyenv versions --bare | grep -m1 '^3\.12' || true)/bin/python3.12"
fi
if "${PY312:-false}" -m pip --version >/dev/null 2>&1; then
  target="$(mktemp -d)"
  trap 'rm -rf "$target"' EXIT
  "$PY312" -m pip --disable-pip-version-check install -q --no-index \
    --no-deps --no-compile --target "$target" "$CARRY"/*.whl \
    || die "the carried wheels do not install on $("$PY312" --version)"
  log "the wheels install on $("$PY312" --version) (--no-deps, as gpu_check.sh)"
else
  log "no python3.12 here: wheel tags not checked by installing"
fi
log "done: $CARRY"

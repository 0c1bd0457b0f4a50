"""How scripts/install.sh builds mmcv's ops here: CPU or CUDA, with which
toolkit, for which GPU architectures, cached under which key.

    python scripts/mmcv_build_plan.py    # prints shell assignments

Run with the venv's python after torch is installed (it imports torch, not
mmcv or mmplug). Environment:

- ``MMPLUG_CUDA``: ``1`` builds the CUDA ops (also without a GPU, e.g. to
  check the build), ``0`` the CPU ops; unset: CUDA when
  ``torch.cuda.is_available()``.
- ``TORCH_CUDA_ARCH_LIST``: the GPU architectures to compile for; unset:
  the local GPU's (required without a GPU).
- ``CUDA_HOME``: a toolkit to use; it must match torch's CUDA version.
  Otherwise a system toolkit of that version (``/usr/local/cuda-X.Y``, or
  ``/usr/local/cuda`` when it is that version) is used, and without one
  the registry's NVIDIA packages of that version are installed.
- ``MMPLUG_CUDA_TOOLKIT``: ``auto`` (default: the order above),
  ``system`` (a system toolkit or ``CUDA_HOME``, else an error) or
  ``registry`` (always the registry's packages, e.g. to check that path on
  a machine that has a toolkit).
"""
import glob
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
from typing import Dict, Mapping, Optional

# the registry packages that make a toolkit able to build PyTorch
# extensions (nvcc and its crt / nvvm, CUDA runtime headers and library,
# CCCL: thrust / cub / libcu++)
TOOLKIT_PACKAGES = ('nvidia-cuda-nvcc', 'nvidia-cuda-crt', 'nvidia-nvvm',
                    'nvidia-cuda-runtime', 'nvidia-cuda-cccl')


def want_cuda(env: Mapping[str, str], cuda_available: bool) -> bool:
    value = env.get('MMPLUG_CUDA', '').strip()
    if value not in ('', '0', '1'):
        raise ValueError(f'MMPLUG_CUDA must be 0, 1 or unset, got {value!r}')
    return cuda_available if value == '' else value == '1'


def arch_list(env: Mapping[str, str],
              capability: Optional[tuple]) -> str:
    """TORCH_CUDA_ARCH_LIST: as set, else the local GPU's (e.g. ``9.0``)."""
    value = env.get('TORCH_CUDA_ARCH_LIST', '').strip()
    if value:
        return value
    if capability is None:
        raise ValueError('no GPU here to take the architecture from: set '
                         'TORCH_CUDA_ARCH_LIST (e.g. 9.0 for H100)')
    return f'{capability[0]}.{capability[1]}'


def cache_key(torch_version: str, py_tag: str, cuda: bool,
              cuda_version: Optional[str] = None, arch: str = '') -> str:
    """The wheel-cache folder: CPU wheels keep the key they always had; a
    CUDA wheel's key adds the CUDA version and the architectures, so a CPU
    wheel never serves a GPU machine or the reverse."""
    key = f'torch-{torch_version}-{py_tag}'
    if not cuda:
        return key
    archs = '_'.join(re.split(r'[;\s,]+', arch.strip()))
    return f'{key}-cuda{cuda_version}-arch{archs}'


def toolkit_version(cuda_home: str) -> Optional[str]:
    """``X.Y`` of the toolkit at ``cuda_home`` (version.json or nvcc)."""
    info = osp.join(cuda_home, 'version.json')
    if osp.isfile(info):
        with open(info) as f:
            version = json.load(f).get('cuda', {}).get('version', '')
        return '.'.join(version.split('.')[:2]) or None
    nvcc = osp.join(cuda_home, 'bin', 'nvcc')
    if not osp.isfile(nvcc):
        return None
    out = subprocess.run([nvcc, '--version'], capture_output=True,
                         text=True).stdout
    match = re.search(r'release (\d+\.\d+)', out)
    return match.group(1) if match else None


def find_toolkit(cuda_version: str, env: Mapping[str, str],
                 roots=('/usr/local', )) -> Optional[str]:
    """A toolkit of torch's CUDA version, or None (then: registry)."""
    home = env.get('CUDA_HOME', '').strip()
    if home:
        found = toolkit_version(home)
        if found != cuda_version:
            raise ValueError(f'CUDA_HOME={home} is CUDA {found}, torch is '
                             f'built with {cuda_version}')
        return home
    for root in roots:
        for home in [osp.join(root, f'cuda-{cuda_version}')] + sorted(
                glob.glob(osp.join(root, 'cuda'))):
            if osp.isfile(osp.join(home, 'bin', 'nvcc')) and \
                    toolkit_version(home) == cuda_version:
                return home
    return None


TOOLKIT_SOURCES = ('auto', 'system', 'registry')


def toolkit_home(cuda_version: str, env: Mapping[str, str],
                 roots=('/usr/local', )) -> Optional[str]:
    """The toolkit to build with, or None for the registry's packages."""
    source = env.get('MMPLUG_CUDA_TOOLKIT', '').strip() or 'auto'
    if source not in TOOLKIT_SOURCES:
        raise ValueError(f'MMPLUG_CUDA_TOOLKIT must be one of '
                         f'{TOOLKIT_SOURCES}, got {source!r}')
    if source == 'registry':
        return None
    home = find_toolkit(cuda_version, env, roots)
    if home is None and source == 'system':
        raise ValueError(f'MMPLUG_CUDA_TOOLKIT=system: no CUDA '
                         f'{cuda_version} toolkit in CUDA_HOME or under '
                         f'{", ".join(roots)}')
    return home


def plan(env: Mapping[str, str]) -> Dict[str, str]:
    import torch
    cuda = want_cuda(env, torch.cuda.is_available())
    py_tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    out = dict(MMPLUG_BUILD='cpu', MMCV_CACHE_KEY=cache_key(
        torch.__version__, py_tag, False))
    if not cuda:
        return out
    cuda_version = torch.version.cuda
    if not cuda_version:
        raise ValueError(f'torch {torch.__version__} is a CPU-only build: '
                         'it cannot use CUDA ops')
    capability = torch.cuda.get_device_capability() \
        if torch.cuda.is_available() else None
    arch = arch_list(env, capability)
    home = toolkit_home(cuda_version, env)
    out.update(
        MMPLUG_BUILD='cuda', CUDA_VERSION=cuda_version,
        TORCH_CUDA_ARCH_LIST=arch, CUDA_HOME=home or '',
        TOOLKIT_PACKAGES=' '.join(f'{p}=={cuda_version}.*'
                                  for p in TOOLKIT_PACKAGES),
        MMCV_CACHE_KEY=cache_key(torch.__version__, py_tag, True,
                                 cuda_version, arch))
    return out


if __name__ == '__main__':
    try:
        for key, value in plan(os.environ).items():
            print(f'{key}={shlex.quote(value)}')
    except ValueError as exc:
        print(f'[install] ERROR: {exc}', file=sys.stderr)
        sys.exit(1)

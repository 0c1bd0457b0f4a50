"""The configs that travel with the package (``mmplug/.mim/configs``).

``setup.py`` puts the repository's ``configs/`` there, as mmdet ships
``mmdet/.mim/configs``: a link for an editable install, a copy for a normal
one, so an installed package needs no checkout to find them.
"""
import os.path as osp
from typing import Optional

_INSTALL_HINT = ('(re)install the package: `pip install -e .` in the '
                 'repository (or `make install`), or `pip install .`')


def configs_root(package_dir: Optional[str] = None) -> str:
    """The folder of the configs installed with the package.

    Args:
        package_dir (str, optional): The ``mmplug`` folder (default: the
            one this module was imported from).

    Raises:
        FileNotFoundError: When the package was installed without them.
    """
    if package_dir is None:
        package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    root = osp.join(package_dir, '.mim', 'configs')
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'the package has no configs ({root} does not exist): '
            f'{_INSTALL_HINT}')
    return root


def get_config_file(name: str) -> str:
    """The path of an installed config, e.g.
    ``get_config_file('darth/darth_faster-rcnn_r18_fpn_cpu_synth-none-to-'
    'fog.py')``.

    Raises:
        FileNotFoundError: Naming the config and where it was looked for.
    """
    path = osp.join(configs_root(), name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no config {name!r} in {configs_root()} (names are relative to '
            "the repository's configs/ folder, e.g. 'qdtrack/qdtrack_faster-"
            "rcnn_r18_fpn_2xb2-cpu_synth.py')")
    return path

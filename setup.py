"""mmplug: test-time adaptive multi-object tracking (DARTH) on MMDetection 3.x."""
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# what travels with the package under mmplug/.mim (mmdet ships the same way)
MIM_FILES = ['configs']


def read_requirements(path='requirements.txt'):
    with open(osp.join(HERE, path)) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmplug', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def mim_mode(argv):
    """``symlink`` for an editable install (``setup.py develop``, or pip's
    PEP 660 ``editable_wheel``), ``copy`` for a wheel, an sdist or a plain
    install; None for anything else (egg_info, dist_info, ...)."""
    if 'develop' in argv or 'editable_wheel' in argv:
        # symlinks fail on Windows
        return 'copy' if platform.system() == 'Windows' else 'symlink'
    if {'sdist', 'bdist_wheel', 'install', 'build', 'build_py'} & set(argv):
        return 'copy'
    return None


def add_mim_extension():
    """Put the configs into the package as ``mmplug/.mim/configs``.

    mmdet's ``add_mim_extension``: a link to the repository's folders for an
    editable install (edits show at once), a copy for a normal install (the
    package then needs no checkout). ``mmplug.get_config_file`` finds them.
    """
    mode = mim_mode(sys.argv)
    if mode is None:
        return
    mim_path = osp.join(HERE, 'mmplug', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        tar = osp.join(mim_path, name)
        if not osp.exists(src):
            warnings.warn(f'{src} does not exist; not added to the package')
            continue
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
        else:
            shutil.copytree(src, tar)


add_mim_extension()

setup(
    name='mmplug',
    version=read_version(),
    description='Holistic test-time adaptation for multi-object tracking '
    '(DARTH) as an MMEngine / MMDetection 3.x plugin',
    packages=find_packages(include=['mmplug', 'mmplug.*']),
    # the configs under mmplug/.mim (made above), as mmdet's MANIFEST.in
    # ships mmdet/.mim
    package_data={'mmplug': ['.mim/configs/**/*.py']},
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=read_requirements(),
    license='Apache-2.0',
    zip_safe=False,
)

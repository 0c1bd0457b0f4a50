"""mmplug: test-time adaptive multi-object tracking (DARTH) on MMDetection 3.x."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(path='requirements.txt'):
    here = osp.dirname(osp.abspath(__file__))
    with open(osp.join(here, path)) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def read_version():
    here = osp.dirname(osp.abspath(__file__))
    scope = {}
    with open(osp.join(here, 'mmplug', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmplug',
    version=read_version(),
    description='Holistic test-time adaptation for multi-object tracking '
    '(DARTH) as an MMEngine / MMDetection 3.x plugin',
    packages=find_packages(include=['mmplug', 'mmplug.*']),
    python_requires='>=3.9',
    install_requires=read_requirements(),
    license='Apache-2.0',
    zip_safe=False,
)

"""Run tools/ scripts in subprocesses, as a user would."""
import os
import subprocess
import sys

from ..conftest import REPO


def tool_env(extra_pythonpath=()):
    env = dict(os.environ)
    paths = [REPO] + list(extra_pythonpath)
    env['PYTHONPATH'] = os.pathsep.join(paths + [env.get('PYTHONPATH', '')])
    env.setdefault('OMP_NUM_THREADS',
                   os.environ.get('MMPLUG_TEST_THREADS', '2'))
    return env


def run_tool(args, check=True, extra_pythonpath=(), timeout=600):
    """Run ``python tools/<args>``; returns the CompletedProcess."""
    proc = subprocess.run([sys.executable] + list(args), cwd=REPO,
                          env=tool_env(extra_pythonpath),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc

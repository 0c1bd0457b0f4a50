"""The demo's cells belong to the experiment that was asked for."""
import json
import re

import pytest

from ..test_tools._run import run_tool as _run_tool


def run_tool(args):
    # a quick demo trains a source model: minutes on a loaded machine
    return _run_tool(args, timeout=2400)


def _lines(text, marker):
    return [line for line in text.splitlines() if marker in line]


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(3000)  # trains a source model: minutes
def test_another_corruption_in_a_finished_demo_is_computed(tmp_path):
    work = tmp_path / 'demo'
    args = ['tools/demo.py', '--quick', '--min-source-hota', '0',
            '--methods', 'adabn', '--work-dir', str(work)]
    run_tool(args)
    fog = json.loads((work / 'summary.json').read_text())
    assert fog['corruption'] == 'fog'
    assert fog['meta']['transductive'] is False
    assert fog['meta']['adapted_on_test_frames'] == []

    proc = run_tool(args + ['--corruption', 'snow'])
    snow = json.loads((work / 'summary.json').read_text())
    # the source model and its clean test are reused ...
    assert re.search(r'reusing \S+/seed0/source/[0-9a-f]{16}/epoch_\d+\.pth',
                     proc.stdout)
    # ... every target cell is computed, on the snow data
    trains = _lines(proc.stdout, '$ train')
    assert len(trains) == 1 and '/adabn_on_target/adapt/' in trains[0]
    tests = _lines(proc.stdout, '$ test')
    assert sorted(re.search(r'seed0/(\w+)/test/', t).group(1)
                  for t in tests) == ['adabn_on_target', 'source_on_target']
    assert all('snow-3' in t and 'fog-3' not in t for t in trains + tests)
    # and the summary reports those runs
    assert snow['corruption'] == 'snow'
    for name in ('source_on_target', 'adabn_on_target'):
        run = snow['meta']['test_runs'][str(work / 'seed0' / name / 'test')]
        key = json.loads((tmp_path / run / 'key.json').read_text())
        assert '/snow-3/' in key['config']['test_dataloader']['dataset'][
            'data_root']
        result = json.loads((tmp_path / run / 'result.json').read_text())
        assert snow[name]['HOTA']['runs'] == [result['HOTA']]
        assert run != fog['meta']['test_runs'][str(work / 'seed0' / name /
                                                   'test')]

    # the fog cells were kept apart: fog again computes nothing
    proc = run_tool(args)
    assert not _lines(proc.stdout, '$ train')
    assert not _lines(proc.stdout, '$ test')
    again = json.loads((work / 'summary.json').read_text())
    assert again == fog

"""eval_mot reproduces the MOTChallenge devkit on public result files.

motmetrics ships TUD-Campus / TUD-Stadtmitte ground truth and tracker
results; the devkit's numbers for them (MOTA, IDF1, FP, FN, ID switches) are
those in motmetrics' README and its test_motchallenge_files.
"""
import importlib.util
import json
import os.path as osp
import shutil

import pytest

from mmplug.evaluation import evaluate_mot

from ..test_tools._run import run_tool

DEVKIT = {
    'TUD-Campus': dict(MOTA=52.6, IDF1=55.8, FP=13, FN=150, IDSW=7),
    'TUD-Stadtmitte': dict(MOTA=56.4, IDF1=64.5, FP=45, FN=452, IDSW=7),
    'COMBINED': dict(MOTA=55.5, IDF1=62.4, FP=58, FN=602, IDSW=14),
}


def _motmetrics_data():
    spec = importlib.util.find_spec('motmetrics')
    if spec is None:
        pytest.skip('motmetrics (test dependency) is not installed')
    return osp.join(osp.dirname(spec.origin), 'data')


@pytest.fixture
def tud(tmp_path):
    data = _motmetrics_data()
    gt_dir, res_dir = tmp_path / 'gt', tmp_path / 'res'
    res_dir.mkdir()
    for seq in ('TUD-Campus', 'TUD-Stadtmitte'):
        (gt_dir / seq / 'gt').mkdir(parents=True)
        shutil.copy(osp.join(data, seq, 'gt.txt'), gt_dir / seq / 'gt')
        shutil.copy(osp.join(data, seq, 'test.txt'), res_dir / f'{seq}.txt')
    return str(gt_dir), str(res_dir)


def test_reproduces_devkit_numbers(tud):
    results = evaluate_mot(*tud, benchmark='MOT15')
    for seq, expected in DEVKIT.items():
        for key, value in expected.items():
            got = results[seq][key]
            if isinstance(value, int):
                assert got == value, (seq, key)
            else:
                assert got == pytest.approx(value, abs=0.05), (seq, key)
        assert 0 < results[seq]['HOTA'] < 100


def test_tool_writes_json(tud, tmp_path):
    out = tmp_path / 'm.json'
    proc = run_tool(['tools/analysis_tools/eval_mot.py', '--gt-dir', tud[0],
                     '--res-dir', tud[1], '--benchmark', 'MOT15', '--out',
                     str(out)])
    assert 'TUD-Campus' in proc.stdout and 'COMBINED' in proc.stdout
    data = json.loads(out.read_text())
    assert set(data) == {'TUD-Campus', 'TUD-Stadtmitte', 'COMBINED'}
    assert isinstance(data['COMBINED']['IDSW'], int)


def test_missing_result_file_is_named(tud, tmp_path):
    (tmp_path / 'res' / 'TUD-Campus.txt').unlink()
    with pytest.raises(FileNotFoundError, match='TUD-Campus'):
        evaluate_mot(*tud)

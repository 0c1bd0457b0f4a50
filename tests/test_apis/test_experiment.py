"""The robustness sweep and the statistics behind the demo's tables."""
import json
import math
import os.path as osp
import re

import pytest

from mmplug.apis.demo import format_table
from mmplug.apis.experiment import METHODS, aggregate, gap_in_std, mean_std
from mmplug.apis.robustness_sweep import summarize

from ..test_tools._run import run_tool


def test_mean_and_sample_std():
    out = mean_std([50.0, 52.0, 57.0])
    assert out['mean'] == 53.0 and out['n'] == 3
    assert out['std'] == pytest.approx(3.61, abs=0.005)  # ddof=1
    assert mean_std([40.0])['std'] == 0.0
    agg = aggregate([dict(HOTA=1.0, MOTA=2.0), dict(HOTA=3.0)])
    assert set(agg) == {'HOTA'} and agg['HOTA']['mean'] == 2.0


def test_gap_in_std_units():
    a, b = dict(mean=50.0, std=3.0), dict(mean=46.0, std=4.0)
    assert gap_in_std(a, b) == pytest.approx(4 / math.sqrt(12.5))
    assert gap_in_std(dict(mean=1, std=0), dict(mean=0, std=0)) == math.inf
    assert gap_in_std(dict(mean=1, std=0), dict(mean=1, std=0)) == 0.0


def test_sweep_mean_row_averages_each_seed_first():
    runs = {('a-3', 'm', 0): dict(HOTA=10.0, MOTA=0, IDF1=0, DetA=0, AssA=0),
            ('b-3', 'm', 0): dict(HOTA=30.0, MOTA=0, IDF1=0, DetA=0, AssA=0),
            ('a-3', 'm', 1): dict(HOTA=20.0, MOTA=0, IDF1=0, DetA=0, AssA=0),
            ('b-3', 'm', 1): dict(HOTA=60.0, MOTA=0, IDF1=0, DetA=0, AssA=0)}
    out = summarize(runs, ['a-3', 'b-3'], ['m'], [0, 1])
    assert out['a-3']['m']['HOTA']['runs'] == [10.0, 20.0]
    assert out['mean']['m']['HOTA']['runs'] == [20.0, 40.0]
    assert out['mean']['m']['HOTA']['std'] == pytest.approx(14.14, abs=0.01)


def test_clean_row_is_kept_out_of_the_mean(tmp_path):
    from mmplug.apis.robustness_sweep import format_markdown, plot
    row = dict(MOTA=0, IDF1=0, DetA=0, AssA=0)
    runs = {('none', 'm', 0): dict(row, HOTA=90.0),
            ('fog-3', 'm', 0): dict(row, HOTA=10.0),
            ('snow-3', 'm', 0): dict(row, HOTA=30.0)}
    shifts = ['none', 'fog-3', 'snow-3']
    out = summarize(runs, shifts, ['m'], [0])
    assert out['mean']['m']['HOTA']['mean'] == 20.0
    assert out['none']['m']['HOTA']['mean'] == 90.0
    assert '| none | clean, not in the mean | 90.0 ± 0.0 |' in \
        format_markdown(out, shifts, ['m'])
    plot(out, shifts, ['m'], str(tmp_path / 'p.png'))
    only_clean = summarize({('none', 'm', 0): dict(row, HOTA=90.0)},
                           ['none'], ['m'], [0])
    assert 'mean' not in only_clean


def test_shift_names_take_none_once_and_check_the_rest():
    from mmplug.apis.robustness_sweep import shift_names
    assert shift_names(['none', 'fog', 'none'], [1, 3]) == [
        'none', 'fog-1', 'fog-3']
    with pytest.raises(ValueError, match='unknown corruption'):
        shift_names(['fogg'], [3])


def test_demo_table_shows_mean_and_std():
    summary = dict(corruption='fog', source_on_target=dict(
        HOTA=mean_std([10.0, 12.0]), MOTA=mean_std([5.0, 5.0]),
        IDF1=mean_std([1.0, 3.0])))
    table = format_table(summary)
    assert re.search(r'source_on_target\s+11\.0 ± 1\.4\s+5\.0 ± 0\.0', table)


@pytest.mark.slow
@pytest.mark.long
def test_quick_sweep_writes_tables_and_continues(tmp_path):
    work = tmp_path / 'sweep'
    args = ['tools/analysis_tools/tta_benchmark.py', '--quick',
            '--corruptions', 'gaussian_noise,contrast', '--methods',
            'source,adabn,darth', '--seeds', '0', '--work-dir', str(work)]
    # the quick source model tracks nothing: the sweep refuses it by
    # default, before any cell
    proc = run_tool(args, check=False)
    assert proc.returncode != 0 and 'SourceModelError' in proc.stderr
    assert re.search(r'source/seed0/[0-9a-f]{16}/epoch_\d+\.pth reaches HOTA '
                     r'0.0', proc.stderr)
    assert not (work / 'gaussian_noise-3').exists()
    args += ['--min-source-hota', '0']
    run_tool(args)
    results = json.loads((work / 'results.json').read_text())
    assert set(results) == {'gaussian_noise-3', 'contrast-3', 'mean', 'meta'}
    for shift in ('gaussian_noise-3', 'contrast-3', 'mean'):
        for method in ('source', 'adabn', 'darth'):
            cell = results[shift][method]
            assert set(cell) >= {'HOTA', 'MOTA', 'IDF1', 'DetA', 'AssA'}
            assert 0 <= cell['HOTA']['mean'] <= 100
    md = (work / 'results.md').read_text()
    assert '| gaussian_noise-3 | noise |' in md and '| **mean** |' in md
    png = (work / 'results.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000
    # a killed sweep continues: only the missing cell is computed again
    [result] = (work / 'contrast-3' / 'darth' / 'seed0' / 'test').glob(
        '*/result.json')
    result.unlink()
    proc = run_tool(args)
    assert proc.stdout.count('(cached;') == 5
    assert re.search(r'contrast-3 darth seed 0: HOTA [\d.]+ \([\d.]+ min',
                     proc.stdout)
    again = json.loads((work / 'results.json').read_text())
    assert again['contrast-3'] == results['contrast-3']  # deterministic
    # another DARTH option: only the DARTH cells are computed again (and
    # kept apart from the old ones), the source model and the other cells
    # are reused
    proc = run_tool(args + ['--darth-options', 'train_cfg.max_epochs=1'])
    assert proc.stdout.count('(cached;') == 4
    assert len(re.findall(r'darth seed 0: HOTA [\d.]+ \([\d.]+ min',
                          proc.stdout)) == 2
    trained = [line for line in proc.stdout.splitlines() if '$ train' in line]
    assert trained and not any(
        re.search(r'--work-dir \S*/source/seed0/', line) for line in trained)
    cells = sorted(p.name for p in (work / 'contrast-3' / 'darth' / 'seed0'
                                    / 'adapt').iterdir())
    assert len(cells) == 2  # the old schedule's run and the new one
    other = json.loads((work / 'results.json').read_text())
    assert other['meta']['darth_options'] == ['train_cfg.max_epochs=1']
    assert other['contrast-3']['adabn'] == results['contrast-3']['adabn']


def test_unknown_method_and_corruption_are_named(tmp_path):
    proc = run_tool(['tools/analysis_tools/tta_benchmark.py', '--quick',
                     '--methods', 'source,tent', '--work-dir',
                     str(tmp_path)], check=False)
    assert proc.returncode != 0 and "unknown method(s) ['tent']" in \
        proc.stderr
    assert 'darth-online' in proc.stderr
    proc = run_tool(['tools/analysis_tools/tta_benchmark.py', '--quick',
                     '--corruptions', 'rain', '--work-dir', str(tmp_path)],
                    check=False)
    assert "unknown corruption 'rain'" in proc.stderr
    assert set(METHODS) >= {'source', 'adabn', 'darth', 'darth-online'}


def test_demo_result_names():
    from mmplug.apis.demo import DEMO_METHODS, result_name
    assert [result_name(m) for m in DEMO_METHODS] == [
        'adabn_on_target', 'darth_on_target', 'online_on_target']
    assert result_name('darth-no-rpn') == 'darth_no_rpn_on_target'


def test_a_source_model_that_tracks_nothing_is_refused(monkeypatch):
    from mmplug.apis import experiment
    exp = experiment.Experiment('data/src')
    calls = []
    monkeypatch.setattr(exp.__class__, 'source_model',
                        lambda self, work, seed: f'{work}/epoch_6.pth')

    def fake_test(self, ckpt, root, work_dir, out_dir=False):
        calls.append((ckpt, root, work_dir))
        return dict(HOTA=hota, MOTA=0.0, IDF1=0.0, DetA=0.0, AssA=0.0)

    monkeypatch.setattr(exp.__class__, 'test_source', fake_test)
    hota = 0.0
    with pytest.raises(experiment.SourceModelError,
                       match=r'w/epoch_6.pth reaches HOTA 0.0 .*clean val '
                       r'split of data/src.*another seed'):
        exp.checked_source_model('w', 0)
    assert calls == [('w/epoch_6.pth', 'data/src', 'w/clean_test')]
    hota = 58.3
    assert exp.checked_source_model('w', 0) == ('w/epoch_6.pth',
                                                dict(HOTA=58.3, MOTA=0.0,
                                                     IDF1=0.0, DetA=0.0,
                                                     AssA=0.0))
    experiment.check_source_model(dict(HOTA=0.5), 'c.pth', 'x', min_hota=0.5)
    with pytest.raises(experiment.SourceModelError, match='c.pth reaches HOTA 0.4'):
        experiment.check_source_model(dict(HOTA=0.4), 'c.pth', 'x', min_hota=0.5)

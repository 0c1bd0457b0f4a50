"""Offline evaluation of MOTChallenge-format result files with trackeval.

trackeval's ``MotChallenge2DBox`` is validated against the official
MOTChallenge devkit; this module only lays the files out the way it expects
(``<gt>/<seq>/gt/gt.txt`` and ``<trackers>/<name>/<seq>.txt``), runs its
HOTA, CLEAR and Identity metrics and returns flat per-sequence numbers.
"""
import configparser
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional

BENCHMARKS = ('MOT15', 'MOT16', 'MOT17', 'MOT20', 'DanceTrack')
SCORES = ('HOTA', 'DetA', 'AssA', 'MOTA', 'MOTP', 'IDF1')
COUNTS = ('FP', 'FN', 'IDSW', 'MT', 'ML', 'Frag')
_CLEAR_KEYS = dict(FP='CLR_FP', FN='CLR_FN', TP='CLR_TP')


def _num_frames(seq_dir: str, result_file: str, gt_file: str) -> int:
    ini = osp.join(seq_dir, 'seqinfo.ini')
    if osp.isfile(ini):
        cfg = configparser.ConfigParser()
        cfg.read(ini)
        return int(cfg['Sequence']['seqLength'])
    last = 0
    for path in (gt_file, result_file):
        if osp.isfile(path):
            with open(path) as f:
                for line in f:
                    if line.strip():
                        last = max(last, int(float(line.split(',')[0])))
    return last


def list_sequences(gt_dir: str) -> List[str]:
    """Sequences of a MOTChallenge-layout ground-truth folder."""
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(f'ground-truth folder {gt_dir} does not exist')
    seqs = sorted(d for d in os.listdir(gt_dir)
                  if osp.isfile(osp.join(gt_dir, d, 'gt', 'gt.txt')))
    if not seqs:
        raise FileNotFoundError(f'{gt_dir}: no <seq>/gt/gt.txt found')
    return seqs


def evaluate_mot(gt_dir: str, res_dir: str, benchmark: str = 'MOT17',
                 seqs: Optional[List[str]] = None) -> Dict[str, dict]:
    """HOTA / CLEAR / Identity of ``res_dir/<seq>.txt`` against ``gt_dir``.

    Returns:
        dict: ``{seq: {...}, 'COMBINED': {...}}`` with the scores of
        :data:`SCORES` in percent and the counts of :data:`COUNTS` as ints.
    """
    import trackeval  # noqa: PLC0415 - heavy, only needed here
    if benchmark not in BENCHMARKS:
        raise ValueError(f'benchmark must be one of {BENCHMARKS}, '
                         f'got {benchmark!r}')
    seqs = seqs or list_sequences(gt_dir)
    missing = [s for s in seqs if not osp.isfile(osp.join(res_dir,
                                                          f'{s}.txt'))]
    if missing:
        raise FileNotFoundError(f'{res_dir}: no result file for {missing} '
                                '(expected <seq>.txt)')
    work = tempfile.mkdtemp(prefix='mmplug-eval-')
    try:
        tracker_dir = osp.join(work, 'trackers', 'res')
        os.makedirs(tracker_dir)
        seq_info = {}
        for seq in seqs:
            res = osp.join(res_dir, f'{seq}.txt')
            shutil.copy(res, osp.join(tracker_dir, f'{seq}.txt'))
            gt = osp.join(gt_dir, seq, 'gt', 'gt.txt')
            seq_info[seq] = _num_frames(osp.join(gt_dir, seq), res, gt)
        output = _run_trackeval(trackeval, gt_dir, osp.dirname(tracker_dir),
                                benchmark, seq_info)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_seq = output['MotChallenge2DBox']['res']
    return {('COMBINED' if k == 'COMBINED_SEQ' else k):
            _flatten(v['pedestrian']) for k, v in per_seq.items()}


def _run_trackeval(trackeval, gt_dir, trackers_dir, benchmark, seq_info):
    eval_cfg = trackeval.Evaluator.get_default_eval_config()
    eval_cfg.update(PRINT_RESULTS=False, PRINT_CONFIG=False,
                    TIME_PROGRESS=False, OUTPUT_SUMMARY=False,
                    OUTPUT_DETAILED=False, PLOT_CURVES=False,
                    USE_PARALLEL=False)
    dataset_cfg = dict(
        GT_FOLDER=gt_dir, TRACKERS_FOLDER=trackers_dir, OUTPUT_FOLDER=None,
        TRACKERS_TO_EVAL=['res'], CLASSES_TO_EVAL=['pedestrian'],
        BENCHMARK=benchmark, SPLIT_TO_EVAL='train', INPUT_AS_ZIP=False,
        PRINT_CONFIG=False, DO_PREPROC=benchmark != 'MOT15',
        TRACKER_SUB_FOLDER='', OUTPUT_SUB_FOLDER='', SEQ_INFO=seq_info,
        GT_LOC_FORMAT='{gt_folder}/{seq}/gt/gt.txt', SKIP_SPLIT_FOL=True)
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(),
               trackeval.metrics.Identity()]
    evaluator = trackeval.Evaluator(eval_cfg)
    output, _ = evaluator.evaluate(
        [trackeval.datasets.MotChallenge2DBox(dataset_cfg)], metrics)
    return output


def _flatten(res: dict) -> dict:
    hota, clear, ident = res['HOTA'], res['CLEAR'], res['Identity']
    out = dict(
        HOTA=100 * float(hota['HOTA'].mean()),
        DetA=100 * float(hota['DetA'].mean()),
        AssA=100 * float(hota['AssA'].mean()),
        MOTA=100 * float(clear['MOTA']), MOTP=100 * float(clear['MOTP']),
        IDF1=100 * float(ident['IDF1']))
    for name in COUNTS:
        out[name] = int(clear[_CLEAR_KEYS.get(name, name)])
    return out


def format_table(results: Dict[str, dict]) -> str:
    """A text table, one row per sequence and COMBINED last."""
    cols = SCORES + COUNTS
    head = f'{"sequence":<20}' + ''.join(f'{c:>8}' for c in cols)
    lines = [head, '-' * len(head)]
    for seq, row in results.items():
        cells = [f'{row[c]:>8.1f}' if c in SCORES else f'{row[c]:>8d}'
                 for c in cols]
        lines.append(f'{seq:<20}' + ''.join(cells))
    return '\n'.join(lines)

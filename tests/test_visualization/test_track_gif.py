from PIL import Image

from mmplug.datasets.synthetic import make_synthetic_mot
from mmplug.visualization import comparison_gif, read_tracks


def test_side_by_side_gif(tmp_path):
    make_synthetic_mot(str(tmp_path / 's'), 1, 5, 64, seed=0)
    seq = tmp_path / 's' / 'synth-s0-v000'
    gt = str(seq / 'gt' / 'gt.txt')
    tracks = read_tracks(gt)
    assert set(tracks) == set(range(1, 6))
    out = comparison_gif(str(seq / 'img1'), {'a': gt, 'b': gt},
                         str(tmp_path / 'x.gif'), scale=2)
    with Image.open(out) as im:
        assert im.size == (2 * 2 * 64, 2 * 64)
        total = 0  # PIL merges identical frames, adding their durations
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info['duration']
    assert total == 5 * 100
    assert not list(tmp_path.glob('*.tmp.gif'))

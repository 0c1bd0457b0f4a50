import cv2
import numpy as np
import pytest

from mmdet.registry import TRANSFORMS
from mmplug.datasets.transforms.loading import CorruptImageError


@pytest.fixture
def jpeg(tmp_path):
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8)
    path = tmp_path / 'a.jpg'
    cv2.imwrite(str(path), img)
    return path


def _load(path):
    t = TRANSFORMS.build(dict(type='LoadCheckedImageFromFile'))
    return t(dict(img_path=str(path)))


def test_loads_a_good_image(jpeg):
    out = _load(jpeg)
    assert out['img'].shape == (40, 50, 3)
    assert out['ori_shape'] == (40, 50)


def test_truncated_jpeg_is_refused_with_its_name(jpeg):
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[:len(data) // 2])
    # OpenCV alone would decode it silently
    assert cv2.imread(str(jpeg)) is not None
    with pytest.raises(CorruptImageError, match=r'a\.jpg is a truncated'):
        _load(jpeg)


def test_empty_garbage_and_missing(tmp_path):
    empty = tmp_path / 'e.jpg'
    empty.write_bytes(b'')
    with pytest.raises(CorruptImageError, match=r'e\.jpg is empty'):
        _load(empty)
    junk = tmp_path / 'j.png'
    junk.write_bytes(b'not an image at all')
    with pytest.raises(CorruptImageError, match=r'j\.png'):
        _load(junk)
    with pytest.raises(FileNotFoundError, match=r'nope\.jpg'):
        _load(tmp_path / 'nope.jpg')

"""The corruptions equal the reference implementation, imagecorruptions
1.1.2 (ImageNet-C / COCO-C), where the maintained fork kept its formulas.

1.1.2 does not run on today's stack as published; the test patches exactly
its incompatibilities, nothing of a formula: scikit-image's removed
``gaussian(..., multichannel=True)`` (now ``channel_axis=-1``) and numpy 2's
removed ``np.float_``. ``scripts/install.sh`` installs 1.1.2 beside the venv
(``<venv>/share/mmplug-reference``: both distributions are named
``imagecorruptions``).

Documented differences of the fork (imagecorruptions-imaug 1.1.5), each
checked below: ``impulse_noise`` takes its seed explicitly (1.1.2 draws from
scikit-image's own unseeded generator), ``glass_blur`` shuffles pixels with
numba's generator (the same algorithm: equal with the pure-Python
function), ``frost`` picks among all six frost pictures (1.1.2: the first
five).
"""
import importlib.util
import os
import os.path as osp
import sys

import numpy as np
import pytest
import skimage
import skimage.filters
import skimage.util

from mmplug.datasets.corruptions import (COMMON, CORRUPTIONS, FAMILIES,
                                         VALIDATION, corrupt_frame,
                                         corrupt_image, frame_seed)

REF_DIR = os.environ.get(
    'MMPLUG_REFERENCE_DIR', osp.join(sys.prefix, 'share',
                                     'mmplug-reference'))


def _load_reference():
    init = osp.join(REF_DIR, 'imagecorruptions', '__init__.py')
    if not osp.isfile(init):
        raise FileNotFoundError(
            f'imagecorruptions 1.1.2 is not installed at {REF_DIR} (make '
            'install puts it there)')
    spec = importlib.util.spec_from_file_location(
        'imagecorruptions_ref', init,
        submodule_search_locations=[osp.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules['imagecorruptions_ref'] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def ref():
    return _load_reference()


@pytest.fixture
def patched(ref, monkeypatch):
    """1.1.2 on numpy 2 / scikit-image 0.26: only the removed APIs."""
    corruptions = sys.modules['imagecorruptions_ref.corruptions']
    gaussian = skimage.filters.gaussian

    def gaussian_compat(image, *args, multichannel=None, **kwargs):
        if multichannel:
            kwargs['channel_axis'] = -1
        return gaussian(image, *args, **kwargs)

    monkeypatch.setattr(corruptions, 'gaussian', gaussian_compat)
    monkeypatch.setattr(np, 'float_', np.float64, raising=False)
    return ref


def _images():
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:72, 0:56]
    smooth = np.stack([(xx * 4) % 256, (yy * 3) % 256, (xx + yy) % 256],
                      axis=-1).astype(np.uint8)
    return [noise, smooth]


def _reference(ref, img, name, severity, seed):
    np.random.seed(seed)
    return ref.corrupt(img, severity=severity, corruption_name=name)


EXACT = [c for c in CORRUPTIONS
         if c not in ('impulse_noise', 'glass_blur', 'frost')]


def test_the_nineteen_names():
    assert len(COMMON) == 15 and len(VALIDATION) == 4
    assert set(CORRUPTIONS) == {c for f in FAMILIES.values() for c in f}
    from imagecorruptions import get_corruption_names
    assert list(CORRUPTIONS) == get_corruption_names('all')
    assert list(VALIDATION) == get_corruption_names('validation')


@pytest.mark.parametrize('name', EXACT)
def test_equals_reference(patched, name):
    for img in _images():
        for severity in (1, 3, 5):
            expected = _reference(patched, img, name, severity, seed=11)
            out = corrupt_image(img, name, severity, seed=11)
            assert out.shape == img.shape and out.dtype == np.uint8
            np.testing.assert_array_equal(out, expected,
                                          err_msg=f'{name}-{severity}')


def test_impulse_noise_equals_reference_with_the_seed_given(
        patched, monkeypatch):
    random_noise = skimage.util.random_noise

    def seeded(image, mode='gaussian', rng=None, **kwargs):
        return random_noise(image, mode, rng=11 if rng is None else rng,
                            **kwargs)

    img = _images()[1]
    for severity in (1, 3, 5):
        monkeypatch.setattr(skimage.util, 'random_noise', seeded)
        expected = _reference(patched, img, 'impulse_noise', severity, 11)
        monkeypatch.setattr(skimage.util, 'random_noise', random_noise)
        out = corrupt_image(img, 'impulse_noise', severity, seed=11)
        np.testing.assert_array_equal(out, expected)


def test_glass_blur_is_the_reference_algorithm(patched, monkeypatch):
    import imagecorruptions.corruptions as fork
    shuffle = fork._shuffle_pixels_njit_glass_blur
    img = _images()[0]
    # numba's generator differs from numpy's, the shuffle does not
    monkeypatch.setattr(fork, '_shuffle_pixels_njit_glass_blur',
                        shuffle.py_func)
    for severity in (1, 4):
        expected = _reference(patched, img, 'glass_blur', severity, 11)
        out = corrupt_image(img, 'glass_blur', severity, seed=11)
        np.testing.assert_array_equal(out, expected)
    monkeypatch.setattr(fork, '_shuffle_pixels_njit_glass_blur', shuffle)
    jit = corrupt_image(img, 'glass_blur', 4, seed=11)
    assert np.array_equal(jit, corrupt_image(img, 'glass_blur', 4, seed=11))


def test_frost_is_the_reference_for_the_same_picture(patched, monkeypatch):
    """With the random picks fixed (picture 0, crop at 0, 0), equal; the
    fork also draws the sixth picture (documented difference)."""
    img = _images()[1]
    fixed = lambda low, high=None, size=None: 0 if high is None else low  # noqa
    monkeypatch.setattr(np.random, 'randint', fixed)
    for severity in (1, 3, 5):
        expected = _reference(patched, img, 'frost', severity, 11)
        np.testing.assert_array_equal(
            corrupt_image(img, 'frost', severity, seed=11), expected)


def test_frost_pictures_are_installed():
    import imagecorruptions
    folder = osp.join(osp.dirname(imagecorruptions.__file__), 'frost')
    names = sorted(os.listdir(folder))
    assert names == ['frost1.png', 'frost2.png', 'frost3.png', 'frost4.jpg',
                     'frost5.jpg', 'frost6.jpg']
    assert all(osp.getsize(osp.join(folder, n)) > 10_000 for n in names)


def test_deterministic_per_frame_and_random_across_frames():
    frame = np.ascontiguousarray(_images()[1][..., ::-1])
    a = corrupt_frame(frame, 'gaussian_noise', 3, 0, 'seq', 5)
    assert np.array_equal(a, corrupt_frame(frame, 'gaussian_noise', 3, 0,
                                           'seq', 5))
    for other in (('seq', 6), ('seq2', 5)):
        assert not np.array_equal(
            a, corrupt_frame(frame, 'gaussian_noise', 3, 0, *other))
    assert not np.array_equal(
        a, corrupt_frame(frame, 'gaussian_noise', 3, 1, 'seq', 5))
    assert frame_seed(0, 'seq', 5) == frame_seed(0, 'seq', 5)
    # numpy's global state is left as it was
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    corrupt_frame(frame, 'snow', 2, 0, 'seq', 1)
    assert np.array_equal(np.random.get_state()[1], before)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match='unknown corruption .fogg.; valid '
                       'names: gaussian_noise, shot_noise'):
        corrupt_image(_images()[0], 'fogg', 3, 0)
    with pytest.raises(ValueError, match=r'severity must be one of'):
        corrupt_image(_images()[0], 'fog', 6, 0)

"""The ImageNet-C corruptions (Hendrycks & Dietterich, 2019) on video frames.

The formulas come from ``imagecorruptions-imaug`` (a maintained fork of
``imagecorruptions`` 1.1.2, the reference implementation used for COCO-C /
Cityscapes-C and by mmdet's robustness benchmark; 1.1.2 itself fails with
scikit-image >= 0.19 and numpy 2). Where the fork changed the reference on
purpose (tested in ``tests/test_datasets/test_corruptions.py``): ``frost`` draws from all six frost pictures (1.1.2
from the first five), ``glass_blur`` shuffles pixels with numba's random
generator, and ``impulse_noise`` takes an explicit seed.

Every corruption here is deterministic per ``(seed, sequence, frame)``: the
random state is derived from the three and set around the call (the global
numpy state is restored afterwards), so a frame is corrupted the same way in
every run and on every worker, and random corruptions (noise, snow, frost,
...) differ from frame to frame instead of freezing one pattern.
"""
import contextlib
import zlib
from typing import Dict, Iterator, Tuple

import numpy as np

# The 15 test corruptions in their 4 families, and the 4 held-out ones that
# ImageNet-C keeps for validation.
FAMILIES: Dict[str, Tuple[str, ...]] = dict(
    noise=('gaussian_noise', 'shot_noise', 'impulse_noise'),
    blur=('defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur'),
    weather=('snow', 'frost', 'fog', 'brightness'),
    digital=('contrast', 'elastic_transform', 'pixelate',
             'jpeg_compression'),
    validation=('speckle_noise', 'gaussian_blur', 'spatter', 'saturate'),
)
COMMON = tuple(n for f in ('noise', 'blur', 'weather', 'digital')
               for n in FAMILIES[f])
VALIDATION = FAMILIES['validation']
CORRUPTIONS = COMMON + VALIDATION
SEVERITIES = (1, 2, 3, 4, 5)
# corruptions whose function takes the seed itself (not numpy's global RNG)
_SEED_ARG = ('impulse_noise', 'glass_blur')


def family_of(name: str) -> str:
    """The family of a corruption name (``validation`` for the extra 4)."""
    check_corruption(name)
    return next(f for f, names in FAMILIES.items() if name in names)


def check_corruption(name: str, severity: int = 1) -> None:
    """Raise ``ValueError`` listing the valid names / severities."""
    if name not in CORRUPTIONS:
        raise ValueError(f'unknown corruption {name!r}; valid names: '
                         f'{", ".join(CORRUPTIONS)}')
    if severity not in SEVERITIES:
        raise ValueError(f'severity must be one of {SEVERITIES}, got '
                         f'{severity!r}')


def frame_seed(seed: int, sequence: str, frame: int) -> int:
    """A 32-bit seed that depends on the data set seed, the sequence name
    and the frame index (stable across runs and Python versions)."""
    key = [int(seed), zlib.crc32(sequence.encode('utf-8')), int(frame)]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


@contextlib.contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for a block, then restore its state
    (the reference formulas draw from ``np.random``)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def corrupt_image(img: np.ndarray, name: str, severity: int,
                  seed: int) -> np.ndarray:
    """Corrupt one RGB image with an explicit seed.

    Args:
        img (np.ndarray): (H, W, 3) uint8 RGB image, any size.
        name (str): One of :data:`CORRUPTIONS`.
        severity (int): 1 (mild) .. 5 (strong).
        seed (int): Seeds every random choice of the corruption.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB, the input size.
    """
    from imagecorruptions import corrupt
    check_corruption(name, severity)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError('expected an (H, W, 3) uint8 image, got '
                         f'{img.shape} {img.dtype}')
    kwargs = dict(seed=seed) if name in _SEED_ARG else {}
    with _numpy_seed(seed):
        out = corrupt(np.ascontiguousarray(img), severity=severity,
                      corruption_name=name, **kwargs)
    if out.shape != img.shape:
        raise RuntimeError(f'{name} changed the image shape from {img.shape} '
                           f'to {out.shape}')
    return out


def corrupt_frame(img_bgr: np.ndarray, name: str, severity: int, seed: int,
                  sequence: str, frame: int) -> np.ndarray:
    """Corrupt one BGR video frame (as OpenCV reads it), deterministically
    per ``(seed, sequence, frame)``; see :func:`corrupt_image`."""
    rgb = np.ascontiguousarray(img_bgr[..., ::-1])
    out = corrupt_image(rgb, name, severity,
                        frame_seed(seed, sequence, frame))
    return np.ascontiguousarray(out[..., ::-1])

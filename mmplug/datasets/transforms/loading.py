"""Image loading that refuses corrupt files, naming them."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from mmdet.registry import TRANSFORMS

_JPEG_SOI, _JPEG_EOI = b'\xff\xd8', b'\xff\xd9'


class CorruptImageError(OSError):
    """An image file that cannot be decoded completely; names the file."""


def check_image_bytes(data: bytes, filename: str) -> None:
    """Refuse empty files and truncated JPEGs (no end-of-image marker).

    OpenCV decodes a truncated JPEG without an error, filling the missing
    rows with grey, so the check is on the bytes: cheap, no second decode.
    """
    if not data:
        raise CorruptImageError(f'image file {filename} is empty')
    if data[:2] == _JPEG_SOI and _JPEG_EOI not in data[-1024:]:
        raise CorruptImageError(
            f'image file {filename} is a truncated JPEG (no end-of-image '
            'marker)')


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that fails with the file name on missing,
    empty, truncated or undecodable images (same arguments)."""

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
            check_image_bytes(data, filename)
            img = mmcv.imfrombytes(data, flag=self.color_type,
                                   backend=self.imdecode_backend)
            if img is None:
                raise CorruptImageError(f'could not decode image {filename}')
        except Exception as exc:  # noqa: BLE001 - reworded, then re-raised
            if self.ignore_empty:
                return None
            if isinstance(exc, (CorruptImageError, FileNotFoundError)):
                raise
            raise CorruptImageError(f'could not load image {filename}: '
                                    f'{exc}') from exc
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

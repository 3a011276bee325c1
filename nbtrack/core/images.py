"""Two raster images compared pixel by pixel, with a tolerance (after their bytes differed).

Anti-aliasing and encoder details may change a few pixels of the same figure; a figure drawn
from other data changes many. Two images are *alike* when they have the same size and at most
`PIXEL_FRACTION` of their pixels differ by more than `CHANNEL_DELTA` in any channel. Decoding
needs Pillow and numpy (imported only here, only when bytes differ); without them, or for an
image they cannot decode, the answer is None (the caller keeps "different").
"""

from __future__ import annotations

import base64
import binascii
import io

CHANNEL_DELTA = 24  # of 255
PIXEL_FRACTION = 0.002


def alike(a: str, b: str) -> bool | None:
    """Whether two base64-encoded images look the same (None: cannot tell)."""
    try:
        import numpy
        from PIL import Image
    except ImportError:
        return None
    try:
        first, second = (numpy.asarray(Image.open(io.BytesIO(base64.b64decode(x))).convert("RGBA"), dtype=numpy.int16)
                         for x in (a, b))
    except (OSError, ValueError, binascii.Error, Image.DecompressionBombError):
        return None
    if first.shape != second.shape:
        return False
    changed = (numpy.abs(first - second).max(axis=-1) > CHANNEL_DELTA).mean()
    return bool(changed <= PIXEL_FRACTION)

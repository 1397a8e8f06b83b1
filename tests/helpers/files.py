"""Files for the file-decoding tests: a card whose code is seen but not read.

unreadable_card().save(path)   # a PNG: `unreadable` has one place, `codes` is empty
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.helpers import synthetic
from tests.helpers.samples import VALID


def unreadable_card() -> Image.Image:
    """A card photographed out of focus in dim light (blur of half a module, a sixth of the
    contrast): zxing-cpp locates its Data Matrix, no pass nor libdmtx reads it. Grayscale."""
    code = synthetic.datamatrix(VALID, 4)
    image = synthetic.card(code, np.random.default_rng(1), width=700)
    degradation = synthetic.Degradation(blur=2.0, contrast=0.15, noise=3)
    image = synthetic.degrade(image, degradation, np.random.default_rng(2))
    return Image.fromarray(image[:, :, ::-1]).convert("L")

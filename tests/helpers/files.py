"""Files for the file-decoding tests: a card whose code is seen but not read, a clean code.

unreadable_card().save(path)   # a PNG: `unreadable` has one place, `codes` is empty
datamatrix_png(VALID)          # PNG bytes of one Data Matrix, 40 white pixels around it
heic_bytes(image)              # a HEIC photo of a Pillow image (pillow-heif)
page_image(VALID)              # a page with the code near its top right (None: blank)
image_bytes(img, "TIFF", *more) # an image file's bytes; more pages: a multi-page TIFF
"""

from __future__ import annotations

import io

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


def datamatrix_png(payload: str) -> bytes:
    """A PNG of the Data Matrix of `payload` (an AIM `]d1` prefix is left out of the code),
    eight pixels a module, framed in white."""
    import zxingcpp

    barcode = zxingcpp.create_barcode(
        payload.removeprefix("]d1"), zxingcpp.BarcodeFormat.DataMatrix
    )
    image = Image.fromarray(barcode.to_image(scale=8)).convert("L")  # type: ignore[no-untyped-call]
    framed = Image.new("L", (image.width + 80, image.height + 80), 255)
    framed.paste(image, (40, 40))
    out = io.BytesIO()
    framed.save(out, format="PNG")
    return out.getvalue()


def heic_bytes(image: Image.Image, quality: int = 90, *extra: Image.Image) -> bytes:
    """`image` as a HEIC photo (HEVC, lossy at `quality`), as a phone saves it, encoded by
    pillow-heif (its wheel bundles libheif and the x265 encoder); `extra` images follow the
    primary one in the same file (a burst)."""
    import pillow_heif

    heif = pillow_heif.from_pillow(image.convert("RGB"))
    for other in extra:
        heif.add_from_pillow(other.convert("RGB"))
    out = io.BytesIO()
    heif.save(out, quality=quality)
    return out.getvalue()


def page_image(payload: bytes | None, size: tuple[int, int] = (700, 500)) -> Image.Image:
    """A small white "page" (width, height), grayscale, with the Data Matrix of `payload` (five
    pixels a module) near the top right; a blank page for None."""
    canvas = np.full((size[1], size[0]), 245, np.uint8)
    if payload is not None:
        code = synthetic.datamatrix(payload, 5)
        canvas[40 : 40 + code.shape[0], size[0] - 60 - code.shape[1] : size[0] - 60] = code
    return Image.fromarray(canvas)


def image_bytes(image: Image.Image, fmt: str, *pages: Image.Image) -> bytes:
    """`image` saved as `fmt` by Pillow ("PNG", "TIFF"...); `pages` follow it (multi-page TIFF)."""
    out = io.BytesIO()
    if pages:
        image.save(out, fmt, save_all=True, append_images=list(pages))
    else:
        image.save(out, fmt)
    return out.getvalue()

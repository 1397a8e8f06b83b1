"""PDFs made for tests and benchmarks: scanned pages (images embedded by Pillow at a given
resolution) and pages drawn with vectors, as an insurer's site makes them (the code's modules
as filled rectangles, lines of "text" as grey bars), written by hand: a small PDF whose
content streams are `re f` rectangles.

    data = scanned_pdf([image], dpi=200)
    data = vector_pdf([[VectorCode(payload, x_mm=120, y_mm=40, module_mm=0.4)], []])
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from tests.helpers import synthetic

A4_POINTS = (595.28, 841.89)  # width, height
_MM = 72 / 25.4


def scanned_pdf(pages: list[Image.Image], dpi: float) -> bytes:
    """One page per image, each image as a scanner at `dpi` stores it (JPEG inside, Pillow)."""
    first, *rest = [p.convert("RGB") if p.mode not in ("L", "RGB") else p for p in pages]
    out = io.BytesIO()
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class VectorCode:
    """A Data Matrix drawn on a page: its top-left corner `x_mm`, `y_mm` from the page's
    top-left, modules of `module_mm`."""

    payload: bytes
    x_mm: float
    y_mm: float
    module_mm: float = 0.4


def _modules(payload: bytes) -> npt.NDArray[np.bool_]:
    """The dark modules of the symbol (quiet zone included), one cell a module."""
    return np.asarray(synthetic.datamatrix(payload, 1) < 128)


def _code_ops(code: VectorCode, page_height: float) -> list[str]:
    dark = _modules(code.payload)
    size = code.module_mm * _MM
    x0, top = code.x_mm * _MM, page_height - code.y_mm * _MM
    ops = ["0 g"]
    for row, line in enumerate(dark):
        col = 0
        while col < len(line):  # one rectangle per run of dark modules on a row
            if not line[col]:
                col += 1
                continue
            end = col
            while end < len(line) and line[end]:
                end += 1
            x, y = x0 + col * size, top - (row + 1) * size
            ops.append(f"{x:.3f} {y:.3f} {(end - col) * size:.3f} {size:.3f} re f")
            col = end
    return ops


def _text_ops(rng: np.random.Generator, width: float, height: float) -> list[str]:
    ops = ["0.3 g"]
    for row in range(30):
        length = float(rng.uniform(width * 0.25, width * 0.45))
        ops.append(f"50 {height - 80 - row * 22:.2f} {length:.2f} 7 re f")
    return ops


def vector_pdf(pages: list[list[VectorCode]], seed: int = 0) -> bytes:
    """A4 pages drawn with vectors: grey bars for text on the left half, and the codes."""
    rng = np.random.default_rng(seed)
    width, height = A4_POINTS
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    objects.append(b"<</Type/Catalog/Pages 2 0 R>>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<</Type/Pages/Kids[{kids}]/Count {len(pages)}>>".encode())
    for page_id, codes in zip(page_ids, pages, strict=True):
        ops = _text_ops(rng, width, height)
        for code in codes:
            ops += _code_ops(code, height)
        stream = "\n".join(ops).encode()
        objects.append(
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {width} {height}]"
            f"/Contents {page_id + 1} 0 R/Resources<<>>>>".encode()
        )
        objects.append(
            b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()

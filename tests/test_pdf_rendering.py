"""PDF pages rendered at the resolution their code needs: a scanned page at its image's own
resolution (at most `pdf_dpi`), a page drawn with vectors first at `PDF_DRAFT_DPI` and again at
`pdf_dpi` only when that reads no Data Matrix or sees one it cannot read."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from decoders import DecodeOptions, Decoder, read_pages_from_bytes
from decoders.documents import PDF_DRAFT_DPI
from scanner_agent.file_decoding import for_documents, read_upload
from tests.helpers import synthetic
from tests.helpers.pdfs import A4_POINTS, VectorCode, scanned_pdf, vector_pdf
from tests.helpers.samples import FIXED_OTHER as B
from tests.helpers.samples import VALID as A


def _scan(payload: bytes | None, dpi: int) -> Image.Image:
    """A 10 x 7 cm scan at `dpi`, its code printed with 0.5 mm modules."""
    width, height = round(100 / 25.4 * dpi), round(70 / 25.4 * dpi)
    canvas = np.full((height, width), 245, np.uint8)
    if payload is not None:
        code = synthetic.datamatrix(payload, max(2, round(0.5 / 25.4 * dpi)))
        canvas[40 : 40 + code.shape[0], width - 40 - code.shape[1] : width - 40] = code
    return Image.fromarray(canvas)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The dpi of every PDF page rendering from now on."""
    seen: list[float] = []
    real = pdfium.PdfPage.render

    def render(self: pdfium.PdfPage, *args: Any, **kwargs: Any) -> pdfium.PdfBitmap:
        seen.append(round(kwargs["scale"] * 72, 3))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", render)
    return seen


def _decoder() -> Decoder:
    return Decoder(for_documents(DecodeOptions()))


def _read(data: bytes, options: DecodeOptions | None = None) -> list[tuple[int, bytes]]:
    read = read_upload(data, "x.pdf", options or DecodeOptions())
    assert read.error is None
    return [(s.page, s.data) for s in read.symbols]


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_a_scanned_page_is_rendered_at_its_images_resolution(
    dpi: int, renders: list[float]
) -> None:
    data = scanned_pdf([_scan(A, dpi), _scan(None, dpi)], dpi)
    pages = list(read_pages_from_bytes(data, "scan.pdf", DecodeOptions(pdf_dpi=300)))
    assert [p.dpi for p in pages] == [dpi, dpi]
    height, width = pages[0].image.shape
    scan_width, scan_height = _scan(None, dpi).size
    assert abs(width - scan_width) <= 1 and abs(height - scan_height) <= 1  # its own pixels
    assert not any(p.vector for p in pages)
    assert (pages[0].finer is None) == (dpi == 300)
    renders.clear()
    assert _read(data) == [(1, A)]
    assert renders == [dpi, dpi]  # never rendered finer: nothing unreadable was seen


def test_a_scan_finer_than_pdf_dpi_is_rendered_at_pdf_dpi() -> None:
    data = scanned_pdf([_scan(A, 300)], 300)
    [only] = read_pages_from_bytes(data, "scan.pdf", DecodeOptions(pdf_dpi=200))
    assert (only.dpi, only.finer) == (200, None)


def test_a_photo_kept_at_72_dpi_is_read_at_its_own_pixels_not_refused() -> None:
    # Pillow's default: a 4000 x 3000 photo becomes a 55 x 41 inch page; at 300 dpi that
    # would be 200 Mpx, over max_pixels; at its own 72 dpi it is the photo
    photo = Image.new("L", (4000, 3000), 235)
    photo.paste(Image.fromarray(synthetic.datamatrix(B, 6)), (2500, 800))
    data = scanned_pdf([photo], 72)
    [only] = read_pages_from_bytes(data, "photo.pdf", DecodeOptions())
    assert (only.dpi, only.image.shape) == (72, (3000, 4000))
    assert _read(data) == [(1, B)]


def test_a_vector_page_is_read_at_the_draft_resolution(renders: list[float]) -> None:
    data = vector_pdf([[VectorCode(A, 150, 40, 0.4)], [VectorCode(B, 150, 200, 0.5)]])
    pages = list(read_pages_from_bytes(data, "site.pdf", DecodeOptions()))
    assert [(p.dpi, p.vector) for p in pages] == [(PDF_DRAFT_DPI, True)] * 2
    renders.clear()
    assert _read(data) == [(1, A), (2, B)]
    assert renders == [PDF_DRAFT_DPI, PDF_DRAFT_DPI]  # no second rendering


def test_a_vector_page_without_a_readable_code_is_rendered_again_at_pdf_dpi(
    renders: list[float],
) -> None:
    # 0.2 mm modules: 1.6 pixels at the draft 200 dpi (seen, not read), 2.4 at 300 (read)
    data = vector_pdf([[VectorCode(A, 150, 40, 0.2)], []])
    assert _read(data) == [(1, A)]
    assert renders == [PDF_DRAFT_DPI, 300, PDF_DRAFT_DPI, 300]  # the empty page too
    renders.clear()
    assert _read(data, DecodeOptions(pdf_dpi=PDF_DRAFT_DPI)) == []  # at 150 only: not read
    assert renders == [PDF_DRAFT_DPI, PDF_DRAFT_DPI]


def test_the_finer_rendering_stays_within_max_pixels(renders: list[float]) -> None:
    width, height = A4_POINTS
    at_300 = round(width * 300 / 72) * round(height * 300 / 72)
    data = vector_pdf([[VectorCode(A, 150, 40, 0.2)]])
    options = DecodeOptions(max_pixels=at_300 // 2)  # 150 dpi fits, 300 does not
    read = read_upload(data, "site.pdf", options)
    assert read.error is None
    assert len(renders) == 2 and PDF_DRAFT_DPI < renders[1] < 300
    assert renders[1] == int(renders[1])


def test_a_finer_page_after_the_document_closed_is_refused() -> None:
    data = vector_pdf([[]])
    pages = read_pages_from_bytes(data, "site.pdf", DecodeOptions())
    [only] = list(pages)  # the document is closed once its last page was given
    assert only.finer is not None
    with pytest.raises(RuntimeError, match="closed"):
        only.finer()


def test_a_cancelled_page_is_not_rendered_again(renders: list[float]) -> None:
    data = vector_pdf([[]])
    [only] = read_pages_from_bytes(data, "site.pdf", DecodeOptions())
    cancel = threading.Event()
    cancel.set()
    only.read(_decoder(), cancel)
    assert renders == [PDF_DRAFT_DPI]

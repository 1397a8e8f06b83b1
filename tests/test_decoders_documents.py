"""Files and uploads: every image format, multi-page TIFF and PDF (rotated pages too), and each
bad file giving its stable error code with the file named, never an exception."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from decoders import DecodeError, DecodeOptions, read_pages
from decoders.documents import PDFIUM_LOCK
from scanner_agent.config import load_settings
from scanner_agent.file_decoding import (
    FileReport,
    decode_options,
    decode_path,
    decode_upload,
    for_documents,
)
from scanner_agent.parse_context import ParseContext
from tests.helpers import synthetic
from tests.helpers.samples import FIXED_OTHER as B
from tests.helpers.samples import TODAY
from tests.helpers.samples import VALID as A


def page(payload: bytes | None, size: tuple[int, int] = (700, 500)) -> Image.Image:
    """A small white "page" (width, height) with the code near the top right."""
    canvas = np.full((size[1], size[0]), 245, np.uint8)
    if payload is not None:
        code = synthetic.datamatrix(payload, 5)
        canvas[40 : 40 + code.shape[0], size[0] - 60 - code.shape[1] : size[0] - 60] = code
    return Image.fromarray(canvas)


def pages_of(report: FileReport) -> list[tuple[int, bytes]]:
    import base64

    return [(c.page, base64.b64decode(c.payload_b64)) for c in report.codes]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "TIFF"])
def test_each_image_format_is_read(tmp_path: Path, context: ParseContext, fmt: str) -> None:
    path = tmp_path / f"card.{fmt.lower()}"
    image = page(A).convert("RGB")
    image.save(path, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    report = decode_path(path, context, TODAY)
    assert report.error is None
    assert pages_of(report) == [(1, A)]
    [code] = report.codes
    assert code.symbology == "]d1"
    assert code.attestation.valid


def test_multi_page_tiff_reports_the_page_of_each_code(
    tmp_path: Path, context: ParseContext
) -> None:
    path = tmp_path / "mail.tiff"
    first, *rest = [page(A), page(None), page(B)]
    first.save(path, "TIFF", save_all=True, append_images=rest, compression="tiff_lzw")
    report = decode_path(path, context, TODAY)
    assert report.error is None
    assert pages_of(report) == [(1, A), (3, B)]


def test_pdf_pages_are_rendered_one_by_one(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "scan.pdf"
    first, *rest = [page(None).convert("RGB"), page(A).convert("RGB"), page(B).convert("RGB")]
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=150)
    report = decode_path(path, context, TODAY, DecodeOptions(pdf_dpi=150))
    assert report.error is None
    assert pages_of(report) == [(2, A), (3, B)]


def test_rotated_pdf_page_is_read(tmp_path: Path, context: ParseContext) -> None:
    source = io.BytesIO()
    page(A).convert("RGB").save(source, "PDF", resolution=150)
    document = pdfium.PdfDocument(source.getvalue())
    document[0].set_rotation(90)
    rotated = io.BytesIO()
    document.save(rotated)
    document.close()
    pages = list(read_pages_from_upload(rotated.getvalue()))
    height, width = pages[0].shape
    assert width < height  # rendered as a viewer shows it: the landscape page turned upright
    report = decode_upload(rotated.getvalue(), "rotated.pdf", context, TODAY,
                           DecodeOptions(pdf_dpi=150))  # fmt: skip
    assert pages_of(report) == [(1, A)]


def read_pages_from_upload(data: bytes) -> list[np.ndarray]:
    from decoders import read_pages_from_bytes

    return [p.image for p in read_pages_from_bytes(data, "x.pdf", DecodeOptions(pdf_dpi=150))]


def test_phone_photo_is_turned_upright_from_its_exif_orientation(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    page(A).convert("RGB").save(path, "JPEG", exif=exif)  # stored 700 wide, 500 high
    [only] = list(read_pages(path))
    assert only.image.shape == (700, 500)


def test_file_without_code_has_no_codes_and_no_error(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "blank.png"
    page(None).save(path)
    report = decode_path(path, context, TODAY)
    assert (report.codes, report.error) == ([], None)


def test_upload_gives_the_same_report_as_the_file(tmp_path: Path, context: ParseContext) -> None:
    buffer = io.BytesIO()
    page(A).save(buffer, "PNG")
    report = decode_upload(buffer.getvalue(), "upload.png", context, TODAY)
    assert report.file == "upload.png"
    assert pages_of(report) == [(1, A)]


# --- bad files ------------------------------------------------------------------------------


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    page(A).save(buffer, "PNG")
    return buffer.getvalue()


ENCRYPTED_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"3 0 obj<</Filter/Standard/V 1/R 2/Length 40/P -4"
    b"/O<" + b"11" * 32 + b">/U<" + b"22" * 32 + b">>>endobj\n"
    b"trailer<</Root 1 0 R/Encrypt 3 0 R/ID[<00112233445566778899aabbccddeeff>"
    b"<00112233445566778899aabbccddeeff>]/Size 4>>\n%%EOF\n"
)

BAD_FILES = {
    "truncated.png": (lambda: _png_bytes()[:400], "corrupt_image"),
    "notes.txt": (lambda: b"this is not an image\n" * 10, "not_an_image"),
    "empty.png": (lambda: b"", "empty_file"),
    "locked.pdf": (lambda: ENCRYPTED_PDF, "encrypted_pdf"),
    "broken.pdf": (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 4, "corrupt_pdf"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_gives_its_error_code_naming_the_file(
    tmp_path: Path, context: ParseContext, name: str
) -> None:
    make, code = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(make())
    report = decode_path(path, context, TODAY)
    assert report.error is not None
    assert report.error.code == code
    assert str(path) in report.error.message
    assert report.codes == []


def test_gif_is_an_unsupported_format(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "anim.gif"
    page(A).save(path, "GIF")
    report = decode_path(path, context, TODAY)
    assert report.error is not None
    assert report.error.code == "unsupported_format"


def test_image_over_the_pixel_limit_is_refused(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "huge.png"
    page(A).save(path)
    report = decode_path(path, context, TODAY, DecodeOptions(max_pixels=100_000))
    assert report.error is not None
    assert report.error.code == "image_too_large"
    assert "350,000 pixels" in report.error.message


def test_pdf_page_over_the_pixel_limit_is_refused(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "a4.pdf"
    # a scan of 1400 x 1000 pixels at 300 dpi: rendered at its native 300 dpi, 1.4 Mpx
    page(A, (1400, 1000)).convert("RGB").save(path, "PDF", resolution=300)
    report = decode_path(path, context, TODAY, DecodeOptions(max_pixels=1_000_000, pdf_dpi=300))
    assert report.error is not None
    assert report.error.code == "image_too_large"


def test_missing_file_and_folder(tmp_path: Path, context: ParseContext) -> None:
    missing = decode_path(tmp_path / "nope.png", context, TODAY)
    assert missing.error is not None
    assert missing.error.code == "file_not_found"
    folder = decode_path(tmp_path, context, TODAY)
    assert folder.error is not None
    assert folder.error.code == "unreadable_file"


def test_codes_before_a_damaged_tiff_page_are_kept(tmp_path: Path, context: ParseContext) -> None:
    buffer = io.BytesIO()
    first, second = page(A), page(B)
    first.save(buffer, "TIFF", save_all=True, append_images=[second])
    data = buffer.getvalue()
    # cut inside the second page's pixel data: the first page still reads
    report = decode_upload(data[: len(data) - 60_000], "cut.tiff", context, TODAY)
    assert report.error is not None
    assert report.error.code == "corrupt_image"
    assert pages_of(report) == [(1, A)]


# --- configuration ------------------------------------------------------------------------


def test_decode_options_come_from_the_decoder_section() -> None:
    settings = load_settings(env={
        "SCANNER_AGENT_DECODER__PASSES": '["local", "upscale"]',
        "SCANNER_AGENT_DECODER__PDF_DPI": "200",
        "SCANNER_AGENT_DECODER__LIBDMTX": "false",
    })  # fmt: skip
    options = decode_options(settings)
    assert options.passes == ("local", "upscale")
    assert options.pdf_dpi == 200
    assert options.libdmtx is False
    defaults = decode_options(load_settings(env={}))
    assert defaults.passes == DecodeOptions().passes
    assert defaults.time_budget_ms == 40  # the camera's budget, from config/default.toml
    assert for_documents(defaults).time_budget_ms is None  # files: every pass, any load


def test_unknown_pass_in_config_names_the_key() -> None:
    from scanner_agent.errors import ConfigError

    with pytest.raises(ConfigError, match=r"decoder\.passes"):
        load_settings(env={"SCANNER_AGENT_DECODER__PASSES": '["magic"]'})


def test_read_pages_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "two.tiff"
    page(A).save(path, "TIFF", save_all=True, append_images=[page(B)])
    pages = read_pages(path)
    assert next(pages).number == 1
    assert next(pages).number == 2


def test_pass_names_are_exactly_the_passes_the_cascade_has() -> None:
    from decoders.base import DEFAULT_PASSES, PASS_NAMES
    from decoders.cascade import PASSES, REFINE

    assert set(PASS_NAMES) == {*PASSES, REFINE}
    assert set(DEFAULT_PASSES) <= set(PASS_NAMES)


def _counting_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every PDF page rendered from now on (pdfium's render, counted)."""
    rendered: list[int] = []
    real = pdfium.PdfPage.render

    def render(self: pdfium.PdfPage, *args: object, **kwargs: object) -> pdfium.PdfBitmap:
        rendered.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pdfium.PdfPage, "render", render)
    return rendered


def _pdf_of(count: int) -> bytes:
    first = page(A).convert("RGB")
    rest = [page(None).convert("RGB") for _ in range(count - 1)]
    out = io.BytesIO()
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=72)
    return out.getvalue()


def test_pdf_over_the_page_limit_is_refused_before_any_page_is_rendered(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(_pdf_of(4))
    rendered = _counting_renders(monkeypatch)
    report = decode_path(path, context, TODAY, DecodeOptions(max_pages=3, pdf_dpi=72))
    assert report.error is not None
    assert report.error.code == "too_many_pages"
    assert str(path) in report.error.message and "4 pages" in report.error.message
    assert report.codes == []
    assert rendered == []
    # at the limit, the document is read
    report = decode_path(path, context, TODAY, DecodeOptions(max_pages=4, pdf_dpi=72))
    assert report.error is None
    assert pages_of(report) == [(1, A)]
    assert len(rendered) == 4


def test_tiff_over_the_page_limit_is_refused_before_any_page_is_read(
    tmp_path: Path, context: ParseContext
) -> None:
    path = tmp_path / "mail.tiff"
    first, *rest = [page(A), page(None), page(B)]
    first.save(path, "TIFF", save_all=True, append_images=rest)
    report = decode_path(path, context, TODAY, DecodeOptions(max_pages=2))
    assert report.error is not None
    assert report.error.code == "too_many_pages"
    assert report.codes == []
    with pytest.raises(DecodeError) as raised:
        read_pages(path, DecodeOptions(max_pages=2))  # refused at once, no page yielded
    assert raised.value.code == "too_many_pages"
    assert pages_of(decode_path(path, context, TODAY, DecodeOptions(max_pages=3))) == [
        (1, A),
        (3, B),
    ]


def test_max_pages_comes_from_the_decoder_section_default_50() -> None:
    assert decode_options(load_settings(env={})).max_pages == 50
    settings = load_settings(env={"SCANNER_AGENT_DECODER__MAX_PAGES": "7"})
    assert decode_options(settings).max_pages == 7


# --- pdfium from several threads ----------------------------------------------------------


def _pdf_with(*payloads: bytes | None) -> bytes:
    first, *rest = [page(p).convert("RGB") for p in payloads]
    out = io.BytesIO()
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=72)
    return out.getvalue()


def _held(lock: Any) -> bool:
    """Whether some thread holds `lock` (asked from another thread: an RLock is re-entrant)."""
    free: list[bool] = []

    def probe() -> None:
        if lock.acquire(blocking=False):
            lock.release()
            free.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return not free


def _watch_pdfium(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Wrap the pdfium calls documents.py makes: each checks that it runs holding PDFIUM_LOCK,
    and the most calls in pdfium at the same moment is recorded."""
    seen = {"calls": 0, "unlocked": 0, "inside": 0, "most_inside": 0}
    guard = threading.Lock()

    def watched(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with guard:
                seen["calls"] += 1
                seen["unlocked"] += not _held(PDFIUM_LOCK)
                seen["inside"] += 1
                seen["most_inside"] = max(seen["most_inside"], seen["inside"])
            try:
                return real(*args, **kwargs)
            finally:
                with guard:
                    seen["inside"] -= 1

        return call

    for cls, names in (
        (pdfium.PdfDocument, ("__init__", "__len__", "__getitem__", "close")),
        (pdfium.PdfPage, ("get_size", "get_rotation", "render", "close")),
        (pdfium.PdfBitmap, ("to_numpy", "close")),
    ):
        for name in names:
            monkeypatch.setattr(cls, name, watched(getattr(cls, name)))
    return seen


def test_every_pdfium_call_holds_the_lock(
    context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _watch_pdfium(monkeypatch)
    report = decode_upload(_pdf_with(None, A), "a.pdf", context, TODAY, DecodeOptions(pdf_dpi=72))
    assert pages_of(report) == [(2, A)]
    assert seen["calls"] >= 10
    assert seen["unlocked"] == 0
    assert not _held(PDFIUM_LOCK)  # released once the document is read


def test_pdfs_decoded_from_several_threads_give_each_its_own_codes(
    context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = {
        "a.pdf": (_pdf_with(A, None), [(1, A)]),
        "b.pdf": (_pdf_with(None, B), [(2, B)]),
        "ab.pdf": (_pdf_with(A, B, None), [(1, A), (2, B)]),
        "none.pdf": (_pdf_with(None, None), []),
    }
    seen = _watch_pdfium(monkeypatch)
    options = DecodeOptions(pdf_dpi=72)

    def decode(name: str) -> tuple[str, list[tuple[int, bytes]]]:
        report = decode_upload(documents[name][0], name, context, TODAY, options)
        assert report.error is None
        return name, pages_of(report)

    names = list(documents) * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(decode, names))
    assert results == [(name, documents[name][1]) for name in names]
    assert seen["most_inside"] == 1  # never two threads in pdfium at once
    assert seen["unlocked"] == 0


# --- cancellation ---------------------------------------------------------------------------


def test_a_cancelled_read_stops_before_the_next_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import decoders
    from decoders import Page
    from scanner_agent.file_decoding import CANCELLED, read_upload

    cancel = threading.Event()
    rendered: list[int] = []
    closed: list[bool] = []

    def endless(data: bytes, name: str, options: DecodeOptions | None = None) -> Any:
        try:
            for number in range(1, 1000):
                rendered.append(number)
                yield Page(number, np.full((60, 80), 200, np.uint8))
                if number == 3:
                    cancel.set()  # the request times out while page 4 is being rendered
        finally:
            closed.append(True)

    monkeypatch.setattr(decoders, "read_pages_from_bytes", endless)
    read = read_upload(b"x", "long.pdf", DecodeOptions(), cancel=cancel)
    assert rendered == [1, 2, 3, 4]  # stopped within the page under way
    assert read.error is not None and read.error.code == CANCELLED
    assert "long.pdf" in read.error.message
    assert closed == [True]  # the document is closed at once, not when collected


# --- codes seen but not read --------------------------------------------------------------


def test_a_code_seen_but_not_read_is_reported_with_its_page_and_place(
    tmp_path: Path, context: ParseContext
) -> None:
    from scanner_agent.file_decoding import read_upload
    from tests.helpers.files import unreadable_card

    path = tmp_path / "mail.tiff"
    first, *rest = [page(A), unreadable_card(), page(None)]
    first.save(path, "TIFF", save_all=True, append_images=rest)
    report = decode_path(path, context, TODAY)
    assert report.error is None
    assert pages_of(report) == [(1, A)]
    [seen] = report.unreadable
    assert seen.page == 2
    xs = [x for x, _ in seen.position]
    ys = [y for _, y in seen.position]
    # where the card's code is: its right part, its lower part
    width, height = unreadable_card().size
    assert len(seen.position) == 4
    assert width * 0.5 < min(xs) < max(xs) < width and height * 0.2 < min(ys) < max(ys) < height
    body = report.model_dump(mode="json")
    assert body["unreadable"] == [{"page": 2, "position": [list(p) for p in seen.position]}]
    read = read_upload(path.read_bytes(), "mail.tiff")
    assert [(u.page, u.position) for u in read.unreadable] == [(2, tuple(seen.position))]
    assert decode_path(tmp_path / "missing.png", context, TODAY).unreadable == []

"""Files and uploads: images (PNG, JPEG, TIFF with all its pages, BMP, WebP, HEIC/HEIF phone
photos) and PDFs rendered page by page, each page decoded by the same `Decoder` a camera uses.

A file that cannot be read raises `DecodeError` with one of these stable codes, and a message
that names the file (the codes are a contract with the API and the CLI's JSON output):

    file_not_found      no such file
    unreadable_file     a folder, no permission, an I/O error
    file_too_large      more than MAX_FILE_BYTES on disk
    empty_file          zero bytes
    not_an_image        neither an image format we read nor a PDF
    unsupported_format  an image format outside PNG, JPEG, TIFF, BMP, WebP, HEIC/HEIF (GIF,
                        ICO...), or a HEIC/HEIF photo where pillow-heif is not installed
    corrupt_image       a truncated or damaged image, HEIC/HEIF included (the pages before
                        the damage are kept)
    image_too_large     an image or rendered page over `DecodeOptions.max_pixels`
    encrypted_pdf       a PDF that needs a password
    corrupt_pdf         a damaged PDF, or a page pdfium cannot render
    too_many_pages      a PDF or multi-page TIFF of more than `DecodeOptions.max_pages` pages
                        (the count is read first: no page of it is rendered)

HEIC/HEIF (the photos of phones) are read through pillow-heif (its wheels bundle libheif),
registered with Pillow only when a file's first bytes say HEIF (`is_heif`): reading a PNG or a
PDF never imports it. A HEIF file holding several images (a burst, a live photo) is read as its
primary image, as a viewer shows it.

PDF pages are rendered at the resolution their code needs, not more (`pdf_dpi`, 300, is the
most): a scanned page (its content images only) at the native resolution of its image,
min(pdf_dpi, the image's effective dpi), since rendering finer only interpolates; a page drawn
with vectors (text, paths: a PDF made by an insurer's site) first at `PDF_DRAFT_DPI` (200), where
its code's modules are already sharp, and again at `pdf_dpi` only when that rendering yields no
Data Matrix. Either kind is rendered again at `pdf_dpi` when a code was seen but not read.
`Page.read(decoder)` decodes a page that way (`Page.finer` is the page at `pdf_dpi`).

Pages are read lazily: `read_pages` yields them one by one, so a long PDF never sits in
memory at once, and an error on page 7 comes after pages 1-6 were yielded. A PDF is opened by
the first `next` (its errors, `too_many_pages` included, come then); an image at the call.

pdfium is not thread-safe: each call into it holds `PDFIUM_LOCK` (one page rendered at a time
in the process, whatever the thread; the decoding of the pages runs in parallel).
"""

from __future__ import annotations

import contextlib
import io
import math
import stat
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from decoders.base import Cancel, DecodedSymbol, DecodeOptions, Reading
from decoders.cascade import Decoder
from decoders.errors import DecodeError

MAX_FILE_BYTES = 512 * 1024 * 1024
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "MPO", "TIFF", "BMP", "DIB", "WEBP", "HEIF"})
READ_FORMATS = "PNG, JPEG, TIFF, BMP, WebP, HEIC/HEIF and PDF"
"""What the messages say the agent reads."""
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
"""The ISO BMFF brands of HEIF still images and sequences (HEVC-coded, the phones' photos)."""
_PDF_MAGIC = b"%PDF-"
_PDF_POINTS_PER_INCH = 72
_FPDF_ERR_PASSWORD, _FPDF_ERR_SECURITY = 4, 5
PDF_DRAFT_DPI = 200
"""The first rendering of a PDF page drawn with vectors: its code's modules are sharp at any
resolution; at 200 dpi a 0.25 mm module is 2 pixels, read at once (at 150 dpi, 1.5 pixels:
a third of such pages had to be rendered again), for 44 % of the pixels of 300 dpi
(benchmarks/pdf.py, docs/benchmarks.md "PDF pages")."""
PDF_MIN_DPI = 50
"""The least a scanned page is rendered at, whatever its image's resolution."""
_MAX_OBJECTS_LOOKED_AT = 2000

PDFIUM_LOCK = threading.RLock()
"""pdfium (pypdfium2) is not thread-safe: every call into it, from opening a document to closing
it, is made holding this lock. Code outside this module that uses pypdfium2 takes it too.
Re-entrant: a page iterator abandoned while this thread holds it is closed (under the lock) by
the garbage collector without a deadlock."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page (or the only picture) of a file: 1-based `number`, grayscale pixels.

    A PDF page says the resolution it was rendered at (`dpi`; None for an image) and, when
    that was below `pdf_dpi`, offers `finer`: the same page rendered at `pdf_dpi` (call it
    before asking for the next page: the document is closed after the last). `read` uses it."""

    number: int
    image: npt.NDArray[np.uint8]
    dpi: float | None = None
    finer: Callable[[], Page] | None = None
    vector: bool = False
    """Drawn with vectors (text, paths), not only images: a code may be there even when this
    rendering reads none."""

    def read(self, decoder: Decoder, cancel: Cancel | None = None) -> Reading:
        """The codes of this page (`decoder.read`). A PDF page rendered below `pdf_dpi` is read
        again from its `finer` rendering when this one shows a code it cannot read, or, drawn
        with vectors, yields no Data Matrix; the finer reading is the page's."""
        reading = decoder.read(self.image, self.number, cancel)
        if self.finer is None or (cancel is not None and cancel.is_set()):
            return reading
        datamatrix = any(s.format == "DataMatrix" for s in reading.symbols)
        if reading.unreadable or (self.vector and not datamatrix):
            return decoder.read(self.finer().image, self.number, cancel)
        return reading


def read_pages(path: Path, options: DecodeOptions | None = None) -> Iterator[Page]:
    """The pages of the file at `path`, one by one. Raises `DecodeError`."""
    return read_pages_from_bytes(_read(path), str(path), options)


def read_pages_from_bytes(
    data: bytes, name: str, options: DecodeOptions | None = None
) -> Iterator[Page]:
    """The pages of an uploaded file called `name` (for messages). Raises `DecodeError`."""
    options = options or DecodeOptions()
    if not data:
        raise DecodeError(f"{name}: the file is empty", "empty_file")
    if len(data) > MAX_FILE_BYTES:
        raise DecodeError(
            f"{name}: {len(data)} bytes, more than {MAX_FILE_BYTES} is not read", "file_too_large"
        )
    if data[:1024].lstrip()[:5] == _PDF_MAGIC:
        return _pdf_pages(data, name, options)
    return _image_pages(data, name, options)


def decode_file(
    path: Path, options: DecodeOptions | None = None, decoder: Decoder | None = None
) -> list[DecodedSymbol]:
    """Every code of every page of a file, without a time budget (a `time_budget_ms` of
    `options` is dropped; a `decoder` given must have none). Raises `DecodeError` (codes found
    before are lost: iterate `read_pages` yourself to keep them, as
    `scanner_agent.file_decoding` does)."""
    decoder = file_decoder(options, decoder)
    return [s for page in read_pages(path, decoder.options) for s in page.read(decoder).symbols]


def decode_bytes(
    data: bytes, name: str, options: DecodeOptions | None = None, decoder: Decoder | None = None
) -> list[DecodedSymbol]:
    """`decode_file` for an upload held in memory."""
    decoder = file_decoder(options, decoder)
    pages = read_pages_from_bytes(data, name, decoder.options)
    return [s for page in pages for s in page.read(decoder).symbols]


def file_decoder(options: DecodeOptions | None, decoder: Decoder | None = None) -> Decoder:
    """The decoder for a file: `decoder`, or a new one of `options` without a time budget.
    Files are decoded deterministically (every pass runs, whatever the machine's load): a
    `decoder` with a `time_budget_ms` (a camera's) raises ValueError."""
    if decoder is None:
        return Decoder(replace(options or DecodeOptions(), time_budget_ms=None))
    if decoder.options.time_budget_ms is not None:
        raise ValueError(
            "files are decoded without a time budget: give a Decoder whose options have "
            "time_budget_ms=None (scanner_agent.file_decoding.for_documents)"
        )
    return decoder


def _read(path: Path) -> bytes:
    try:
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise DecodeError(f"{path}: is a folder, not a file", "unreadable_file")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise DecodeError(f"{path}: not a regular file", "unreadable_file")
        if size > MAX_FILE_BYTES:
            raise DecodeError(
                f"{path}: {size} bytes, more than {MAX_FILE_BYTES} is not read", "file_too_large"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise DecodeError(f"{path}: no such file", "file_not_found") from None
    except PermissionError:
        raise DecodeError(f"{path}: permission denied", "unreadable_file") from None
    except OSError as exc:
        raise DecodeError(
            f"{path}: cannot be read: {exc.strerror or exc}", "unreadable_file"
        ) from exc


# --- images -------------------------------------------------------------------------------


def is_heif(data: bytes) -> bool:
    """Whether `data` starts as a HEIF file: an ISO BMFF `ftyp` box whose major or a compatible
    brand is a HEIF one (`HEIF_BRANDS`)."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 256)]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}  # major, version, compatibles
    return bool(brands & HEIF_BRANDS)


_HEIF_LOCK = threading.Lock()
_heif_registered: list[bool] = []


def _register_heif(name: str) -> None:
    """Register pillow-heif's opener with Pillow, once per process (on the first HEIF file)."""
    with _HEIF_LOCK:
        if _heif_registered:
            return
        try:
            import pillow_heif  # noqa: PLC0415 - only for HEIF files, on the first one
        except ImportError:
            raise DecodeError(
                f"{name}: HEIC/HEIF photos need the pillow-heif package, not installed here",
                "unsupported_format",
            ) from None
        pillow_heif.register_heif_opener()
        _heif_registered.append(True)


def _image_pages(data: bytes, name: str, options: DecodeOptions) -> Iterator[Page]:
    heif = is_heif(data)
    if heif:
        _register_heif(name)
    with warnings.catch_warnings():
        # we check the pixel count ourselves, against our own limit
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            if heif:  # its header says HEIF, libheif cannot parse it: truncated or damaged
                raise DecodeError(
                    f"{name}: damaged or truncated HEIC/HEIF photo", "corrupt_image"
                ) from None
            raise DecodeError(
                f"{name}: not an image or a PDF (the agent reads {READ_FORMATS})",
                "not_an_image",
            ) from None
        except Image.DecompressionBombError as exc:
            raise DecodeError(f"{name}: {exc}", "image_too_large") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DecodeError(f"{name}: damaged image header ({exc})", "corrupt_image") from exc
    if image.format not in IMAGE_FORMATS:
        raise DecodeError(
            f"{name}: {image.format} images are not read ({READ_FORMATS} are)",
            "unsupported_format",
        )
    if image.format == "TIFF" and _more_frames_than(image, options.max_pages):
        image.close()
        raise _too_many_pages(name, f"more than {options.max_pages}", options)
    return _frames(image, name, options)


def _more_frames_than(image: Image.Image, limit: int) -> bool:
    """Whether a TIFF has a page after page `limit`: at most `limit` + 1 page headers are read,
    no pixels. A damaged header answers False: the page loop reports the damage (and stops at
    the limit all the same)."""
    damage = (OSError, SyntaxError, ValueError, EOFError, IndexError)
    try:
        image.seek(limit)  # 0-based: page limit + 1
    except damage:  # EOFError: no such page
        return False
    finally:
        with contextlib.suppress(*damage):
            image.seek(0)
    return True


def _too_many_pages(name: str, count: str, options: DecodeOptions) -> DecodeError:
    return DecodeError(
        f"{name}: {count} pages, over the limit of {options.max_pages} (decoder.max_pages); "
        "no page was read",
        "too_many_pages",
    )


def _frames(image: Image.Image, name: str, options: DecodeOptions) -> Iterator[Page]:
    number = 0
    # TIFF pages are pages; the extra frames of other formats (the preview of a phone's MPO
    # JPEG, an animated WebP, the other images of a HEIF burst) are not
    frames = ImageSequence.Iterator(image) if image.format == "TIFF" else iter([image])
    try:
        for frame in frames:
            number += 1
            if number > options.max_pages:  # a TIFF whose count could not be read first
                raise DecodeError(
                    f"{name}: more than {options.max_pages} pages, over the limit "
                    "(decoder.max_pages); the pages after it are not read",
                    "too_many_pages",
                )
            width, height = frame.size
            _check_pixels(width * height, options, name, number)
            yield Page(number, _to_gray(frame))
    except DecodeError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        where = f"page {number}" if number > 1 else "the image"
        raise DecodeError(
            f"{name}: {where} is truncated or damaged ({exc})", "corrupt_image"
        ) from exc
    finally:
        image.close()


def _to_gray(frame: Image.Image) -> npt.NDArray[np.uint8]:
    frame = ImageOps.exif_transpose(frame) or frame  # phone photos: upright as shown
    if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    if frame.mode.startswith("I;16") or frame.mode in ("I", "F"):
        array = np.asarray(frame, dtype=np.float64)
        top = float(array.max()) or 1.0
        return np.ascontiguousarray(array * (255.0 / top), dtype=np.uint8)
    return np.ascontiguousarray(np.asarray(frame.convert("L"), dtype=np.uint8))


def _check_pixels(pixels: int, options: DecodeOptions, name: str, number: int) -> None:
    if pixels > options.max_pixels:
        where = f"page {number} is" if number > 1 else "is"
        raise DecodeError(
            f"{name}: {where} {pixels:,} pixels, over the limit of {options.max_pixels:,} "
            "(decoder.max_pixels)",
            "image_too_large",
        )


# --- PDF ----------------------------------------------------------------------------------


def _pdf_pages(data: bytes, name: str, options: DecodeOptions) -> Iterator[Page]:
    # a generator: the document is opened by the first `next` (its errors come then, before
    # any page is rendered), so an iterator never started holds no pdfium object, which Python
    # would otherwise close at collection, outside the lock
    try:
        with PDFIUM_LOCK:
            document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (_FPDF_ERR_PASSWORD, _FPDF_ERR_SECURITY):
            raise DecodeError(
                f"{name}: the PDF is encrypted (needs a password)", "encrypted_pdf"
            ) from None
        raise DecodeError(f"{name}: not a readable PDF ({exc})", "corrupt_pdf") from None
    with PDFIUM_LOCK:
        count = len(document)
        if count > options.max_pages:
            document.close()
    if count > options.max_pages:
        raise _too_many_pages(name, str(count), options)
    yield from _render(document, count, name, options)


def _render(
    document: pdfium.PdfDocument, count: int, name: str, options: DecodeOptions
) -> Iterator[Page]:
    is_open = [True]
    try:
        for index in range(count):
            number = index + 1
            # the lock is held while pdfium works, never while the page is decoded or waits
            # for its consumer: other threads' PDFs render between two pages of this one
            with PDFIUM_LOCK:
                dpi, vector, finest = _plan(document, index, number, name, options)
                pixels = _render_page(document, index, number, dpi, name, options)
            finer = None
            if finest > dpi:
                finer = _finer(document, index, number, finest, name, options, is_open)
            yield Page(number, pixels, dpi, finer, vector)
    finally:
        with PDFIUM_LOCK:
            is_open[0] = False
            document.close()


def _finer(
    document: pdfium.PdfDocument,
    index: int,
    number: int,
    dpi: float,
    name: str,
    options: DecodeOptions,
    is_open: list[bool],
) -> Callable[[], Page]:
    def render() -> Page:
        with PDFIUM_LOCK:
            if not is_open[0]:
                raise RuntimeError(f"{name}: page {number} asked for after the document closed")
            return Page(number, _render_page(document, index, number, dpi, name, options), dpi)

    return render


def _plan(
    document: pdfium.PdfDocument, index: int, number: int, name: str, options: DecodeOptions
) -> tuple[float, bool, float]:
    """How to render page `index`: (first dpi, drawn with vectors, finest dpi worth it). The
    finest is `pdf_dpi`, less when the page would be over `max_pixels` there (then the page is
    not rendered finer than what fits). Call with `PDFIUM_LOCK` held."""
    page = _page(document, index, number, name)
    try:
        width, height = page.get_size()
        vector, native = _content(page)
    except pdfium.PdfiumError as exc:
        raise DecodeError(f"{name}: page {number} cannot be read ({exc})", "corrupt_pdf") from None
    finally:
        page.close()
    if native is not None:  # scanned: its image's resolution is the most that helps
        first = float(min(options.pdf_dpi, max(PDF_MIN_DPI, math.ceil(native - 0.01))))
    else:
        first = float(min(options.pdf_dpi, PDF_DRAFT_DPI))
    # the finest rendering that fits max_pixels (the first one is checked as it always was)
    fits = math.sqrt(options.max_pixels / max(width * height, 1.0)) * _PDF_POINTS_PER_INCH
    finest = float(min(options.pdf_dpi, math.floor(fits)))
    return first, vector, finest


def _content(page: pdfium.PdfPage) -> tuple[bool, float | None]:
    """(drawn with vectors, the effective dpi of its finest image when it holds images only)."""
    native: float | None = None
    for seen, item in enumerate(page.get_objects()):
        if seen >= _MAX_OBJECTS_LOOKED_AT:
            return True, None  # a busy page: treat it as drawn
        if item.type == pdfium.raw.FPDF_PAGEOBJ_FORM:
            continue  # its content comes next
        if item.type != pdfium.raw.FPDF_PAGEOBJ_IMAGE:
            return True, None
        assert isinstance(item, pdfium.PdfImage)
        px_width, px_height = item.get_px_size()
        a, b, c, d, _, _ = item.get_matrix().get()  # the unit square to the page, in points
        for pixels, points in ((px_width, math.hypot(a, b)), (px_height, math.hypot(c, d))):
            if points > 0:
                dpi = pixels * _PDF_POINTS_PER_INCH / points
                native = dpi if native is None else max(native, dpi)
    return False, native


def _page(document: pdfium.PdfDocument, index: int, number: int, name: str) -> pdfium.PdfPage:
    try:
        return document[index]
    except pdfium.PdfiumError as exc:
        raise DecodeError(f"{name}: page {number} cannot be read ({exc})", "corrupt_pdf") from None


def _render_page(
    document: pdfium.PdfDocument,
    index: int,
    number: int,
    dpi: float,
    name: str,
    options: DecodeOptions,
) -> npt.NDArray[np.uint8]:
    """Page `index` rendered at `dpi` to grayscale pixels of our own (pdfium's memory is
    released before this returns). Call with `PDFIUM_LOCK` held."""
    scale = dpi / _PDF_POINTS_PER_INCH
    page = _page(document, index, number, name)
    try:
        width, height = page.get_size()
        if page.get_rotation() % 180:
            width, height = height, width
        _check_pixels(round(width * scale) * round(height * scale), options, name, number)
        # /Rotate is applied: the page comes out as a viewer shows it
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            pixels = bitmap.to_numpy()
            if pixels.ndim == 3:
                pixels = pixels[:, :, 0]
            return np.array(pixels, dtype=np.uint8, order="C")  # a copy: the bitmap is closed
        finally:
            bitmap.close()
    except pdfium.PdfiumError as exc:
        raise DecodeError(
            f"{name}: page {number} cannot be rendered ({exc})", "corrupt_pdf"
        ) from None
    finally:
        page.close()

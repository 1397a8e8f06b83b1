"""Files and uploads to parsed attestations: what `scanner-agent decode` and `POST /v1/decode`
share.

    report = decode_path(Path("scan.pdf"), context, date.today(), decode_options(settings))
    report.codes[0].attestation.valid

Every code found gets a `CodeReport`, attestation or not: a QR code comes back refused with
`wrong_symbology`, a GS1 DataMatrix with `gs1_code`. A place that looks like a Data Matrix but
that no pass could read gets an `UnreadableReport` in `unreadable` (scan it again, better). A
file that cannot be read gets `error` (a stable code from `decoders.documents` and a message
naming the file) and keeps the codes of the pages read before the problem. A file with no code:
`codes == []`, `error is None`. Never raises for a bad file.

Files have no time budget (`for_documents`): every pass runs, so the same file gives the same
result on an idle and on a saturated machine.

`POST /v1/decode` reads the symbols only (`read_upload`), hands them to the agent's pipeline
(which parses and stores each as a scan of source `upload`), then makes the same report of them
(`SymbolsRead.report`).

Importing this module is cheap: the decoders (OpenCV, numpy, zxing-cpp, pypdfium2, Pillow) are
imported by the functions that decode, so the API can import it at start and pay only on the
first upload.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from decoders.base import Cancel, DecodedSymbol, DecodeOptions, Unreadable
from scanner_agent.attestation import Attestation
from scanner_agent.config import Settings
from scanner_agent.errors import DecodeError
from scanner_agent.parse_context import ParseContext

if TYPE_CHECKING:
    from decoders import Decoder, Page


class CodeReport(BaseModel):
    page: int
    """1-based; 1 for a single image."""
    payload_b64: str
    """The exact bytes of the symbol, base64 (ECI-protocol form when `symbology` is `]d4`)."""
    symbology: str | None
    attestation: Attestation


class FileError(BaseModel):
    code: str
    message: str


class UnreadableReport(BaseModel):
    """A place that looks like a Data Matrix but that no pass could read (the code is there,
    too small, blurred or badly lit: the file should be scanned again, better)."""

    page: int
    """1-based; 1 for a single image."""
    position: list[tuple[int, int]]
    """Its four corners (top-left, top-right, bottom-right, bottom-left), in pixels of the
    page as decoded (a PDF page as rendered: see `Page.dpi` in decoders.documents)."""


class FileReport(BaseModel):
    file: str
    codes: list[CodeReport]
    error: FileError | None
    ms: float
    unreadable: list[UnreadableReport] = []
    """The codes seen but not read, in page order."""


def decode_options(settings: Settings) -> DecodeOptions:
    """The `[decoder]` section of the configuration as `DecodeOptions`."""
    section = settings.decoder
    return DecodeOptions(
        time_budget_ms=section.time_budget_ms,
        passes=tuple(section.passes),
        libdmtx=section.libdmtx,
        libdmtx_timeout_ms=section.libdmtx_timeout_ms,
        max_pixels=section.max_pixels,
        pdf_dpi=section.pdf_dpi,
        max_pages=section.max_pages,
    )


def for_documents(options: DecodeOptions) -> DecodeOptions:
    """Options for files and uploads: no time budget (every pass runs, so a file gives the same
    result on an idle and on a saturated machine), and every code of a page is reported, a QR
    code beside the Data Matrix included (a page is decoded once: the extra read is affordable
    there)."""
    return replace(options, time_budget_ms=None, other_formats_too=True)


def decode_path(
    path: Path,
    context: ParseContext,
    at: date,
    options: DecodeOptions | None = None,
    decoder: Decoder | None = None,
) -> FileReport:
    """Decode and parse every code of the file at `path`. Files have no time budget: `options`
    go through `for_documents`; a `decoder` given must have been built so (ValueError)."""
    from decoders import read_pages  # noqa: PLC0415 - decoders load on the first decode

    return _report(str(path), lambda opts: read_pages(path, opts), context, at, options, decoder)


def decode_upload(
    data: bytes,
    filename: str,
    context: ParseContext,
    at: date,
    options: DecodeOptions | None = None,
    decoder: Decoder | None = None,
) -> FileReport:
    """Decode and parse every code of an uploaded file."""
    from decoders import read_pages_from_bytes  # noqa: PLC0415 - loaded on the first decode

    return _report(
        filename,
        lambda opts: read_pages_from_bytes(data, filename, opts),
        context,
        at,
        options,
        decoder,
    )


@dataclass(frozen=True, slots=True)
class SymbolsRead:
    """The symbols of a file, not parsed yet, and why reading stopped early (if it did)."""

    file: str
    symbols: list[DecodedSymbol]
    error: FileError | None
    ms: float
    unreadable: list[Unreadable] = field(default_factory=list)
    """The places that look like a Data Matrix but could not be read (`Reading.unreadable`)."""

    def report(self, attestations: Sequence[Attestation]) -> FileReport:
        """The file report, given each symbol's attestation (in the same order)."""
        codes = [
            CodeReport(
                page=symbol.page,
                payload_b64=base64.b64encode(symbol.data).decode("ascii"),
                symbology=symbol.symbology,
                attestation=attestation,
            )
            for symbol, attestation in zip(self.symbols, attestations, strict=True)
        ]
        unreadable = [
            UnreadableReport(page=u.page, position=list(u.position)) for u in self.unreadable
        ]
        return FileReport(
            file=self.file, codes=codes, error=self.error, ms=self.ms, unreadable=unreadable
        )


def read_upload(
    data: bytes,
    filename: str,
    options: DecodeOptions | None = None,
    decoder: Decoder | None = None,
    cancel: Cancel | None = None,
) -> SymbolsRead:
    """The symbols of an uploaded file, without parsing them. Once `cancel` is set, reading
    stops before the next page (and between two passes of the page being decoded): the result
    then has the error `decode_cancelled` and the symbols found until then."""
    from decoders import read_pages_from_bytes  # noqa: PLC0415 - loaded on the first decode

    return _read(filename, lambda opts: read_pages_from_bytes(data, filename, opts), options,
                 decoder, cancel)  # fmt: skip


def _read(
    name: str,
    pages: Callable[[DecodeOptions], Iterator[Page]],
    options: DecodeOptions | None,
    decoder: Decoder | None,
    cancel: Cancel | None = None,
) -> SymbolsRead:
    from decoders.documents import file_decoder  # noqa: PLC0415 - loaded on the first decode

    start = time.perf_counter()
    # no time budget, whatever the caller gives: the same file, the same result at any load
    decoder = file_decoder(for_documents(options or DecodeOptions()), decoder)
    symbols: list[DecodedSymbol] = []
    unreadable: list[Unreadable] = []
    error: FileError | None = None
    read: Iterator[Page] | None = None
    try:
        read = pages(decoder.options)
        for page in read:
            reading = page.read(decoder, cancel)
            symbols.extend(reading.symbols)
            unreadable.extend(reading.unreadable)
            if cancel is not None and cancel.is_set():  # before the next page is rendered
                error = FileError(
                    code=CANCELLED,
                    message=f"{name}: decoding stopped after page {page.number} (cancelled)",
                )
                break
    except DecodeError as exc:
        error = FileError(code=exc.code, message=str(exc))
    finally:
        close = getattr(read, "close", None)
        if close is not None:
            close()  # a PDF left after a cancel is closed now, not when collected
    ms = round((time.perf_counter() - start) * 1000, 1)
    return SymbolsRead(name, symbols, error, ms, unreadable)


CANCELLED = "decode_cancelled"
"""The error of a read stopped by its `cancel` (the request timed out or its client left)."""

T = TypeVar("T")


class DecodePool:
    """At most `size` uploads decoded at once, each in a worker thread of this pool, so that
    uploads never take every core from the live scanners.

        future = pool.submit(lambda: read_upload(data, name, options, cancel=event))
        if future is None: ...  # every worker busy: nothing was started

    A worker stays taken until its decode really ends (a cancelled decode ends within a page),
    not when its request was answered.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a decode pool needs at least one worker")
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._busy = 0
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="upload-decode")

    @property
    def busy(self) -> int:
        """Workers decoding now (a timed-out decode counts until it has stopped)."""
        with self._lock:
            return self._busy

    def submit(self, work: Callable[[], T]) -> Future[T] | None:
        """`work` started on a free worker, or None when all `size` are busy."""
        if not self._free.acquire(blocking=False):
            return None
        with self._lock:
            self._busy += 1
        try:
            future = self._executor.submit(work)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _: self._done())
        return future

    def _done(self) -> None:
        with self._lock:
            self._busy -= 1
        self._free.release()

    def close(self) -> None:
        """No further work; the workers end once their decodes have."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _report(
    name: str,
    pages: Callable[[DecodeOptions], Iterator[Page]],
    context: ParseContext,
    at: date,
    options: DecodeOptions | None,
    decoder: Decoder | None,
) -> FileReport:
    start = time.perf_counter()
    read = _read(name, pages, options, decoder)
    attestations = [context.parse(s.data, at, symbology=s.symbology) for s in read.symbols]
    ms = round((time.perf_counter() - start) * 1000, 1)
    return replace(read, ms=ms).report(attestations)

"""The shape every decoder shares: an image array and options in, `DecodedSymbol`s out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The pre-processing passes `cascade` knows, by name (see `decoders/cascade.py` for each one).
# This module is the one place the names and the default order are written: the configuration
# (`[decoder] passes`) validates against PASS_NAMES and defaults to DEFAULT_PASSES, and
# config/default.toml points here. Importing it is cheap (no numpy, no OpenCV): keep it so.
PASS_NAMES = (
    "fixed",
    "local",
    "refine",
    "upscale",
    "equalize",
    "sharpen",
    "denoise",
    "otsu",
    "adaptive",
    "global_histogram",
    "downscale",
    "invert",
    "flatten",
    "tophat",
    "gamma",
    "flatten_upscale",
    "tophat_upscale",
    "equalize_upscale",
    "gamma_upscale",
    "adaptive_upscale",
    "upscale_gamma",
    "gamma_global",
)

# Default order of the passes: their measured yield on the `benchmarks/decode.py` corpus of
# issue 14 (docs/benchmarks.md, "Image decoding"), best first. Only the first reads the whole
# image; the others look at the regions that may hold a code (`DecodeOptions.regions`), so a
# pass far down the list costs only on frames that hold a code no pass before it could read.
DEFAULT_PASSES = (
    "fixed",
    "global_histogram",
    "local",
    "refine",
    "gamma",
    "upscale",
    "refine",
    "gamma_upscale",
    "upscale_gamma",
    "gamma_global",
    "adaptive_upscale",
)


class Cancel(Protocol):
    """Asked between two passes of a decode and between two pages of a document: once it is set,
    the work stops there (`threading.Event` is one)."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class DecodedSymbol:
    """One code found in an image.

    `data` holds the exact bytes of the symbol (GS kept as 0x1D), never a display text: the
    payload spec, not the decoder, decides the character set. `symbology` is the AIM identifier
    (`]d1`, `]d2` for GS1 DataMatrix, `]Q1`...), `format` a readable name ("DataMatrix").

    When the symbol carries an ECI that changes the character set, `symbology` has the ECI
    modifier (`]d4`, `]d5`) and `data` holds the ISO/IEC 15424 ECI protocol form: `\\nnnnnn`
    before each segment, a literal backslash doubled. `scanner_agent.parser` reads that form.
    A symbol whose ECIs only say "ISO-8859-1" or "binary" is reported as plain bytes (`]d1`).

    `position` holds the four corners (top-left, top-right, bottom-right, bottom-left) in
    pixels of the image given to the decoder; `page` is 1-based; `decoder` says which engine
    and pass read it (`zxing`, `zxing+upscale`, `libdmtx`...).
    """

    data: bytes
    symbology: str | None
    format: str
    position: tuple[tuple[int, int], ...] = ()
    page: int = 1
    decoder: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def center(self) -> tuple[float, float]:
        if not self.position:
            return (0.0, 0.0)
        xs = [p[0] for p in self.position]
        ys = [p[1] for p in self.position]
        return (sum(xs) / len(xs), sum(ys) / len(ys))


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A place of an image that looks like a Data Matrix (its finder pattern was located) but
    that no pass could read: the code is there, too small, blurred or badly lit. A camera says
    so to the desk ("code détecté mais illisible") instead of leaving it waiting.

    `position`: four corners in pixels of the image given to the decoder, as for
    `DecodedSymbol`; `page` 1-based; `evidence` says what saw it (`zxing`: zxing-cpp's detector
    located the symbol, its error correction failed; `libdmtx`: libdmtx found the region).
    """

    position: tuple[tuple[int, int], ...]
    page: int = 1
    evidence: str = "zxing"


@dataclass(frozen=True, slots=True)
class Reading:
    """All that one `Decoder.read` of an image learned: the codes read, the places that look
    like a Data Matrix but were not read (a place where a code was read is never in
    `unreadable`), the passes that ran in order, and the time it took."""

    symbols: list[DecodedSymbol]
    unreadable: list[Unreadable] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How hard to look for codes in one image (a camera frame or a document page).

    Every field has a safe default; `scanner_agent.file_decoding.decode_options(settings)`
    builds one from the `[decoder]` section of the configuration.
    """

    time_budget_ms: float | None = None
    """Live camera frames only: once this much time has gone on one frame, no further pass is
    started (a pass already running ends; libdmtx gets at most what is left), because the next
    frame is coming anyway. `None` (the default, and always for files and uploads): no
    wall-clock budget, every pass of the list runs to its end, so the same image gives the same
    result on an idle and on a saturated machine."""
    passes: tuple[str, ...] = DEFAULT_PASSES
    """Reads tried in this order until one finds a Data Matrix: `fixed`, `local` and
    `global_histogram` read the image as it is with one of zxing-cpp's binarisers; the others
    transform it first (see `decoders/cascade.py`). The first always runs, whatever the budget."""
    libdmtx: bool = True
    """Try libdmtx as a last resort when zxing-cpp and every pass found no Data Matrix: on the
    places a code may be (what zxing-cpp located, the region finder's regions), from fixed seed
    pixels, with no clock (`decoders.libdmtx.decode_seeded`): bounded work, the same result on
    any machine load."""
    libdmtx_timeout_ms: int = 40
    """No longer used by the cascade (libdmtx's search is bounded by its seeds, not by a clock;
    with a time budget no libdmtx crop starts once the budget is spent). Kept so that existing
    configurations stay valid; `decoders.libdmtx.decode` (the whole-image search) still takes
    a timeout."""
    libdmtx_shrink: int = 2
    """No longer used by the cascade (`decode_seeded` shrinks each crop to at most 200 pixels
    a side); kept so that existing configurations stay valid."""
    max_pixels: int = 60_000_000
    """Images (and rendered PDF pages) over this many pixels are refused, not decoded."""
    pdf_dpi: int = 300
    """The most a PDF page is rendered at (`decoders.documents`: a scanned page at its image's
    own resolution, a vector page first at 200 dpi, again at `pdf_dpi` only when a code was seen
    but not read there)."""
    max_pages: int = 50
    """A PDF or multi-page TIFF with more pages than this is refused (`too_many_pages`) before
    any page is rendered: its page count is read first."""
    all_formats: bool = True
    """When no Data Matrix was found, one more read for other matrix codes (QR, Aztec,
    PDF417...), so that a wrong code can be told apart from no code. It runs whatever the budget
    (one read, ~5-15 ms on a 1280x720 frame): a camera loop that has no use for it saves that on
    every empty frame with `all_formats=False`."""
    other_formats_too: bool = False
    """With `all_formats`, read the other matrix codes even when a Data Matrix was found: for
    documents (files and uploads), where every code of a page is reported; a page is decoded
    once, so the extra read is affordable there, not on every camera frame."""
    regions: bool = True
    """After the first pass (on the whole image), find the regions that may hold a code
    (`decoders.regions`): with none, and no symbol located, stop there (an empty camera frame
    costs one cheap read); else the other passes (and libdmtx, and for camera frames the other
    formats' read) look only at those regions and at the symbols located. Images under 256
    pixels a side are always read whole. Deterministic (no clock): on for files too."""
    try_harder: bool = False
    """Run every pass even when a Data Matrix was found (documents that may hold several)."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.passes if name not in PASS_NAMES]
        if unknown:
            raise ValueError(
                f"unknown decoder pass(es) {', '.join(unknown)}; known: {', '.join(PASS_NAMES)}"
            )
        if (self.time_budget_ms is not None and self.time_budget_ms < 0) or (
            self.libdmtx_timeout_ms < 0
        ):
            raise ValueError("time limits must be 0 or more")
        if (
            self.max_pixels <= 0
            or self.pdf_dpi <= 0
            or self.libdmtx_shrink < 1
            or self.max_pages < 1
        ):
            raise ValueError("max_pixels, pdf_dpi, max_pages and libdmtx_shrink must be positive")

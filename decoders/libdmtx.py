"""libdmtx (through pylibdmtx's ctypes bindings), the fallback: slower, but reads some damaged
or oddly printed symbols zxing-cpp misses.

Two ways to search an image:

- `decode(image, timeout_ms=...)`: libdmtx's own search of the whole image
  (`dmtxRegionFindNext`), which tries every pixel and can take seconds, so it always has a
  wall-clock limit: what it finds then depends on the machine's load.
- `decode_seeded(image)`: the one the cascade uses. libdmtx is asked for a region at a fixed
  set of seed pixels only (`dmtxRegionScanPixel`: the middle row, the middle column and both
  diagonals of the image, shrunk first so that its longer side is at most `MAX_SIDE`): bounded
  work, no clock at all, so the same image gives the same result on any machine load. The
  cascade gives it small crops where a code may be (what zxing-cpp located, the region
  finder's regions): the lines through a crop cross the symbol's solid finder edges.
  It also returns the regions libdmtx found but could not decode: evidence of a code seen
  but unreadable.

pylibdmtx's own `decode()` returns libdmtx's output string, which is wrong for any symbol with
an ECI (libdmtx 0.7 emits the ECI number as data: `b"01\\n"` before the payload for ECI 899)
and says nothing of FNC1 first (GS1). So we walk libdmtx's regions ourselves, take the
error-corrected codewords of each symbol and decode them with `decoders._codewords`, which also
gives the AIM identifier libdmtx does not: `]d2` when FNC1 comes first, `]d4`/`]d5` with an ECI.
"""

from __future__ import annotations

import ctypes
import logging
from contextlib import ExitStack
from typing import Any

import numpy as np
import numpy.typing as npt

from decoders import _eci
from decoders._codewords import DATA_CODEWORDS, CodewordError, decode_codewords
from decoders.base import DecodedSymbol

log = logging.getLogger(__name__)

try:  # libdmtx is a system library (libdmtx0b): without it, this fallback is simply off
    from pylibdmtx import wrapper as _w

    _w.load_libdmtx()
    AVAILABLE = True
except (ImportError, OSError):  # pragma: no cover - depends on the machine
    AVAILABLE = False


Corners = tuple[tuple[int, int], ...]

MAX_SIDE = 200
"""`decode_seeded` shrinks an image until its longer side is at most this many pixels."""


def _scan_pixel() -> Any:
    function = _w.LIBDMTX.dmtxRegionScanPixel
    function.restype = ctypes.POINTER(_w.DmtxRegion)
    function.argtypes = [ctypes.POINTER(_w.DmtxDecode), ctypes.c_int, ctypes.c_int]
    return function


_SCAN_PIXEL = _scan_pixel() if AVAILABLE else None


def seeds(width: int, height: int) -> list[tuple[int, int]]:
    """The pixels `decode_seeded` asks libdmtx about, in libdmtx's coordinates of the shrunk
    image: the middle row, the middle column and both diagonals, every pixel."""
    out = [(x, height // 2) for x in range(width)]
    out += [(width // 2, y) for y in range(height)]
    long = max(width, height)
    for i in range(long):
        x, y = i * width // long, i * height // long
        out += [(x, y), (width - 1 - x, y)]
    return list(dict.fromkeys(out))


def decode_seeded(
    image: npt.NDArray[np.uint8],
    *,
    offset: tuple[int, int] = (0, 0),
    max_count: int = 1,
    max_side: int = MAX_SIDE,
) -> tuple[list[DecodedSymbol], list[Corners]]:
    """The Data Matrix symbols libdmtx finds from the seed pixels of `seeds` (no clock: the work
    is bounded by the number of seeds), and the corners of the regions it found there but
    could not decode. `image` may be a crop of the caller's image whose top-left corner is at
    `offset`: positions are in the caller's pixels. Stops after `max_count` symbols."""
    if not AVAILABLE or _SCAN_PIXEL is None or image.size == 0:
        return [], []
    if image.ndim == 3:
        image = image[:, :, 1]
    gray = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = gray.shape
    shrink = max(1, -(-max(height, width) // max_side))
    found: list[DecodedSymbol] = []
    unread: list[Corners] = []
    with ExitStack() as stack:
        pixels = gray.ctypes.data_as(_w.c_ubyte_p)
        img = _w.dmtxImageCreate(pixels, width, height, _w.DmtxPackOrder.DmtxPack8bppK)
        if not img:
            return [], []
        stack.callback(_w.dmtxImageDestroy, ctypes.byref(img))
        dec = _w.dmtxDecodeCreate(img, shrink)
        if not dec:
            return [], []
        stack.callback(_w.dmtxDecodeDestroy, ctypes.byref(dec))
        for x, y in seeds(width // shrink, height // shrink):
            region = _SCAN_PIXEL(dec, x, y)
            if not region:
                continue
            try:
                corners = _region_corners(region.contents, shrink, height, offset)
                if any(_inside(corners, s.position) for s in found):
                    continue  # the symbol already read, found again from another seed
                symbol = _read_region(dec, region, shrink, height, offset)
            finally:
                _w.dmtxRegionDestroy(ctypes.byref(region))
            if symbol is None:
                unread.append(corners)
                continue
            found.append(symbol)
            if len(found) >= max_count:
                break
    unread = [c for c in unread if not any(_inside(c, s.position) for s in found)]
    return found, unread


def _inside(corners: Corners, other: Corners) -> bool:
    """Is the centre of `corners` within the bounding box of `other`?"""
    cx = sum(x for x, _ in corners) / len(corners)
    cy = sum(y for _, y in corners) / len(corners)
    xs = [x for x, _ in other]
    ys = [y for _, y in other]
    return min(xs) <= cx <= max(xs) and min(ys) <= cy <= max(ys)


def decode(
    image: npt.NDArray[np.uint8],
    *,
    timeout_ms: int,
    shrink: int = 1,
    max_count: int | None = None,
) -> list[DecodedSymbol]:
    """Every Data Matrix libdmtx finds in a grayscale image within `timeout_ms` milliseconds.

    `shrink` makes libdmtx search an image that many times smaller (much faster on camera
    frames; modules must stay over ~2 pixels). `timeout_ms` must be positive: an unbounded
    libdmtx search can take seconds.
    """
    if not AVAILABLE or timeout_ms <= 0:
        return []
    if image.ndim == 3:
        image = image[:, :, 1]  # green: close enough to luminance for a fallback
    gray = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = gray.shape
    found: list[DecodedSymbol] = []
    with ExitStack() as stack:
        pixels = gray.ctypes.data_as(_w.c_ubyte_p)
        img = _w.dmtxImageCreate(pixels, width, height, _w.DmtxPackOrder.DmtxPack8bppK)
        if not img:
            return []
        stack.callback(_w.dmtxImageDestroy, ctypes.byref(img))
        dec = _w.dmtxDecodeCreate(img, shrink)
        if not dec:
            return []
        stack.callback(_w.dmtxDecodeDestroy, ctypes.byref(dec))
        deadline = _w.dmtxTimeAdd(_w.dmtxTimeNow(), int(timeout_ms))
        while max_count is None or len(found) < max_count:
            region = _w.dmtxRegionFindNext(dec, ctypes.byref(deadline))
            if not region:
                break
            try:
                symbol = _read_region(dec, region, shrink, height, (0, 0))
            finally:
                _w.dmtxRegionDestroy(ctypes.byref(region))
            if symbol is not None:
                found.append(symbol)
    return found


def _region_corners(reg: Any, shrink: int, height: int, offset: tuple[int, int]) -> Corners:
    corners = []
    for x, y in ((0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)):
        point = _w.DmtxVector2(x, y)
        _w.dmtxMatrix3VMultiplyBy(point, reg.fit2raw)
        # libdmtx's origin is the bottom-left corner of the (shrunk) image
        corners.append(
            (round(point.X * shrink) + offset[0], round(height - 1 - point.Y * shrink) + offset[1])
        )
    return tuple(corners)


def _read_region(
    dec: Any, region: Any, shrink: int, height: int, offset: tuple[int, int]
) -> DecodedSymbol | None:
    """`dec` and `region` are ctypes pointers to libdmtx structures (pylibdmtx has no types)."""
    msg = _w.dmtxDecodeMatrixRegion(dec, region, _w.DmtxUndefined)
    if not msg:
        return None
    try:
        reg = region.contents
        size = (int(reg.symbolRows), int(reg.symbolCols))
        count = DATA_CODEWORDS.get(size)
        contents = msg.contents
        if count is None or count > contents.codeSize:
            return None
        codewords = ctypes.string_at(contents.code, count)
        try:
            message = decode_codewords(codewords)
        except CodewordError as exc:
            log.debug("libdmtx symbol %sx%s: %s", *size, exc)
            return None
        symbology, data = _eci.normalise(message.symbology, message.data)
        extra = {"Version": f"{size[0]}x{size[1]}"}
        if message.reader_programming:
            extra["ReaderInit"] = "True"
        return DecodedSymbol(
            data=data,
            symbology=symbology,
            format="DataMatrix",
            position=_region_corners(reg, shrink, height, offset),
            decoder="libdmtx",
            extra=extra,
        )
    finally:
        _w.dmtxMessageDestroy(ctypes.byref(msg))

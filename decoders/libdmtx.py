"""libdmtx (through pylibdmtx's ctypes bindings), the fallback: slower, but reads some damaged
or oddly printed symbols zxing-cpp misses. Always called with a time limit.

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
                symbol = _read_region(dec, region, shrink, height)
            finally:
                _w.dmtxRegionDestroy(ctypes.byref(region))
            if symbol is not None:
                found.append(symbol)
    return found


def _read_region(dec: Any, region: Any, shrink: int, height: int) -> DecodedSymbol | None:
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
        corners = []
        for x, y in ((0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)):
            point = _w.DmtxVector2(x, y)
            _w.dmtxMatrix3VMultiplyBy(point, reg.fit2raw)
            # libdmtx's origin is the bottom-left corner of the (shrunk) image
            corners.append((round(point.X * shrink), round(height - 1 - point.Y * shrink)))
        symbology, data = _eci.normalise(message.symbology, message.data)
        extra = {"Version": f"{size[0]}x{size[1]}"}
        if message.reader_programming:
            extra["ReaderInit"] = "True"
        return DecodedSymbol(
            data=data,
            symbology=symbology,
            format="DataMatrix",
            position=tuple(corners),
            decoder="libdmtx",
            extra=extra,
        )
    finally:
        _w.dmtxMessageDestroy(ctypes.byref(msg))

"""The decoder stack: zxing-cpp, then pre-processing passes, then libdmtx, within a time budget.

    decoder = Decoder(DecodeOptions(time_budget_ms=40))
    for frame in frames:                     # a camera loop: buffers are reused frame to frame
        for symbol in decoder.decode(frame):
            ...

1. The passes of `options.passes` run in order until one finds a Data Matrix or the budget
   is spent (a pass is only started while time is left; the first always runs). A pass is a
   zxing-cpp binariser on the image as it is (`fixed`, `local`, `global_histogram`: these also
   report other matrix formats when `all_formats`), or a cheap transform of the grayscale image
   read again by zxing-cpp for Data Matrix only (`upscale`, `equalize`, `sharpen`...).
2. Still no Data Matrix: libdmtx, with the time left (at most `libdmtx_timeout_ms`).

The order of the passes is configuration; the default is their measured yield on the corpus of
`benchmarks/decode.py` (see docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from decoders import libdmtx, zxing
from decoders.base import DecodedSymbol, DecodeOptions

Gray = npt.NDArray[np.uint8]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class _Prepared:
    image: Gray
    scale: float = 1.0
    binarizer: str = "local_average"


class _Buffers:
    """Arrays reused from one image to the next while the image size stays the same."""

    def __init__(self) -> None:
        self._arrays: dict[str, Gray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> Gray:
        array = self._arrays.get(name)
        if array is None or array.shape != shape:
            array = np.empty(shape, dtype=np.uint8)
            self._arrays[name] = array
        return array


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))


def _upscale(gray: Gray, buf: _Buffers) -> _Prepared:
    """Small modules (a card far from the camera, a low-dpi scan): 2x, bicubic."""
    h, w = gray.shape
    out = buf.get("upscale", (h * 2, w * 2))
    cv2.resize(gray, (w * 2, h * 2), dst=out, interpolation=cv2.INTER_CUBIC)
    return _Prepared(out, scale=2.0)


def _downscale(gray: Gray, buf: _Buffers) -> _Prepared:
    """Noisy high-resolution images: averaging 2x2 blocks removes grain."""
    h, w = gray.shape
    out = buf.get("downscale", (h // 2, w // 2))
    cv2.resize(gray, (w // 2, h // 2), dst=out, interpolation=cv2.INTER_AREA)
    return _Prepared(out, scale=0.5)


def _equalize(gray: Gray, buf: _Buffers) -> _Prepared:
    """Low contrast, uneven light, glare: local histogram equalisation (CLAHE)."""
    out = buf.get("equalize", gray.shape)
    _CLAHE.apply(gray, dst=out)
    return _Prepared(out)


def _sharpen(gray: Gray, buf: _Buffers) -> _Prepared:
    """Blur (focus, motion): unsharp mask."""
    blurred = buf.get("sharpen_blur", gray.shape)
    cv2.GaussianBlur(gray, (0, 0), 2.0, dst=blurred)
    out = buf.get("sharpen", gray.shape)
    cv2.addWeighted(gray, 2.0, blurred, -1.0, 0, dst=out)
    return _Prepared(out)


def _denoise(gray: Gray, buf: _Buffers) -> _Prepared:
    """Sensor noise, JPEG artefacts: median filter."""
    out = buf.get("denoise", gray.shape)
    cv2.medianBlur(gray, 5, dst=out)
    return _Prepared(out)


def _otsu(gray: Gray, buf: _Buffers) -> _Prepared:
    """A global threshold chosen by Otsu, after a light blur."""
    blurred = buf.get("otsu_blur", gray.shape)
    cv2.GaussianBlur(gray, (5, 5), 0, dst=blurred)
    out = buf.get("otsu", gray.shape)
    cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU, dst=out)
    return _Prepared(out, binarizer="bool_cast")


def _adaptive(gray: Gray, buf: _Buffers) -> _Prepared:
    """A local mean threshold over a large window: shadows and gradients."""
    out = buf.get("adaptive", gray.shape)
    cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 51, 7, dst=out)
    return _Prepared(out, binarizer="bool_cast")


def _fixed(gray: Gray, buf: _Buffers) -> _Prepared:
    """The image as it is, thresholded at mid-grey: the fastest read, enough for most frames."""
    return _Prepared(gray, binarizer="fixed")


def _local(gray: Gray, buf: _Buffers) -> _Prepared:
    """The image as it is, zxing-cpp's default local-average binariser (uneven light)."""
    return _Prepared(gray, binarizer="local_average")


def _global_histogram(gray: Gray, buf: _Buffers) -> _Prepared:
    """The image as it is, zxing-cpp's global histogram binariser."""
    return _Prepared(gray, binarizer="global_histogram")


def _invert(gray: Gray, buf: _Buffers) -> _Prepared:
    """Light modules on a dark ground (a screen in dark mode, a negative scan)."""
    out = buf.get("invert", gray.shape)
    cv2.bitwise_not(gray, dst=out)
    return _Prepared(out)


PASSES: dict[str, Callable[[Gray, _Buffers], _Prepared]] = {
    "fixed": _fixed,
    "local": _local,
    "upscale": _upscale,
    "equalize": _equalize,
    "sharpen": _sharpen,
    "denoise": _denoise,
    "otsu": _otsu,
    "adaptive": _adaptive,
    "global_histogram": _global_histogram,
    "downscale": _downscale,
    "invert": _invert,
}
# Passes that read the image as it is: they look for every matrix format when `all_formats`.
PLAIN_PASSES = frozenset({"fixed", "local", "global_histogram"})


class Decoder:
    """Reads every code in one image after another, reusing its buffers.

    Not thread-safe: give each camera thread its own `Decoder`. `clock` (seconds, monotonic)
    is injectable so that tests can check the budget without timing anything.
    """

    def __init__(self, options: DecodeOptions | None = None, *, clock: Clock = time.perf_counter):
        self.options = options or DecodeOptions()
        self._clock = clock
        self._buffers = _Buffers()
        self.last_passes: list[str] = []
        """The passes the last `decode` ran, in order (for benchmarks and debugging)."""

    def decode(self, image: npt.NDArray[np.uint8], page: int = 1) -> list[DecodedSymbol]:
        """Every code in `image` (grayscale, BGR or BGRA, uint8), Data Matrix first."""
        options = self.options
        start = self._clock()
        gray = self._gray(image)
        found: list[DecodedSymbol] = []
        self.last_passes = []

        def has_datamatrix() -> bool:
            return any(s.format == "DataMatrix" for s in found)

        def elapsed_ms() -> float:
            return (self._clock() - start) * 1000.0

        for index, name in enumerate(options.passes):
            if index and has_datamatrix() and not options.try_harder:
                break
            if index and elapsed_ms() >= options.time_budget_ms:
                break
            prepared = PASSES[name](gray, self._buffers)
            every_format = options.all_formats and name in PLAIN_PASSES
            found += zxing.decode(
                prepared.image,
                formats=zxing.MATRIX if every_format else zxing.DATAMATRIX,
                binarizer=prepared.binarizer,
                try_invert=False,
                scale=prepared.scale,
                label=f"zxing+{name}",
            )
            self.last_passes.append(name)
        if options.libdmtx and not has_datamatrix():
            left = min(float(options.libdmtx_timeout_ms), options.time_budget_ms - elapsed_ms())
            if left >= 1:
                found += libdmtx.decode(gray, timeout_ms=int(left), shrink=options.libdmtx_shrink)
                self.last_passes.append("libdmtx")
        return [replace(s, page=page) for s in _unique(found)]

    def _gray(self, image: npt.NDArray[np.uint8]) -> Gray:
        if image.dtype != np.uint8:
            raise TypeError(f"images must be uint8 arrays, not {image.dtype}")
        if image.ndim == 2:
            return image if image.flags.c_contiguous else np.ascontiguousarray(image)
        if image.ndim == 3 and image.shape[2] in (3, 4):
            out = self._buffers.get("gray", image.shape[:2])
            code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
            cv2.cvtColor(image, code, dst=out)
            return out
        if image.ndim == 3 and image.shape[2] == 1:
            return np.ascontiguousarray(image[:, :, 0])
        raise TypeError(f"images must be H×W, H×W×3 (BGR) or H×W×4 (BGRA), not {image.shape}")


def _unique(symbols: list[DecodedSymbol]) -> list[DecodedSymbol]:
    """One entry per symbol: the same bytes read by two passes at the same place are one code."""
    kept: list[DecodedSymbol] = []
    for symbol in symbols:
        if not any(_same(symbol, other) for other in kept):
            kept.append(symbol)
    return kept


def _same(a: DecodedSymbol, b: DecodedSymbol) -> bool:
    if a.data != b.data or a.symbology != b.symbology:
        return False
    (ax, ay), (bx, by) = a.center, b.center
    reach = max(_size(a), _size(b), 8.0)
    return abs(ax - bx) <= reach and abs(ay - by) <= reach


def _size(symbol: DecodedSymbol) -> float:
    if not symbol.position:
        return 0.0
    xs = [p[0] for p in symbol.position]
    ys = [p[1] for p in symbol.position]
    return float(max(max(xs) - min(xs), max(ys) - min(ys)))


def decode_image(
    image: npt.NDArray[np.uint8], options: DecodeOptions | None = None
) -> list[DecodedSymbol]:
    """Every code in one image. For many images in a row, keep a `Decoder` instead."""
    return Decoder(options).decode(image)

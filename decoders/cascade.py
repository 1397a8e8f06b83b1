"""The decoder stack: zxing-cpp, then pre-processing passes, then libdmtx (camera frames: within
a time budget).

    decoder = Decoder(DecodeOptions(time_budget_ms=40))
    for frame in frames:                     # a camera loop: buffers are reused frame to frame
        for symbol in decoder.decode(frame):
            ...

1. The passes of `options.passes` run in order until one finds a Data Matrix or the budget
   is spent (a pass is only started while time is left; the first always runs). A pass is a
   zxing-cpp binariser on the image as it is (`fixed`, `local`, `global_histogram`), a cheap
   transform of the grayscale image read again (`upscale`, `equalize`, `sharpen`...), or
   `refine`: a closer look at the symbols the passes before it located but could not read.
   Passes look for Data Matrix only.
2. No Data Matrix (or always, with `other_formats_too`, as for documents): when `all_formats`,
   one zxing-cpp read for the other matrix codes (QR, Aztec, PDF417), so that "a QR code" can
   be told apart from "nothing". No Data Matrix: then libdmtx on crops of the places a code
   may be (the symbols zxing-cpp located), from fixed seed pixels and without a timeout: its
   work is bounded by the crops, so it reads the same on an idle and on a saturated machine.
   Regions libdmtx found but could not decode join `Reading.unreadable` (`evidence="libdmtx"`).

Without a time budget (files) nothing here reads the clock to decide anything: the result of
an image depends on the image only.

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
from decoders.base import Cancel, DecodedSymbol, DecodeOptions, Reading, Unreadable
from decoders.regions import Region, RegionFinder

Gray = npt.NDArray[np.uint8]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class _Prepared:
    image: Gray
    scale: float = 1.0
    binarizer: str = "local_average"


# log(1 + x/4), scaled to 0-255: 8 becomes 70, 32 becomes 139, 128 becomes 218 (`gamma`)
_GAMMA_LUT = np.array(
    [round(255 * np.log1p(i / 4) / np.log1p(255 / 4)) for i in range(256)], np.uint8
)


class _Buffers:
    """Arrays reused from one image to the next while the image size stays the same."""

    def __init__(self) -> None:
        self._arrays: dict[str, Gray] = {}
        # OpenCV's CLAHE object keeps state: one per decoder, so decoders may run in threads
        self.clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        self.kernel5 = np.ones((5, 5), np.uint8)
        self.gamma_lut = _GAMMA_LUT
        self.background_of: Gray | None = None
        """The image `background` was computed for (`_background`)."""

    def new_image(self) -> None:
        """A new image (or a new crop): what was derived from the last one is stale."""
        self.background_of = None

    def get(self, name: str, shape: tuple[int, ...]) -> Gray:
        array = self._arrays.get(name)
        if array is None or array.shape != shape:
            array = np.empty(shape, dtype=np.uint8)
            self._arrays[name] = array
        return array


def _upscale(gray: Gray, buf: _Buffers, name: str = "upscale") -> _Prepared:
    """Small modules (a card far from the camera, a low-dpi scan): 2x, bicubic."""
    h, w = gray.shape
    out = buf.get(name, (h * 2, w * 2))
    cv2.resize(gray, (w * 2, h * 2), dst=out, interpolation=cv2.INTER_CUBIC)
    return _Prepared(out, scale=2.0)


def _then_upscale(
    first: Callable[[Gray, _Buffers], _Prepared], name: str
) -> Callable[[Gray, _Buffers], _Prepared]:
    """A pass, then `upscale` of its output: small modules under uneven light."""

    def combined(gray: Gray, buf: _Buffers) -> _Prepared:
        prepared = first(gray, buf)
        up = _upscale(prepared.image, buf, name)
        return _Prepared(up.image, scale=prepared.scale * up.scale, binarizer=prepared.binarizer)

    combined.__doc__ = f"`{first.__name__.lstrip('_')}`, then `upscale`."
    return combined


def _downscale(gray: Gray, buf: _Buffers) -> _Prepared:
    """Noisy high-resolution images: averaging 2x2 blocks removes grain."""
    h, w = gray.shape
    out = buf.get("downscale", (h // 2, w // 2))
    cv2.resize(gray, (w // 2, h // 2), dst=out, interpolation=cv2.INTER_AREA)
    return _Prepared(out, scale=0.5)


def _equalize(gray: Gray, buf: _Buffers) -> _Prepared:
    """Low contrast, uneven light, glare: local histogram equalisation (CLAHE)."""
    out = buf.get("equalize", gray.shape)
    buf.clahe.apply(gray, dst=out)
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
    """A local mean threshold: hard shadow edges, gradients, glare. The window (25 pixels) spans
    a few modules of any size we read, so a shadow edge crossing the code moves the threshold
    with it; the offset (a pixel must be 5 grey levels under its neighbourhood to be dark)
    keeps the noise of flat areas out."""
    out = buf.get("adaptive", gray.shape)
    cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 25, 5, dst=out)
    return _Prepared(out, binarizer="bool_cast")


def _adaptive_upscale(gray: Gray, buf: _Buffers) -> _Prepared:
    """`upscale`, then `adaptive` (a threshold is taken after enlarging, never before)."""
    up = _upscale(gray, buf, "adaptive_upscale")
    out = buf.get("adaptive_upscale_t", up.image.shape)
    cv2.adaptiveThreshold(
        up.image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 51, 5, dst=out
    )
    return _Prepared(out, scale=up.scale, binarizer="bool_cast")


def _upscale_gamma(gray: Gray, buf: _Buffers) -> _Prepared:
    """Small modules under a hard shadow: 3x bicubic first, then `gamma`'s curve (no blur: the
    enlargement has smoothed the noise already)."""
    h, w = gray.shape
    up = buf.get("upscale_gamma", (h * 3, w * 3))
    cv2.resize(gray, (w * 3, h * 3), dst=up, interpolation=cv2.INTER_CUBIC)
    cv2.LUT(up, buf.gamma_lut, dst=up)
    return _Prepared(up, scale=3.0)


def _gamma_global(gray: Gray, buf: _Buffers) -> _Prepared:
    """`gamma`'s curve, `upscale`, then zxing-cpp's global histogram binariser (a dim code
    under a veil of glare, where a local threshold follows the veil)."""
    curved = buf.get("gamma_global_curve", gray.shape)
    cv2.LUT(gray, buf.gamma_lut, dst=curved)
    up = _upscale(curved, buf, "gamma_global")
    return _Prepared(up.image, scale=up.scale, binarizer="global_histogram")


_BACKGROUND_SHRINK = 4


def _background(gray: Gray, buf: _Buffers) -> Gray:
    """The paper's white level at each pixel: the brightest of a neighbourhood (which removes
    the dark modules: a max filter at full size, then on a 4x smaller image), smoothed, back at
    full size. Shared by `flatten` and `tophat` (computed once per image)."""
    h, w = gray.shape
    if buf.background_of is gray:
        return buf.get("background", gray.shape)
    f = _BACKGROUND_SHRINK
    sh, sw = max(h // f, 1), max(w // f, 1)
    dilated = buf.get("bg_dilated", gray.shape)
    cv2.dilate(gray, buf.kernel5, dst=dilated)
    small = buf.get("bg_small", (sh, sw))
    cv2.resize(dilated, (sw, sh), dst=small, interpolation=cv2.INTER_AREA)
    small2 = buf.get("bg_small2", (sh, sw))
    cv2.dilate(small, buf.kernel5, dst=small2)
    cv2.blur(small2, (5, 5), dst=small)
    out = buf.get("background", gray.shape)
    cv2.resize(small, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    buf.background_of = gray
    return out


def _flatten(gray: Gray, buf: _Buffers) -> _Prepared:
    """Shadows and dim corners (light that multiplies): the image divided by its background
    (`_background`), so that the paper is white everywhere and a module keeps its contrast
    to the paper around it."""
    background = _background(gray, buf)
    out = buf.get("flatten", gray.shape)
    cv2.divide(gray, background, dst=out, scale=255)
    return _Prepared(out)


def _tophat(gray: Gray, buf: _Buffers) -> _Prepared:
    """Glare and veiling light (light that adds): the background minus the image (a black-hat),
    inverted: dark modules on a white ground, what is added to both taken away."""
    background = _background(gray, buf)
    out = buf.get("tophat", gray.shape)
    cv2.subtract(background, gray, dst=out)
    cv2.bitwise_not(out, dst=out)
    return _Prepared(out)


def _gamma(gray: Gray, buf: _Buffers) -> _Prepared:
    """Low light and hard shadows: a logarithmic tone curve (a strong gamma: a grey of 8
    becomes 70, 32 becomes 139), then a light blur for the sensor noise it brings up. zxing-cpp's
    binariser takes a block under 24 grey levels of range for a flat one: the curve gives dim
    modules that range back; and as a logarithm turns the shadow's factor into an offset, the
    modules on both sides of a shadow edge land on the same side of a local threshold."""
    out = buf.get("gamma", gray.shape)
    cv2.LUT(gray, buf.gamma_lut, dst=out)
    cv2.GaussianBlur(out, (3, 3), 0, dst=out)
    return _Prepared(out)


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
    "flatten": _flatten,
    "tophat": _tophat,
    "gamma": _gamma,
    "flatten_upscale": _then_upscale(_flatten, "flatten_upscale"),
    "tophat_upscale": _then_upscale(_tophat, "tophat_upscale"),
    "equalize_upscale": _then_upscale(_equalize, "equalize_upscale"),
    "gamma_upscale": _then_upscale(_gamma, "gamma_upscale"),
    "adaptive_upscale": _adaptive_upscale,
    "upscale_gamma": _upscale_gamma,
    "gamma_global": _gamma_global,
}
REFINE = "refine"
# `refine` is not a transform of the whole image: it takes a closer look at the symbols zxing-cpp
# located but could not read (checksum errors) in the passes before it: each is cropped with a
# margin, enlarged and filtered in these ways, one after the other, until it reads.
_REFINE_VARIANTS: tuple[tuple[int, str], ...] = (
    (2, "sharpen"),
    (3, "plain"),
    (2, "median"),
    (3, "sharpen"),
    (3, "strong"),
    (4, "plain"),
)
_REFINE_MAX_CANDIDATES = 2


def _refine_variant(crop: Gray, scale: int, kind: str) -> Gray:
    big = np.asarray(
        cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), np.uint8
    )
    if kind == "sharpen":
        blurred = cv2.GaussianBlur(big, (0, 0), 2.0)
        return np.asarray(cv2.addWeighted(big, 2.0, blurred, -1.0, 0), np.uint8)
    if kind == "strong":  # heavy blur over small modules
        blurred = cv2.GaussianBlur(big, (0, 0), float(scale))
        return np.asarray(cv2.addWeighted(big, 2.5, blurred, -1.5, 0), np.uint8)
    if kind == "median":
        return np.asarray(cv2.medianBlur(big, 3), np.uint8)
    return big


def _crop_box(corners: zxing.Corners, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    margin = int(max(max(xs) - min(xs), max(ys) - min(ys)) * 0.25) + 8
    return (
        max(min(xs) - margin, 0),
        max(min(ys) - margin, 0),
        min(max(xs) + margin, shape[1]),
        min(max(ys) + margin, shape[0]),
    )


class Decoder:
    """Reads every code in one image after another, reusing its buffers.

    Not thread-safe: give each camera thread its own `Decoder`. `clock` (seconds, monotonic)
    is injectable so that tests can check the budget without timing anything.
    """

    def __init__(self, options: DecodeOptions | None = None, *, clock: Clock = time.perf_counter):
        self.options = options or DecodeOptions()
        self._clock = clock
        self._buffers = _Buffers()
        self._regions = RegionFinder()
        self.last_passes: list[str] = []
        """The passes the last `decode` ran, in order (for benchmarks and debugging)."""

    def decode(
        self, image: npt.NDArray[np.uint8], page: int = 1, cancel: Cancel | None = None
    ) -> list[DecodedSymbol]:
        """Every code in `image` (grayscale, BGR or BGRA, uint8), Data Matrix first: the
        symbols of `read`."""
        return self.read(image, page, cancel).symbols

    def read(
        self, image: npt.NDArray[np.uint8], page: int = 1, cancel: Cancel | None = None
    ) -> Reading:
        """Every code in `image`, and the places that look like a Data Matrix but could not be
        read (`Reading.unreadable`).

        Without a time budget (`options.time_budget_ms is None`: files and uploads) every pass
        runs whatever the clock says. Once `cancel` is set, no further pass (nor the other
        formats' read, nor libdmtx) is started: what was found so far is returned (the request
        it was for is gone)."""
        options = self.options
        budget = options.time_budget_ms
        start = self._clock()
        gray = self._gray(image)
        self._buffers.new_image()
        found: list[DecodedSymbol] = []
        passes: list[str] = []
        self.last_passes = passes
        self._refined: list[tuple[int, int, int, int]] = []  # boxes `refine` already looked at

        def has_datamatrix() -> bool:
            return any(s.format == "DataMatrix" for s in found)

        def elapsed_ms() -> float:
            return (self._clock() - start) * 1000.0

        def out_of_time() -> bool:
            return budget is not None and elapsed_ms() >= budget

        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        def done() -> Reading:
            symbols = [replace(s, page=page) for s in _unique(found)]
            return Reading(
                symbols=symbols,
                unreadable=_unreadable(candidates, seen, symbols, page),
                passes=passes,
                ms=round(elapsed_ms(), 3),
            )

        candidates: list[zxing.Corners] = []
        seen: list[libdmtx.Corners] = []  # regions libdmtx found but could not decode
        # where the passes after the first look: the whole image, or (`options.regions`, on an
        # image large enough for it to pay) the regions that may hold a code
        targets: list[tuple[int, int, int, int]] | None = None
        regions: list[tuple[int, int, int, int]] = []
        for index, name in enumerate(options.passes):
            if index and (out_of_time() or cancelled()):
                break
            done_here = index and has_datamatrix() and not options.try_harder
            if done_here and not options.other_formats_too:
                break  # a camera frame stops at its first Data Matrix
            if index and targets is None:
                targets, regions = self._targets(gray, candidates)
                if not targets:
                    break  # nothing looks like a code, nothing was located: nothing to read
            if done_here and not (targets and self._unread(targets, found)):
                break  # a document goes on in the regions where no Data Matrix was read yet
            if name == "refine":
                found += self._refine(gray, candidates, lambda: out_of_time() or cancelled())
                passes.append(name)
                continue
            boxes = targets or [(0, 0, gray.shape[1], gray.shape[0])]
            if index and has_datamatrix() and not options.try_harder:
                boxes = self._unread(boxes, found)
            for box in boxes:
                if box != (0, 0, gray.shape[1], gray.shape[0]):
                    if (
                        has_datamatrix()
                        and not options.try_harder
                        and not options.other_formats_too
                    ):
                        break
                    if out_of_time() or cancelled():
                        break
                symbols, located = self._read(gray, name, box)
                found += symbols
                candidates += located
            passes.append(name)
        if cancelled():
            return done()
        if targets is None:  # one pass only, or none
            targets, regions = self._targets(gray, candidates)
        whole = targets == [(0, 0, gray.shape[1], gray.shape[0])]
        if options.all_formats and (options.other_formats_too or not has_datamatrix()):
            # is there another code (a QR code...) to tell the user about? On a large page
            # whose Data Matrix codes were read, a half-size read finds the large QR codes of
            # printed pages at a fifth of the cost (measured on the A4 test card: 15 ms, 85).
            # Camera frames (not `other_formats_too`) look only where a region is.
            if options.other_formats_too or whole:
                image, scale = gray, 1.0
                if has_datamatrix() and max(gray.shape) > 2000:
                    image = np.asarray(
                        cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
                        np.uint8,
                    )
                    scale = 0.5
                found += zxing.decode(
                    image, formats=zxing.OTHER_MATRIX, try_invert=False, scale=scale
                )
                passes.append("other_formats")
            elif regions:
                for x0, y0, x1, y1 in regions:
                    found += zxing.decode(
                        np.ascontiguousarray(gray[y0:y1, x0:x1]),
                        formats=zxing.OTHER_MATRIX,
                        try_invert=False,
                        offset=(x0, y0),
                    )
                passes.append("other_formats")
        if options.libdmtx and targets and not has_datamatrix() and not out_of_time():
            # libdmtx on the places a code may be only, from fixed seed pixels: its work is
            # bounded by the crops, not by a clock (see decoders/libdmtx.py)
            # camera frames: only where zxing-cpp located a symbol (a crop of a textured desk
            # can cost libdmtx 70 ms, more than a frame's budget); files: the regions too
            near = [] if whole or budget is not None else regions
            for x0, y0, x1, y1 in _libdmtx_crops(candidates, near, gray.shape):
                if cancelled() or out_of_time():
                    break
                symbols, unread = libdmtx.decode_seeded(gray[y0:y1, x0:x1], offset=(x0, y0))
                found += symbols
                seen += unread
            passes.append("libdmtx")
        return done()

    @staticmethod
    def _unread(
        boxes: list[tuple[int, int, int, int]], found: list[DecodedSymbol]
    ) -> list[tuple[int, int, int, int]]:
        """The boxes that overlap no Data Matrix read so far."""
        read = [_box(s.position) for s in found if s.format == "DataMatrix" and s.position]
        return [b for b in boxes if not any(_overlap(b, r) for r in read)]

    def _targets(
        self, gray: Gray, candidates: list[zxing.Corners]
    ) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
        """Where the passes after the first look, and the region finder's regions: the whole
        image when `options.regions` is off or the image is small (under `_WHOLE_BELOW` pixels
        a side, where the passes are cheap anyway); else the regions that may hold a code and
        the symbols the first pass located, each once; none when there are neither."""
        h, w = gray.shape
        if not self.options.regions or min(h, w) < _WHOLE_BELOW:
            return [(0, 0, w, h)], []
        found = self._regions.find(gray, max_regions=4)
        if not found and cv2.mean(gray)[0] < _DARK:
            # a dim frame with little noise: the finder sees it again through `gamma`'s curve
            seen = self._buffers.get("regions_gamma", gray.shape)
            cv2.LUT(gray, self._buffers.gamma_lut, dst=seen)
            found = self._regions.find(seen, max_regions=4)
        regions = [_grow(r, _REGION_GROWTH, w, h) for r in found]
        targets = list(regions)
        for corners in candidates:
            box = _crop_box(corners, gray.shape)
            if not any(_contains(other, box) for other in targets):
                targets.append(box)
        return targets, regions

    def _read(
        self, gray: Gray, name: str, box: tuple[int, int, int, int]
    ) -> tuple[list[DecodedSymbol], list[zxing.Corners]]:
        """Pass `name` on the part `box` of `gray` (positions in `gray`'s pixels)."""
        x0, y0, x1, y1 = box
        image = gray
        if box != (0, 0, gray.shape[1], gray.shape[0]):
            image = np.ascontiguousarray(gray[y0:y1, x0:x1])
            self._buffers.new_image()
        prepared = PASSES[name](image, self._buffers)
        return zxing.decode_with_candidates(
            prepared.image,
            formats=zxing.DATAMATRIX,
            binarizer=prepared.binarizer,
            try_invert=False,
            scale=prepared.scale,
            offset=(x0, y0),
            label=f"zxing+{name}",
        )

    def _refine(
        self, gray: Gray, candidates: list[zxing.Corners], out_of_time: Callable[[], bool]
    ) -> list[DecodedSymbol]:
        """A closer look at located but unreadable symbols (see `_REFINE_VARIANTS`)."""
        tried = self._refined
        for corners in candidates:
            box = _crop_box(corners, gray.shape)
            if any(_overlap(box, other) for other in tried):
                continue  # the same symbol, located again by another pass: already looked at
            if len(tried) >= _REFINE_MAX_CANDIDATES:
                break
            tried.append(box)
            x0, y0, x1, y1 = box
            crop = gray[y0:y1, x0:x1]
            for scale, kind in _REFINE_VARIANTS:
                if out_of_time():
                    return []
                symbols = zxing.decode(
                    np.ascontiguousarray(_refine_variant(crop, scale, kind)),
                    formats=zxing.DATAMATRIX,
                    try_invert=False,
                    scale=float(scale),
                    offset=(x0, y0),
                    label=f"zxing+refine:{scale}x{kind}",
                )
                if symbols:
                    return symbols
        return []

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


def _grow(region: Region, growth: float, w: int, h: int) -> tuple[int, int, int, int]:
    """`region`'s box, `growth` of its size wider on each side, within the image."""
    dx = round(region.width * growth)
    dy = round(region.height * growth)
    return (
        max(region.x0 - dx, 0),
        max(region.y0 - dy, 0),
        min(region.x1 + dx, w),
        min(region.y1 + dy, h),
    )


def _contains(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Does box `a` hold the centre of box `b`?"""
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return a[0] <= cx < a[2] and a[1] <= cy < a[3]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _unreadable(
    candidates: list[zxing.Corners],
    seen: list[libdmtx.Corners],
    symbols: list[DecodedSymbol],
    page: int,
) -> list[Unreadable]:
    """The located Data Matrix symbols no pass read (`zxing`), then the regions libdmtx found
    but could not decode (`libdmtx`): one per place (a symbol located by several passes, or by
    both engines, is one), none where a code was read, and, on a page where a Data Matrix was
    read, none less than `_UNREADABLE_MIN_SHARE` of its size (the end of a printed line, a
    letter: what the codes of one document are not)."""
    out: list[Unreadable] = []
    boxes: list[tuple[int, int, int, int]] = []
    read = [_box(s.position) for s in symbols if s.format == "DataMatrix" and s.position]
    least = min((_side(box) for box in read), default=0) * _UNREADABLE_MIN_SHARE
    evidence = [(c, "zxing") for c in candidates] + [(c, "libdmtx") for c in seen]
    for corners, engine in evidence:
        box = _box(corners)
        if _side(box) < least or any(_overlap(box, other) for other in read + boxes):
            continue
        boxes.append(box)
        out.append(Unreadable(position=corners, page=page, evidence=engine))
    return out


_LIBDMTX_MAX_CROPS = 2
_WHOLE_BELOW = 256
# the region finder's boxes are a little tight on dim, noisy frames (where the texture of the
# code's edge modules is under its threshold): the crops are this much of their size wider
_REGION_GROWTH = 0.15
# a frame darker than this on average (a dim room) where the region finder found nothing is
# given to it again through the log curve of `gamma` (dark modules under little noise then
# have the texture it looks for; under much noise the curve would hide them: raw first)
_DARK = 60.0  # pixels: an image smaller on a side is read whole, never in regions


def _libdmtx_crops(
    candidates: list[zxing.Corners],
    regions: list[tuple[int, int, int, int]],
    shape: tuple[int, ...],
) -> list[tuple[int, int, int, int]]:
    """The places libdmtx looks at: the symbols zxing-cpp located (with a margin), then the
    region finder's regions, one crop per place, at most `_LIBDMTX_MAX_CROPS`."""
    crops: list[tuple[int, int, int, int]] = []
    for box in [_crop_box(c, shape) for c in candidates] + regions:
        if any(_overlap(box, other) for other in crops):
            continue
        crops.append(box)
        if len(crops) >= _LIBDMTX_MAX_CROPS:
            break
    return crops


_UNREADABLE_MIN_SHARE = 0.5
"""A place seen but not read is reported only if its side is at least this share of the smallest
Data Matrix read on the same page (none read: every place is reported)."""


def _side(box: tuple[int, int, int, int]) -> int:
    return max(box[2] - box[0], box[3] - box[1])


def _box(corners: tuple[tuple[int, int], ...]) -> tuple[int, int, int, int]:
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    return (min(xs), min(ys), max(xs) + 1, max(ys) + 1)


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
    """Every code in one image (no time budget unless `options` sets one). For many images in a
    row, keep a `Decoder` instead: it reuses its buffers."""
    return Decoder(options).decode(image)

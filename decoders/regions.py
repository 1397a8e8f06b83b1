"""Where in an image a Data Matrix may be: a fast test run before the expensive decoding passes.

    finder = RegionFinder()                    # a camera loop keeps one: buffers are reused
    for frame in frames:
        for region in finder.find(gray):       # best first; [] when nothing looks like a code
            crop = gray[region.y0 : region.y1, region.x0 : region.x1]

    find_regions(gray)                         # the same, once (a new finder each call)

How it works. Images over 4 Mpx (a page at 300 dpi, modules of 4 pixels or more) are first
halved; then everything is judged on cells of 4 x 4 pixels (320 x 180 for a 720p frame):

1. Texture in all directions. The absolute differences of neighbouring pixels along four
   directions (across, down, the two diagonals) are averaged per cell (2x area reductions)
   and over a window, at full resolution over 3 x 3 cells (2-pixel modules) and at half
   resolution over 5 x 5 cells (large modules, less noise). A Data Matrix, at any rotation,
   has two families of edges at right angles: about the same texture along all four. A
   straight edge (a card's border, a shadow's edge) or parallel ones (lines of text) have
   almost none along themselves. The cell's texture is least - 0.5 x (most - least) of the four.
2. Relative to the image's own noise: each scale's texture less its median, over the
   median's distance to its 5th percentile (sensor noise, JPEG, the desk's grain make most of
   an image); the better scale counts. Nothing is compared with an absolute brightness or
   contrast, so a dim noisy frame, a glare's halo and a half in shadow keep their code.
3. Shape. Cells 4 noise spreads above the median are closed (3 x 3, a large code's solid
   alignment bars) and opened (5 x 5: lines go, compact blobs stay). A blob is kept when its
   smallest rotated rectangle is square-ish (sides within 0.4) and well filled (0.45), at least
   7 cells (28 pixels) a side and at most 0.8 of the image's short side: a woven cloth or a
   keyboard filling the frame is not a code (so an image that is all code, a tight crop, gets
   no region: read such images whole).
4. The blob's box grows over the fainter texture around it (half the threshold, lines
   removed; at most half its side each way: the part of a code in shadow), gets a margin of
   0.15 of its side (at least 2 cells) for the quiet zone, and is clipped to the image. Of
   two overlapping boxes the weaker is cut off the better one when that keeps 60 % of it,
   else they are merged. Score in [0, 1]: fill x sqrt(squareness) x strength (the mean
   texture over 16 noise spreads, capped), best first. Cards without a code and pages of text
   may give a region, most often with a lower score than a real code; a bare or textured desk
   gives none.

An image under 32 pixels on a side is one region, the whole image, score 0.

Measured with benchmarks/regions.py (seed 2026, 100 frames of each kind of
tests/helpers/corpus.py, one core of an AMD EPYC, OpenCV on one thread, load about 2):
1.9 ms mean, 2.3 ms p95 per 1280x720 frame (5.5 ms for an A4 page at 300 dpi; on a busier
machine 3.5 ms mean, 7 ms p95 of wall clock for 2.3 ms of CPU); the code
inside a returned region for 599 of 600 degraded frames (99.8 %; clean, mixed, low light,
glare spot, hard shadow, combinations; the miss is a dim, noisy low-light frame whose code is
found only in part), inside the first region for 99.7 %, and 74 of 74 codes of A4 pages; the
region is about 2.3 times the symbol's box; 0.96 regions a frame. Frames without a code:
none for a bare or textured desk, a region for 2 cards of 25 and for most pages of text
(0.28 a frame), scores at most 0.35, while 93 % of the codes score more (78 % over 0.7;
the dim ones less). Full-resolution Canny and contours, in the same run: 47 % of the codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

CELL = 4  # pixels a side of a cell of the reduced map (two 2x area reductions)
_LARGE = 4_000_000  # pixels: a larger image (a scanned page) is first halved
_SMALL = 8 * CELL  # an image smaller than this on a side is one region, the whole image
_OPEN = 5  # cells: blobs thinner than this are lines, not codes
_CLOSE = 3  # cells: gaps narrower than this inside a blob are closed first (a large code's
#   solid alignment bars)
_MIN_SIDE = 7.0  # cells: the short side of a code's blob (a 14-module code, 2-pixel modules)
_MAX_SIDE = 0.8  # of the image's short side: a larger textured blob is a cloth, a keyboard
_MIN_SQUARE = 0.4  # short side / long side of the blob's rotated rectangle
_MIN_FILL = 0.45  # blob pixels / rotated rectangle area
_THRESHOLD = 4.0  # texture above the median by this many times the noise's spread
_STEPS = 4.0  # the texture's median and spread are found to 1/_STEPS
_MIN_SPREAD = 0.35  # the noise's spread in a clean image (mean absolute difference)
_MARGIN = 0.15  # of the blob's side, added on each side of its box (at least 2 cells)
_FAINT = 0.5  # of the threshold: texture a blob's box grows over
_KEEP = 0.6  # of an overlapping weaker box: cut it when that keeps this much, else merge
_ANISOTROPY = 0.5  # texture = least - this x (most - least) of the four directions


@dataclass(frozen=True, slots=True)
class Region:
    """A box of the image that may hold a code, in the image's pixels (x1, y1 excluded), and
    how much it looks like a Data Matrix (0-1; 0 for an image too small to judge)."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


class RegionFinder:
    """`find` for one stream of images: its arrays are kept while the image size stays the
    same, so a camera loop allocates nothing per frame but the small result list. Not for
    use by two threads at once (one finder per thread)."""

    def __init__(self) -> None:
        self._bytes: dict[str, Gray] = {}
        self._floats: dict[str, Floats] = {}
        self._open = cv2.getStructuringElement(cv2.MORPH_RECT, (_OPEN, _OPEN))
        self._thin = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_RECT, (_CLOSE, _CLOSE))

    def _u8(self, name: str, shape: tuple[int, int]) -> Gray:
        array = self._bytes.get(name)
        if array is None or array.shape != shape:
            array = np.zeros(shape, dtype=np.uint8)
            self._bytes[name] = array
        return array

    def _f32(self, name: str, shape: tuple[int, int]) -> Floats:
        array = self._floats.get(name)
        if array is None or array.shape != shape:
            array = np.zeros(shape, dtype=np.float32)
            self._floats[name] = array
        return array

    def find(self, gray: Gray, *, max_regions: int = 4) -> list[Region]:
        """The places of `gray` (2-D uint8; a BGR image is converted) that may hold a Data
        Matrix, best first, at most `max_regions`, not overlapping."""
        image = _as_gray(gray)
        height, width = image.shape[:2]
        if height == 0 or width == 0 or max_regions <= 0:
            return []
        if height < _SMALL or width < _SMALL:
            return [Region(0, 0, width, height, 0.0)]
        reduce = 1
        work = image
        if height * width > _LARGE:  # a page at 300 dpi: modules of 4 pixels or more
            reduce = 2
            work = self._u8("reduced", (height // 2, width // 2))
            cv2.resize(image, (width // 2, height // 2), dst=work, interpolation=cv2.INTER_AREA)
        texture = self._texture(work)
        blobs = self._blobs(texture)
        regions = [_to_region(b, CELL * reduce, width, height) for b in blobs]
        return _merge(regions)[:max_regions]

    def _texture(self, image: Gray) -> Floats:
        """Per cell, how far its texture in all directions stands above the image's noise, in
        units of that noise's spread; the better of two scales (full and half resolution)."""
        big_h = image.shape[0] - image.shape[0] % CELL
        big_w = image.shape[1] - image.shape[1] % CELL
        img = image[:big_h, :big_w]
        h, w = big_h // CELL, big_w // CELL
        half = self._u8("half", (big_h // 2, big_w // 2))
        cv2.resize(img, (big_w // 2, big_h // 2), dst=half, interpolation=cv2.INTER_AREA)
        fine = self._standing(self._directional(img, "fine", (h, w)), "fine")
        coarse = self._standing(self._directional(half, "coarse", (h, w), 5), "coarse")
        cv2.max(fine, coarse, dst=fine)
        return fine

    def _directional(self, img: Gray, name: str, cells: tuple[int, int], window: int = 3) -> Floats:
        """Texture in all directions per cell: the mean absolute difference of neighbouring
        pixels over 3 x 3 cells, along four directions (across, down, the two diagonals), as
        2 x least - most. Two families of edges at right angles (a code, at any rotation) give
        nearly the same in all four; a straight edge, or parallel ones (a border, a shadow's
        edge, lines of text), almost nothing along itself: 2 x least - most <= 0.
        """
        big_h, big_w = img.shape
        h, w = cells
        diff = self._u8(name + "diff", (big_h, big_w))
        shrunk = self._u8(name + "shrunk", (big_h // 2, big_w // 2))
        each = self._u8(name + "each", (h, w))
        smooth = self._f32(name + "smooth", (h, w))
        least = self._f32(name + "least", (h, w))
        most = self._f32(name + "most", (h, w))
        shifts = (
            (img[:, 1:], img[:, :-1]),
            (img[1:], img[:-1]),
            (img[1:, 1:], img[:-1, :-1]),
            (img[1:, :-1], img[:-1, 1:]),
        )
        for index, (a, b) in enumerate(shifts):
            diff[-1] = 0
            diff[:, -1] = 0
            cv2.absdiff(a, b, dst=diff[: a.shape[0], : a.shape[1]])
            if big_h // 2 == h:
                cv2.resize(diff, (w, h), dst=each, interpolation=cv2.INTER_AREA)
            else:
                cv2.resize(diff, (big_w // 2, big_h // 2), dst=shrunk, interpolation=cv2.INTER_AREA)
                cv2.resize(shrunk, (w, h), dst=each, interpolation=cv2.INTER_AREA)
            if index:
                cv2.boxFilter(each, cv2.CV_32F, (window, window), dst=smooth)
                cv2.min(least, smooth, dst=least)
                cv2.max(most, smooth, dst=most)
            else:
                cv2.boxFilter(each, cv2.CV_32F, (window, window), dst=least)
                most[:] = least
        cv2.addWeighted(least, 1.0 + _ANISOTROPY, most, -_ANISOTROPY, 0.0, dst=smooth)
        return smooth

    def _standing(self, texture: Floats, name: str) -> Floats:
        """`texture` less its median, over the median's distance to its 5th percentile (the
        spread of the noise and grain that make most of an image), in place. Allocates
        nothing the size of the map (a histogram, not `np.bincount`)."""
        quantised = self._u8(name + "quantised", texture.shape)
        # |texture| x _STEPS in bytes. Cells along lines, below 0, count as above: the spread
        # is then not widened by pages full of lines (measured: a page's codes are missed if
        # they widen it)
        cv2.convertScaleAbs(texture, dst=quantised, alpha=_STEPS)
        counts = cv2.calcHist([quantised], [0], None, [256], [0, 256]).ravel().cumsum()
        total = int(counts[-1])
        median = float(np.searchsorted(counts, total // 2)) / _STEPS
        low = float(np.searchsorted(counts, total // 20)) / _STEPS
        texture -= median
        texture *= 1.0 / max(median - low, _MIN_SPREAD)
        return texture

    def _blobs(self, texture: Floats) -> list[tuple[float, float, float, float, float]]:
        """(x0, y0, x1, y1, score) in cells of the compact textured blobs."""
        h, w = texture.shape
        threshold = _THRESHOLD
        mask = self._u8("mask", (h, w))
        np.greater(texture, threshold, out=mask.view(np.bool_))
        cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close, dst=mask)
        cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open, dst=mask)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        longest = _MAX_SIDE * min(h, w)
        out: list[tuple[float, float, float, float, float]] = []
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if min(bw, bh) < _MIN_SIDE or max(bw, bh) > longest * 1.42:
                continue
            (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
            short, long = sorted((max(rw, 1.0), max(rh, 1.0)))
            if short < _MIN_SIDE or long > longest:
                continue
            square = short / long
            fill = min(1.0, (cv2.contourArea(contour) + 0.5 * len(contour)) / (short * long))
            if square < _MIN_SQUARE or fill < _MIN_FILL:
                continue
            strength = max(0.0, float(np.mean(texture[y : y + bh, x : x + bw]))) / threshold
            score = fill * square**0.5 * min(1.0, strength / 4.0)
            out.append((*self._grown(texture, x, y, x + bw, y + bh), score))
        return out

    def _grown(self, texture: Floats, x0: int, y0: int, x1: int, y1: int) -> tuple[int, ...]:
        """The blob's box grown over the fainter texture around it (the part of a code in a
        shadow, under a glare's halo, or blurred), by at most half its side each way."""
        h, w = texture.shape
        reach = max(2, (max(x1 - x0, y1 - y0) + 1) // 2)
        wx0, wy0 = max(0, x0 - reach), max(0, y0 - reach)
        wx1, wy1 = min(w, x1 + reach), min(h, y1 + reach)
        window = texture[wy0:wy1, wx0:wx1]
        faint = np.ascontiguousarray(window > _THRESHOLD * _FAINT, dtype=np.uint8)
        faint[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = 1
        cv2.morphologyEx(faint, cv2.MORPH_OPEN, self._thin, dst=faint)  # not along edges
        faint[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = 1
        _, labels, stats, _ = cv2.connectedComponentsWithStats(faint, connectivity=8)
        sx, sy, sw, sh, _ = (int(v) for v in stats[int(labels[y0 - wy0, x0 - wx0])])
        return (
            min(x0, wx0 + sx),
            min(y0, wy0 + sy),
            max(x1, wx0 + sx + sw),
            max(y1, wy0 + sy + sh),
        )


def find_regions(gray: Gray, *, max_regions: int = 4) -> list[Region]:
    """`RegionFinder().find(gray, max_regions=...)`: for one image; a camera keeps a finder."""
    return RegionFinder().find(gray, max_regions=max_regions)


def _as_gray(image: npt.NDArray[np.generic]) -> Gray:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3:
        if array.shape[2] == 1:
            array = array[:, :, 0]
        elif array.shape[2] >= 3 and min(array.shape[:2]) > 0:
            array = np.asarray(cv2.cvtColor(array[:, :, :3], cv2.COLOR_BGR2GRAY), np.uint8)
        else:
            array = array[:, :, 0]
    elif array.ndim != 2:
        array = np.zeros((0, 0), np.uint8)
    return array


def _to_region(
    blob: tuple[float, float, float, float, float], cell: int, width: int, height: int
) -> Region:
    x0, y0, x1, y1, score = blob
    margin = max(2.0, _MARGIN * max(x1 - x0, y1 - y0))
    return Region(
        max(0, int((x0 - margin) * cell)),
        max(0, int((y0 - margin) * cell)),
        min(width, int((x1 + margin) * cell)),
        min(height, int((y1 + margin) * cell)),
        round(score, 4),
    )


def _merge(regions: list[Region]) -> list[Region]:
    """Boxes that do not overlap, best first. Of two overlapping boxes, the weaker loses the
    overlap (cut on the side that keeps most of it) when that keeps most of it, else both
    become their union (with the better score): two pieces of one code stay together, and a
    code's box is not swallowed by a neighbouring block of text."""
    boxes = sorted(regions, key=lambda r: -r.score)
    changed = True
    while changed:
        changed = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if not (a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1):
                    continue
                cut = _cut(b, a)
                if cut is not None and cut.width * cut.height >= _KEEP * b.width * b.height:
                    boxes[j] = cut
                else:
                    boxes[i] = Region(
                        min(a.x0, b.x0),
                        min(a.y0, b.y0),
                        max(a.x1, b.x1),
                        max(a.y1, b.y1),
                        a.score,
                    )
                    del boxes[j]
                changed = True
                break
            if changed:
                break
    return sorted(boxes, key=lambda r: -r.score)


def _cut(weak: Region, strong: Region) -> Region | None:
    """`weak` without its overlap with `strong`, cut along one side (the largest such box)."""
    w = weak
    options = [
        Region(w.x0, w.y0, min(w.x1, strong.x0), w.y1, w.score),
        Region(max(w.x0, strong.x1), w.y0, w.x1, w.y1, w.score),
        Region(w.x0, w.y0, w.x1, min(w.y1, strong.y0), w.score),
        Region(w.x0, max(w.y0, strong.y1), w.x1, w.y1, w.score),
    ]
    kept = [o for o in options if o.x1 > o.x0 and o.y1 > o.y0]
    return max(kept, key=lambda o: o.width * o.height) if kept else None

"""Region finder benchmark: `decoders.regions.find_regions` side by side with a naive
alternative (full-resolution Canny edges and square-ish contours) and with no finder at all
(the whole image, one region), on one seeded corpus (tests/helpers/corpus.py).

    taskset -c 1 .venv/bin/python benchmarks/regions.py                  # 100 per frame kind
    taskset -c 1 .venv/bin/python benchmarks/regions.py --per-kind 20    # quick look
    taskset -c 1 .venv/bin/python benchmarks/regions.py --misses         # list the misses

A code counts as found when the axis-aligned box of its symbol's corners is inside one of the
regions returned ("first": inside the first one). For each kind: recall, how many regions an
image gets, the area of the region holding the code over the area of the code's box (what
the decoding passes then have to look at), and the time per image (wall clock, and CPU time of
this process, which a busy machine disturbs less). OpenCV runs on one thread; pin the process
to one core with `taskset`. Numbers go to docs/benchmarks.md, "Region finder".
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decoders.regions import Region, RegionFinder
from tests.helpers import corpus

Finder = Callable[[np.ndarray], list[Region]]


def canny_contours(gray: np.ndarray) -> list[Region]:
    """The classic way: Canny edges at full resolution, closed into blobs, the external
    contours whose rotated rectangle is square-ish and of a code's size."""
    edges = cv2.Canny(gray, 50, 150)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, kernel)
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    height, width = gray.shape
    out: list[Region] = []
    for contour in contours:
        (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
        short, long = sorted((rw, rh))
        if short < 28 or long > 0.8 * min(height, width) or short / long < 0.6:
            continue
        fill = cv2.contourArea(contour) / (short * long)
        if fill < 0.6:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        m = max(8, int(0.2 * max(w, h)))
        out.append(
            Region(
                max(0, x - m),
                max(0, y - m),
                min(width, x + w + m),
                min(height, y + h + m),
                float(fill),
            )
        )
    return sorted(out, key=lambda r: -r.score)[:4]


def whole_image(gray: np.ndarray) -> list[Region]:
    """No finder: every pass reads the whole image."""
    return [Region(0, 0, gray.shape[1], gray.shape[0], 1.0)]


@dataclass
class Tally:
    codes: int = 0
    found: int = 0
    first: int = 0
    images: int = 0
    regions: int = 0
    area: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def gray_of(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def measure(finder: Finder, samples: list[tuple[corpus.Sample, np.ndarray]]) -> Tally:
    tally = Tally()
    for sample, gray in samples:
        wall, cpu = time.perf_counter(), time.process_time()
        regions = finder(gray)
        tally.cpu.append((time.process_time() - cpu) * 1000)
        tally.wall.append((time.perf_counter() - wall) * 1000)
        tally.images += 1
        tally.regions += len(regions)
        for corners in sample.codes:
            tally.codes += 1
            x0, y0 = corners.min(axis=0)
            x1, y1 = corners.max(axis=0)
            holding = [
                r for r in regions if r.x0 <= x0 and r.y0 <= y0 and r.x1 >= x1 and r.y1 >= y1
            ]
            if not holding:
                tally.misses.append(f"{sample.kind} #{sample.index}: {sample.note}")
                continue
            tally.found += 1
            tally.first += holding[0] is regions[0]
            region = holding[0]
            tally.area.append(region.width * region.height / max(1.0, (x1 - x0) * (y1 - y0)))
    return tally


def row(name: str, kind: str, t: Tally) -> str:
    recall = f"{100 * t.found / t.codes:.1f} % ({t.found}/{t.codes})" if t.codes else "-"
    first = f"{100 * t.first / t.codes:.1f} %" if t.codes else "-"
    area = f"{statistics.mean(t.area):.1f}" if t.area else "-"
    p95 = float(np.percentile(t.wall, 95))
    return (
        f"| {name} | {kind} | {recall} | {first} | {t.regions / t.images:.2f} | {area} "
        f"| {statistics.mean(t.wall):.2f} | {p95:.2f} | {statistics.mean(t.cpu):.2f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=100, help="frames of each frame kind")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--misses", action="store_true", help="list the codes not found")
    parser.add_argument("--no-canny", action="store_true", help="leave the naive finder out")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    samples = corpus.build(args.seed, args.per_kind)
    by_kind: dict[str, list[tuple[corpus.Sample, np.ndarray]]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, []).append((s, gray_of(s.image)))

    finder = RegionFinder()
    methods: dict[str, Finder] = {"find_regions": finder.find}
    if not args.no_canny:
        methods["Canny + contours"] = canny_contours
    methods["whole image"] = whole_image

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    print(
        f"machine: {cpu}, {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f}; "
        f"OpenCV {cv2.__version__}, 1 thread; seed {args.seed}, {len(samples)} images"
    )
    print()
    print(
        "| finder | kind | recall | first | regions/image | area / code | ms mean "
        "| ms p95 | CPU ms mean |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[str, Tally] = {}
    for name, method in methods.items():
        method(by_kind[next(iter(by_kind))][0][1])  # warm up: buffers, OpenCV's first call
        frames = Tally()
        for kind, group in by_kind.items():
            tally = measure(method, group)
            print(row(name, kind, tally))
            if kind in corpus.FRAME_KINDS or kind == "empty":
                for key in ("codes", "found", "first", "images", "regions"):
                    setattr(frames, key, getattr(frames, key) + getattr(tally, key))
                for key in ("area", "wall", "cpu", "misses"):
                    getattr(frames, key).extend(getattr(tally, key))
            else:
                frames.misses.extend(tally.misses)
        print(row(name, "all 720p frames", frames))
        totals[name] = frames
    if args.misses:
        for name, tally in totals.items():
            for miss in tally.misses:
                print(f"missed by {name}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

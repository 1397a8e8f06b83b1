"""Image decoding benchmark: pylibdmtx alone, zxing-cpp alone and the decoder stack, side by
side on one fixed, seeded corpus.

    .venv/bin/python benchmarks/decode.py                 # 200 frames + 20 A4 pages
    .venv/bin/python benchmarks/decode.py --passes        # also each pass alone, and the order
                                                          #   their marginal yield suggests
    .venv/bin/python benchmarks/decode.py --frames 50 --pages 5 --no-pylibdmtx   # quick look

Frames are 1280x720 BGR webcam pictures of a card (tests/helpers/synthetic.py: random rotation,
perspective, blur, noise, low contrast, JPEG, glare, 2-5 pixel modules); pages are A4 scans at
300 dpi with one or two codes. A code counts as read when the exact payload bytes come back.
Numbers go to docs/benchmarks.md, "Image decoding".
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from pylibdmtx import pylibdmtx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decoders import DecodeOptions, Decoder
from decoders.cascade import PASSES, _Buffers
from decoders.zxing import DATAMATRIX
from decoders.zxing import decode as zxing_decode
from tests.helpers import synthetic


@dataclass
class Sample:
    image: np.ndarray
    payloads: list[bytes]
    note: str


def corpus(
    frames: int, pages: int, seed: int, severity: float = 1.0
) -> tuple[list[Sample], list[Sample]]:
    rng = np.random.default_rng(seed)
    out_frames = []
    for i in range(frames):
        payload = synthetic.fixed_payload(rng) if i % 5 == 4 else synthetic.tagged_payload(rng)
        module_px = int(rng.choice([2, 3, 3, 4, 4, 5]))
        image, d = synthetic.camera_frame(payload, rng, module_px=module_px, severity=severity)
        out_frames.append(Sample(image, [payload], f"module={module_px}px {d.describe()}"))
    out_pages = []
    for i in range(pages):
        payloads = [synthetic.tagged_payload(rng) for _ in range(1 + i % 2)]
        image, d = synthetic.a4_page(payloads, rng)
        out_pages.append(Sample(image, payloads, d.describe()))
    return out_frames, out_pages


Reader = Callable[[np.ndarray], list[bytes]]


def run(samples: list[Sample], reader: Reader) -> tuple[float, list[float], list[int]]:
    """(recall, ms per image, indexes of the samples with a missed code)."""
    found = total = 0
    times: list[float] = []
    missed: list[int] = []
    for index, sample in enumerate(samples):
        start = time.perf_counter()
        read = reader(sample.image)
        times.append((time.perf_counter() - start) * 1000)
        hits = sum(1 for p in sample.payloads if p in read)
        found += hits
        total += len(sample.payloads)
        if hits < len(sample.payloads):
            missed.append(index)
    return found / total, times, missed


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def pylibdmtx_alone(timeout_ms: int, max_count: int | None) -> Reader:
    """pylibdmtx as its README shows it, with a time limit, stopping at `max_count` codes."""

    def read(image: np.ndarray) -> list[bytes]:
        found = pylibdmtx.decode(_gray(image), timeout=timeout_ms, max_count=max_count)
        return [d.data for d in found]

    return read


def zxing_alone(image: np.ndarray) -> list[bytes]:
    return [r.bytes for r in zxingcpp.read_barcodes(image)]


def stack(options: DecodeOptions) -> Reader:
    decoder = Decoder(options)

    def read(image: np.ndarray) -> list[bytes]:
        return [s.data for s in decoder.decode(image)]

    return read


def one_pass(name: str) -> Reader:
    prepare = PASSES[name]
    buffers = _Buffers()

    def read(image: np.ndarray) -> list[bytes]:
        prepared = prepare(_gray(image), buffers)
        symbols = zxing_decode(
            prepared.image, formats=DATAMATRIX, binarizer=prepared.binarizer, try_invert=False
        )
        return [s.data for s in symbols]

    return read


def row(name: str, recall: float, times: list[float]) -> str:
    return (
        f"| {name:<50} | {recall * 100:6.1f} % | {statistics.fmean(times):8.1f} | "
        f"{statistics.median(times):8.1f} | {max(times):8.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--severity", type=float, default=1.0, help="scale every frame degradation (default 1)"
    )
    parser.add_argument("--no-pylibdmtx", action="store_true", help="skip pylibdmtx alone (slow)")
    parser.add_argument("--pylibdmtx-timeout", type=int, default=2000, metavar="MS")
    parser.add_argument("--passes", action="store_true", help="measure each pass alone")
    parser.add_argument("--misses", action="store_true", help="list what the stack missed")
    args = parser.parse_args()

    print(f"building the corpus (seed {args.seed}, severity {args.severity})...", file=sys.stderr)
    frames, pages = corpus(args.frames, args.pages, args.seed, args.severity)
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    print(f"machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"zxing-cpp {version('zxing-cpp')}, pylibdmtx {version('pylibdmtx')}, "
          f"OpenCV {cv2.__version__}")  # fmt: skip
    for title, samples, one_code in ((f"{len(frames)} frames 1280x720", frames, True),
                                     (f"{len(pages)} A4 pages 300 dpi", pages, False)):  # fmt: skip
        if not samples:
            continue
        readers: list[tuple[str, Reader]] = []
        if not args.no_pylibdmtx:
            # a frame holds one card: pylibdmtx may stop at the first code; a page may hold two
            limit = f"timeout {args.pylibdmtx_timeout} ms" + (", max_count=1" if one_code else "")
            reader = pylibdmtx_alone(args.pylibdmtx_timeout, 1 if one_code else None)
            readers.append((f"pylibdmtx alone ({limit})", reader))
        readers.append(("zxing-cpp alone (defaults)", zxing_alone))
        readers.append(("stack (DecodeOptions defaults)", stack(DecodeOptions())))
        print(f"\n{title}\n")
        print(f"| {'reader':<50} | recall   |  mean ms |   median |      max |")
        print(f"|{'-' * 52}|---------:|---------:|---------:|---------:|")
        for name, reader in readers:
            recall, times, missed = run(samples, reader)
            print(row(name, recall, times), flush=True)
            if args.misses and name.startswith("stack"):
                for index in missed:
                    print(f"    missed #{index}: {samples[index].note}")
        if args.passes:
            hits: dict[str, set[int]] = {}
            cost: dict[str, float] = {}
            for name in PASSES:
                recall, times, missed = run(samples, one_pass(name))
                hits[name] = set(range(len(samples))) - set(missed)
                cost[name] = statistics.fmean(times)
                print(row(f"pass {name} alone", recall, times), flush=True)
            order: list[str] = []
            covered: set[int] = set()
            while len(order) < len(hits):
                name = max((n for n in hits if n not in order),
                           key=lambda n: len(hits[n] - covered) / cost[n])  # fmt: skip
                if not hits[name] - covered:
                    break
                covered |= hits[name]
                order.append(name)
            print(
                f"greedy order (new codes per ms): {', '.join(order)}; "
                f"together {len(covered)}/{len(samples)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

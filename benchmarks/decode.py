"""Image decoding benchmark: pylibdmtx alone, zxing-cpp alone and the decoder stack (as files
and as camera frames), side by side in one run on the seeded corpus of issue 14.

    .venv/bin/python benchmarks/decode.py                  # 60 frames of each kind, 15 pages
                                                           #   of each page kind, 30 empty frames
    .venv/bin/python benchmarks/decode.py --passes         # also each pass alone, and the
                                                           #   marginal yield of the passes in
                                                           #   the order of --order
    .venv/bin/python benchmarks/decode.py --frames 10 --pages 2 --empty 8 --no-pylibdmtx
    .venv/bin/python benchmarks/decode.py --load 2 --compare-load   # idle, then 2 CPU hogs

The corpus (tests/helpers/corpus.py) has the kinds `clean`, `mixed`, `low_light`, `glare`,
`shadow`, `uneven_combo` (1280x720 webcam frames of a card, one code each), `a4` and
`a4_uneven` (A4 pages at 300 dpi, one or two codes) and `empty` (720p frames with no code).
A code counts as read when its exact payload bytes come back; a symbol whose bytes are not an
expected payload is a false read (precision = right reads / all reads).

Readers: pylibdmtx alone (a timeout; frames stop at the first code, max_count=1), zxing-cpp
alone (`read_barcodes` with its defaults), the stack as files
(`for_documents(DecodeOptions())`: no time budget, every pass) and as camera frames
(`DecodeOptions(time_budget_ms=--budget)`, one `Decoder` kept for the whole stream). The run is
pinned to one core (`--core`) with OpenCV on one thread. Markdown tables on stdout, progress on
stderr, everything in `--json FILE`. Numbers go to docs/benchmarks.md, "Image decoding".
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp
from pylibdmtx import pylibdmtx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decoders import DecodeOptions, Decoder
from decoders import base as decoder_base
from scanner_agent.file_decoding import for_documents
from tests.helpers import corpus
from tests.helpers.corpus import Sample

Reader = Callable[[np.ndarray], list[bytes]]


@dataclass
class Outcome:
    """What one reader did with one sample."""

    read: list[bytes]  # distinct symbols' bytes
    ms: float
    passes: list[str] = field(default_factory=list)

    def hits(self, sample: Sample) -> int:
        return sum(1 for p in sample.payloads if p in self.read)

    def false(self, sample: Sample) -> int:
        return sum(1 for b in self.read if b not in sample.payloads)


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _distinct(values: list[bytes]) -> list[bytes]:
    return list(dict.fromkeys(values))


def pylibdmtx_alone(timeout_ms: int) -> Callable[[Sample], Outcome]:
    """pylibdmtx as its README shows it, with a time limit; a frame holds one card, so it stops
    at the first code there (max_count=1); a page may hold two (no max_count)."""

    def read(sample: Sample) -> Outcome:
        one = sample.kind not in corpus.PAGE_KINDS
        start = time.perf_counter()
        found = pylibdmtx.decode(
            _gray(sample.image), timeout=timeout_ms, max_count=1 if one else None
        )
        ms = (time.perf_counter() - start) * 1000
        return Outcome(_distinct([d.data for d in found]), ms)

    return read


def zxing_alone(sample: Sample) -> Outcome:
    start = time.perf_counter()
    found = zxingcpp.read_barcodes(sample.image)
    ms = (time.perf_counter() - start) * 1000
    return Outcome(_distinct([r.bytes for r in found]), ms)


def stack(options: DecodeOptions) -> Callable[[Sample], Outcome]:
    """The decoder stack with `options`, one `Decoder` for the whole run (as the camera keeps
    one for its stream)."""
    decoder = Decoder(options)

    def read(sample: Sample) -> Outcome:
        start = time.perf_counter()
        reading = decoder.read(sample.image)
        ms = (time.perf_counter() - start) * 1000
        return Outcome(_distinct([s.data for s in reading.symbols]), ms, list(reading.passes))

    return read


def measure(
    samples: list[Sample], reader: Callable[[Sample], Outcome], label: str
) -> list[Outcome]:
    out = []
    started = time.perf_counter()
    for index, sample in enumerate(samples):
        out.append(reader(sample))
        if index % 50 == 49:
            print(f"  {label}: {index + 1}/{len(samples)}", file=sys.stderr, flush=True)
    print(f"  {label}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


# --- statistics ---------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else 0.0


def stats(samples: list[Sample], outcomes: list[Outcome]) -> dict[str, Any]:
    codes = sum(len(s.payloads) for s in samples)
    hits = sum(o.hits(s) for s, o in zip(samples, outcomes, strict=True))
    false = sum(o.false(s) for s, o in zip(samples, outcomes, strict=True))
    times = [o.ms for o in outcomes]
    return {
        "samples": len(samples),
        "codes": codes,
        "read": hits,
        "recall": hits / codes if codes else None,
        "false_reads": false,
        "precision": hits / (hits + false) if hits + false else None,
        "mean_ms": statistics.fmean(times) if times else 0.0,
        "median_ms": statistics.median(times) if times else 0.0,
        "p95_ms": p95(times),
        "max_ms": max(times) if times else 0.0,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def table(title: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    print(f"\n{title}\n")
    print(
        "| kind | reader | codes | recall | false reads | precision | mean ms | median | p95 "
        "| max |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, reader, s in rows:
        print(
            f"| {kind} | {reader} | {s['codes']} | {_pct(s['recall'])} | {s['false_reads']} | "
            f"{_pct(s['precision'])} | {s['mean_ms']:.1f} | {s['median_ms']:.1f} | "
            f"{s['p95_ms']:.1f} | {s['max_ms']:.1f} |"
        )


# --- load and pinning ---------------------------------------------------------------------


def _hog(core: int | None) -> None:  # pragma: no cover - a child process
    if core is not None:
        os.sched_setaffinity(0, {core})
    while True:
        pass


@contextmanager
def load(hogs: int, core: int | None) -> Iterator[None]:
    """`hogs` busy-loop processes on `core` (or anywhere) for the time of the block."""
    children = [
        multiprocessing.get_context("fork").Process(target=_hog, args=(core,), daemon=True)
        for _ in range(hogs)
    ]
    for child in children:
        child.start()
    try:
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join()


# --- the run ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "zxing_cpp": version("zxing-cpp"),
        "pylibdmtx": version("pylibdmtx"),
        "opencv": cv2.__version__,
    }


def readers(args: argparse.Namespace) -> list[tuple[str, Callable[[Sample], Outcome]]]:
    out: list[tuple[str, Callable[[Sample], Outcome]]] = []
    if not args.no_pylibdmtx:
        out.append(
            (
                f"pylibdmtx alone ({args.pylibdmtx_timeout} ms)",
                pylibdmtx_alone(args.pylibdmtx_timeout),
            )
        )
    out.append(("zxing-cpp alone", zxing_alone))
    out.extend(stack_readers(args))
    return out


def stack_readers(args: argparse.Namespace) -> list[tuple[str, Callable[[Sample], Outcome]]]:
    return [
        ("stack, files", stack(for_documents(DecodeOptions()))),
        (f"stack, camera {args.budget:g} ms", stack(DecodeOptions(time_budget_ms=args.budget))),
    ]


def by_kind(
    samples: list[Sample], results: dict[str, list[Outcome]]
) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, dict[str, Any]]]:
    rows = []
    report: dict[str, dict[str, Any]] = {}
    kinds = [k for k in corpus.KINDS if any(s.kind == k for s in samples)]
    groups = [(k, [i for i, s in enumerate(samples) if s.kind == k]) for k in kinds]
    coded = [i for i, s in enumerate(samples) if s.payloads]
    groups.append(("all codes", coded))
    frames = [i for i in coded if samples[i].kind in corpus.FRAME_KINDS]
    groups.append(("all 720p frames with a code", frames))
    for kind, indexes in groups:
        report[kind] = {}
        for name, outcomes in results.items():
            s = stats([samples[i] for i in indexes], [outcomes[i] for i in indexes])
            report[kind][name] = s
            rows.append((kind, name, s))
    return rows, report


def misses(samples: list[Sample], results: dict[str, list[Outcome]]) -> None:
    for name, outcomes in results.items():
        if not name.startswith("stack"):
            continue
        print(f"\n{name}: missed or false reads\n")
        for sample, outcome in zip(samples, outcomes, strict=True):
            missed = len(sample.payloads) - outcome.hits(sample)
            false = outcome.false(sample)
            if missed or false:
                print(
                    f"- {sample.kind} #{sample.index}: {missed} missed, {false} false "
                    f"({sample.note}; passes {','.join(outcome.passes)})"
                )


def passes_report(
    samples: list[Sample], order: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Each pass alone on each kind (recall, mean ms), then the marginal yield of each pass of
    `order` run as one cascade (stopping at the first Data Matrix, as the stack does)."""
    coded = [s for s in samples if s.payloads]
    kinds = [k for k in corpus.KINDS if any(s.kind == k for s in coded)]
    alone: dict[str, dict[str, Any]] = {}
    hit_sets: dict[str, set[int]] = {}
    print("\nEach pass alone (zxing-cpp after the pass; no libdmtx, no other formats, no budget)\n")
    print("| pass | " + " | ".join(kinds) + " | all | mean ms | empty mean ms |")
    print("|---|" + "---:|" * (len(kinds) + 3))
    empty = [s for s in samples if not s.payloads]
    for name in decoder_base.PASS_NAMES:
        options = DecodeOptions(passes=(name,), libdmtx=False, all_formats=False)
        outcomes = measure(coded + empty, stack(options), f"pass {name}")
        mine, blank = outcomes[: len(coded)], outcomes[len(coded) :]
        per = {
            k: stats(
                [s for s in coded if s.kind == k],
                [o for s, o in zip(coded, mine, strict=True) if s.kind == k],
            )
            for k in kinds
        }
        whole = stats(coded, mine)
        blank_ms = statistics.fmean(o.ms for o in blank) if blank else 0.0
        alone[name] = {"kinds": per, "all": whole, "empty_mean_ms": blank_ms}
        hit_sets[name] = {i for i, (s, o) in enumerate(zip(coded, mine, strict=True)) if o.hits(s)}
        print(
            f"| {name} | "
            + " | ".join(_pct(per[k]["recall"]) for k in kinds)
            + f" | {_pct(whole['recall'])} | {whole['mean_ms']:.1f} | {blank_ms:.1f} |"
        )
    # the cascade in `order`: the pass a code was found by is the last one the cascade ran
    options = DecodeOptions(passes=tuple(order), libdmtx=False, all_formats=False)
    outcomes = measure(coded, stack(options), "cascade in order")
    print(f"\nMarginal yield, cascade {','.join(order)} (stops at the first Data Matrix)\n")
    print("| # | pass | new codes | " + " | ".join(kinds) + " | recall so far | pass alone ms |")
    print("|---:|---|---:|" + "---:|" * (len(kinds) + 2))
    yield_rows = []
    total = sum(len(s.payloads) for s in coded)
    so_far = 0
    for position, name in enumerate(order):
        new_by_kind = dict.fromkeys(kinds, 0)
        for sample, outcome in zip(coded, outcomes, strict=True):
            if outcome.hits(sample) and len(outcome.passes) == position + 1:
                new_by_kind[sample.kind] += outcome.hits(sample)
        new = sum(new_by_kind.values())
        so_far += new
        cost = alone.get(name, {}).get("all", {}).get("mean_ms", 0.0)
        yield_rows.append(
            {
                "pass": name,
                "new": new,
                "kinds": new_by_kind,
                "recall_so_far": so_far / total,
                "alone_mean_ms": cost,
            }
        )
        print(
            f"| {position + 1} | {name} | {new} | "
            + " | ".join(str(new_by_kind[k]) for k in kinds)
            + f" | {so_far / total * 100:.1f} % | {cost:.1f} |"
        )
    # a greedy order for reference: the most new codes per ms of the pass alone first
    greedy: list[str] = []
    covered: set[int] = set()
    while True:
        left = [n for n in hit_sets if n not in greedy and hit_sets[n] - covered]
        if not left:
            break
        best = max(
            left, key=lambda n: len(hit_sets[n] - covered) / max(alone[n]["all"]["mean_ms"], 0.1)
        )
        covered |= hit_sets[best]
        greedy.append(best)
    print(
        f"\ngreedy order (new samples per ms of the pass alone): {', '.join(greedy)}; "
        f"together {len(covered)}/{len(coded)} samples"
    )
    return {"alone": alone, "order": order, "marginal": yield_rows, "greedy": greedy}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60, help="frames of each frame kind")
    parser.add_argument("--pages", type=int, default=15, help="pages of each page kind")
    parser.add_argument("--empty", type=int, default=30, help="empty 720p frames")
    parser.add_argument("--kinds", default=",".join(corpus.KINDS), help="kinds to build")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--budget",
        type=float,
        default=40,
        metavar="MS",
        help="camera mode's time_budget_ms (default 40, the shipped config)",
    )
    parser.add_argument("--no-pylibdmtx", action="store_true", help="skip pylibdmtx alone (slow)")
    parser.add_argument("--pylibdmtx-timeout", type=int, default=1000, metavar="MS")
    parser.add_argument("--core", type=int, default=0, help="the core to pin to (default 0)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="N busy-loop processes on the same core during the run",
    )
    parser.add_argument(
        "--compare-load",
        action="store_true",
        help="run the stack idle, then under --load N (default 1), and say "
        "whether the file mode's per-sample results are identical",
    )
    parser.add_argument("--passes", action="store_true", help="each pass alone, marginal yield")
    parser.add_argument(
        "--order",
        default=",".join(decoder_base.DEFAULT_PASSES),
        help="the pass order whose marginal yield --passes measures",
    )
    parser.add_argument("--misses", action="store_true", help="list the stack's misses")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    args = parser.parse_args()

    core = None if args.no_pin else args.core
    if core is not None:
        os.sched_setaffinity(0, {core})
    cv2.setNumThreads(1)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = [k for k in kinds if k not in corpus.KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(corpus.KINDS)}")
    print(f"building the corpus (seed {args.seed})...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    samples = corpus.build(args.seed, args.frames, pages=args.pages, empty=args.empty, kinds=kinds)
    print(f"  {len(samples)} samples in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    info = machine()
    pin = "not pinned" if core is None else f"pinned to core {core}, OpenCV 1 thread"
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in info['load_average'])}; {pin}; Python {info['python']}, "
        f"zxing-cpp {info['zxing_cpp']}, pylibdmtx {info['pylibdmtx']}, "
        f"OpenCV {info['opencv']}"
    )
    counts = {k: sum(1 for s in samples if s.kind == k) for k in corpus.KINDS}
    codes = sum(len(s.payloads) for s in samples)
    print(
        f"corpus: seed {args.seed}, {len(samples)} samples, {codes} codes; "
        + ", ".join(f"{k} {n}" for k, n in counts.items() if n)
    )
    out: dict[str, Any] = {
        "machine": info,
        "args": {k: str(v) for k, v in vars(args).items()},
        "counts": counts,
        "codes": codes,
    }

    def run_all(
        hogs: int, chosen: list[tuple[str, Callable[[Sample], Outcome]]]
    ) -> dict[str, list[Outcome]]:
        with load(hogs, core):
            return {name: measure(samples, reader, name) for name, reader in chosen}

    results = run_all(args.load, readers(args))
    label = f"under {args.load} busy loop(s) on the same core" if args.load else "idle"
    rows, report = by_kind(samples, results)
    table(f"Decoding, {label} (pages: 3508x2480, 300 dpi; frames: 1280x720)", rows)
    empty = [i for i, s in enumerate(samples) if not s.payloads]
    if empty:
        print("\nEmpty 720p frames (nothing to read)\n")
        print("| reader | frames | mean ms | p95 ms | max ms | false reads |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, outcomes in results.items():
            times = [outcomes[i].ms for i in empty]
            false = sum(outcomes[i].false(samples[i]) for i in empty)
            print(
                f"| {name} | {len(empty)} | {statistics.fmean(times):.1f} | {p95(times):.1f} "
                f"| {max(times):.1f} | {false} |"
            )
    out["runs"] = {label: report}
    if args.misses:
        misses(samples, results)

    if args.compare_load:
        hogs = args.load or 1
        other_hogs = 0 if args.load else hogs
        other = run_all(other_hogs, stack_readers(args))
        other_label = f"under {other_hogs} busy loop(s) on the same core" if other_hogs else "idle"
        rows, report = by_kind(samples, other)
        table(f"The stack, {other_label}", rows)
        out["runs"][other_label] = report
        for name in other:
            a = [sorted(o.read) for o in results[name]]
            b = [sorted(o.read) for o in other[name]]
            differ = sum(1 for x, y in zip(a, b, strict=True) if x != y)
            same = "identical" if not differ else f"NOT identical ({differ} samples differ)"
            print(f"\n{name}: per-sample results idle vs under {hogs} busy loop(s): {same}")
            out.setdefault("load_comparison", {})[name] = {
                "hogs": hogs,
                "samples_differing": differ,
            }

    if args.passes:
        order = [n for n in args.order.split(",") if n]
        out["passes"] = passes_report(samples, order, args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

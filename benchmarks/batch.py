"""Batch decoding and the watched folder (issue 16): a morning's mail decoded by a clerk's
`scanner-agent decode FOLDER --csv FILE`, the same files dropped into the agent's watched folder
(`[inputs] watch_dir`), and the readers alone on those same files, side by side in one run.

    .venv/bin/python benchmarks/batch.py                       # 40 files, settle 0.2 s, poll 0.1 s
    .venv/bin/python benchmarks/batch.py --files 20 --no-pylibdmtx --no-process
    .venv/bin/python benchmarks/batch.py --settle 2 --poll 1   # the shipped [inputs] timings

The mail (seeded, `--seed`): a cycle of 20 files as a hospital's admissions office receives
them, repeated up to `--files`: A4 letters scanned to PDF by the multifunction printer at 200 or
300 dpi (one page, or two with the attestation on page 2, or its annex on page 2; one page holds
two codes), PDFs saved from an insurer's site (vector codes), phone photos of the letter (JPEG,
slanted, uneven light), photos of the card sent by e-mail (720p, PNG or JPEG), and a scanned
letter and a photo without any code (tests/helpers/synthetic.py, tests/helpers/pdfs.py).

Measured:

1. **The clerk's batch.** `scanner_agent.cli.main(["decode", FOLDER, "--csv", FILE, ...])` in
   this process (its lines to a buffer), each file's `decode_path` timed by a wrapper; then the
   same command as a process of its own (`--no-process` skips it), start-up included.
2. **The watched folder.** An `Agent` with `[inputs] watch_dir` (SQLite storage and journal in a
   throwaway data folder, member numbers encrypted: the defaults) and `settle_s`/`poll_s` from
   `--settle`/`--poll`, started; the files are dropped at once (each written under a hidden
   name, then renamed: it appears whole), as a printer's batch; the clock runs from the drops
   to the last file moved to `done/` or `failed/`. The inbox's own `_ready` and `_process` and
   `read_upload` are wrapped to stamp each file: seen and settled, taken from the queue,
   decoded, recorded and moved. Then `--trickle` files dropped one at a time (each once the
   previous one has moved), the latency of a file that waits for no other.
3. **The readers alone** on the same files, each page as the agent renders it
   (`read_pages_from_bytes`, grayscale; rendering counted in every reader's time): pylibdmtx
   alone (`--pylibdmtx-timeout`), zxing-cpp alone (`read_barcodes`, defaults), the stack with
   its first pass only and no libdmtx, the stack without libdmtx, and the stack as `decode` and
   the inbox run it (`for_documents` of the configuration's `[decoder]`).

A code counts as found when its exact payload comes back. Markdown tables on stdout, progress
on stderr, everything in `--json FILE`. Numbers go to docs/benchmarks.md, "Batch decoding and
the watched folder (issue 16)".
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp
from PIL import Image
from pylibdmtx import pylibdmtx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.decode import machine as decode_machine
from decoders import DecodeOptions, Decoder, read_pages_from_bytes
from scanner_agent import cli, file_decoding
from scanner_agent.agent import Agent
from scanner_agent.config import Settings, load_settings
from scanner_agent.file_decoding import decode_options, for_documents
from scanner_agent.inbox import DONE, FAILED
from scanner_agent.parse_context import ParseContext
from tests.helpers import synthetic
from tests.helpers.pdfs import VectorCode, scanned_pdf, vector_pdf

ROOT = Path(__file__).resolve().parent.parent

# --- the morning's mail -------------------------------------------------------------------

RECIPE = (
    "scan300",
    "scan200",
    "card_jpeg",
    "scan300_p2",
    "photo_jpeg",
    "scan200",
    "vector",
    "scan300_two_codes",
    "card_png",
    "no_code_scan",
    "scan200_p2",
    "scan300",
    "photo_jpeg",
    "card_jpeg",
    "scan200_annex",
    "vector",
    "scan300",
    "no_code_photo",
    "scan200",
    "card_png",
)
"""One cycle of 20 files; `--files N` takes the cycle again from its start after 20."""


@dataclass(frozen=True, slots=True)
class Letter:
    name: str
    kind: str
    data: bytes
    payloads: list[bytes]
    pages: int


def _scan_pdf(pages: list[np.ndarray], dpi: int) -> bytes:
    """A4 pages generated at 300 dpi, stored as the printer's scan-to-folder at `dpi`."""
    images = []
    for page in pages:
        pixels = page
        if dpi != 300:
            h, w = page.shape
            size = (round(w * dpi / 300), round(h * dpi / 300))
            pixels = np.asarray(cv2.resize(page, size, interpolation=cv2.INTER_AREA))
        images.append(Image.fromarray(pixels))
    return scanned_pdf(images, dpi)


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _payload(rng: np.random.Generator, index: int) -> bytes:
    return synthetic.fixed_payload(rng) if index % 7 == 3 else synthetic.tagged_payload(rng)


def letter(index: int, seed: int) -> Letter:
    """File `index` of the mail (depends on (seed, index) only)."""
    kind = RECIPE[index % len(RECIPE)]
    rng = np.random.default_rng([seed, index])
    number = f"{index + 1:03d}"
    if kind.startswith("scan"):
        dpi = 300 if kind.startswith("scan300") else 200
        payloads = [_payload(rng, index)]
        if kind.endswith("two_codes"):
            payloads.append(synthetic.tagged_payload(rng))
        coded = synthetic.a4_shot(payloads, rng).image
        pages = [coded]
        if kind.endswith("_p2"):  # a cover letter, then the attestation
            pages = [synthetic.a4_shot([], rng).image, coded]
        elif kind.endswith("annex"):  # the attestation, then an annex
            pages = [coded, synthetic.a4_shot([], rng).image]
        return Letter(f"{number}-scan.pdf", kind, _scan_pdf(pages, dpi), payloads, len(pages))
    if kind == "no_code_scan":
        page = synthetic.a4_shot([], rng).image
        return Letter(f"{number}-scan.pdf", kind, _scan_pdf([page], 200), [], 1)
    if kind == "vector":
        payload = _payload(rng, index)
        module = float(rng.choice([0.3, 0.35, 0.4, 0.5]))
        x_mm, y_mm = float(rng.uniform(125, 160)), float(rng.uniform(20, 200))
        data = vector_pdf([[VectorCode(payload, x_mm, y_mm, module)]], seed=index)
        return Letter(f"{number}-attestation.pdf", kind, data, [payload], 1)
    if kind == "photo_jpeg":
        payload = _payload(rng, index)
        shot = synthetic.a4_uneven([payload], rng)
        return Letter(f"{number}-IMG.jpg", kind, _jpeg(shot.image, 85), [payload], 1)
    if kind in ("card_jpeg", "card_png"):
        payload = _payload(rng, index)
        light = ("clean", "mixed", "low_light", "shadow", "glare")[index % 5]
        shot = synthetic.uneven_frame(payload, light, rng)
        data = _jpeg(shot.image, 90) if kind == "card_jpeg" else _png(shot.image)
        suffix = "jpg" if kind == "card_jpeg" else "png"
        return Letter(f"{number}-carte.{suffix}", f"{kind} ({light})", data, [payload], 1)
    if kind == "no_code_photo":
        shot = synthetic.empty_frame("text", rng)
        return Letter(f"{number}-photo.jpg", kind, _jpeg(shot.image, 85), [], 1)
    raise ValueError(kind)


def morning_mail(files: int, seed: int) -> list[Letter]:
    out = []
    for index in range(files):
        out.append(letter(index, seed))
        if index % 10 == 9:
            print(f"  mail: {index + 1}/{files}", file=sys.stderr, flush=True)
    return out


def write_mail(mail: list[Letter], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in mail:
        (folder / item.name).write_bytes(item.data)


# --- statistics -----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values) if values else 0.0,
        "median": statistics.median(values) if values else 0.0,
        "p95": pct(values, 95),
        "max": max(values) if values else 0.0,
    }


def found(letter: Letter, read: list[bytes]) -> int:
    return sum(1 for p in letter.payloads if p in read)


def others(letter: Letter, read: list[bytes]) -> int:
    return sum(1 for b in set(read) if b not in letter.payloads)


# --- 1. the clerk's batch -------------------------------------------------------------------


@dataclass
class Clerk:
    status: int
    wall_s: float
    ms: dict[str, float]  # by file name: its decode_path call
    read: dict[str, list[bytes]]
    unreadable: dict[str, int]  # by file name: places seen and not read
    rows: int
    statuses: dict[str, int]


def clerk_in_process(folder: Path, out_csv: Path, config: Path) -> Clerk:
    """`scanner-agent decode FOLDER --csv FILE --config CONFIG` through `cli.main`, each file's
    `decode_path` timed (the command imports it from `file_decoding` when it runs)."""
    ms: dict[str, float] = {}
    read: dict[str, list[bytes]] = {}
    unreadable: dict[str, int] = {}
    real = file_decoding.decode_path

    def timed(path: Path, *args: Any, **kwargs: Any) -> file_decoding.FileReport:
        start = time.perf_counter()
        report = real(path, *args, **kwargs)
        ms[path.name] = (time.perf_counter() - start) * 1000
        read[path.name] = [base64.b64decode(c.payload_b64) for c in report.codes]
        unreadable[path.name] = len(report.unreadable)
        return report

    argv = ["decode", str(folder), "--csv", str(out_csv), "--config", str(config)]
    file_decoding.decode_path = timed  # type: ignore[assignment]
    try:
        lines, errors = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(lines), contextlib.redirect_stderr(errors):
            start = time.perf_counter()
            status = cli.main(argv)
            wall = time.perf_counter() - start
    finally:
        file_decoding.decode_path = real  # type: ignore[assignment]
    rows, statuses = read_csv(out_csv)
    return Clerk(status, wall, ms, read, unreadable, rows, statuses)


def read_csv(path: Path) -> tuple[int, dict[str, int]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=";"))
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return len(rows), statuses


def clerk_process(folder: Path, out_csv: Path, config: Path) -> tuple[int, float, int]:
    """The same command as a process of its own: (exit status, wall seconds, CSV rows)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from scanner_agent.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", code, "decode", str(folder), "--csv", str(out_csv),
            "--config", str(config)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)
    wall = time.perf_counter() - start
    rows, _ = read_csv(out_csv)
    return done.returncode, wall, rows


# --- 2. the watched folder ------------------------------------------------------------------


@dataclass
class Stamps:
    """Per file name, `time.monotonic()` of each step (the inbox's own clock)."""

    dropped: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    decode_ms: dict[str, float] = field(default_factory=dict)
    read: dict[str, list[bytes]] = field(default_factory=dict)
    moved: threading.Condition = field(default_factory=threading.Condition)


def watch_settings(data_dir: Path, watch: Path, settle_s: float, poll_s: float) -> Path:
    """The configuration file both the command and the agent read (the defaults, a throwaway
    data folder, the watched folder)."""
    config = data_dir.parent / "batch.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{data_dir.as_posix()}"\n\n'
        f'[inputs]\nwatch_dir = "{watch.as_posix()}"\nsettle_s = {settle_s}\npoll_s = {poll_s}\n',
        encoding="utf-8",
    )
    return config


def instrument(agent: Agent, stamps: Stamps) -> None:
    """Stamp each file's steps in the agent's inbox (its behaviour unchanged)."""
    inbox = agent.inbox
    assert inbox is not None
    real_ready, real_process = inbox._ready, inbox._process

    def ready(names: list[str]) -> list[str]:
        listed = time.monotonic()  # `names` is the listing just made
        for name in names:
            stamps.seen.setdefault(name, listed)
        out = real_ready(names)
        now = time.monotonic()
        for name in out:
            stamps.ready.setdefault(name, now)
        return out

    def process(path: Path) -> None:
        stamps.started.setdefault(path.name, time.monotonic())
        real_process(path)
        with stamps.moved:
            stamps.ended[path.name] = time.monotonic()
            stamps.moved.notify_all()

    inbox._ready = ready  # type: ignore[method-assign]
    inbox._process = process  # type: ignore[method-assign]


@contextlib.contextmanager
def timed_read_upload(stamps: Stamps) -> Any:
    real = file_decoding.read_upload

    def read_upload(data: bytes, filename: str, *args: Any, **kwargs: Any) -> Any:
        read = real(data, filename, *args, **kwargs)
        stamps.decode_ms[filename] = read.ms
        stamps.read[filename] = [s.data for s in read.symbols]
        return read

    file_decoding.read_upload = read_upload  # type: ignore[assignment]
    try:
        yield
    finally:
        file_decoding.read_upload = real  # type: ignore[assignment]


def drop(item: Letter, watch: Path, stamps: Stamps) -> None:
    hidden = watch / f".{item.name}.copying"
    hidden.write_bytes(item.data)
    at = time.monotonic()  # just before it appears
    os.replace(hidden, watch / item.name)
    stamps.dropped[item.name] = at


def wait_moved(stamps: Stamps, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with stamps.moved:
        while len(stamps.ended) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(stamps.ended)}/{count} files moved in {timeout:g} s")
            stamps.moved.wait(left)


def watched_folder(
    settings: Settings, context: ParseContext, mail: list[Letter], burst: bool, timeout: float
) -> tuple[Stamps, dict[str, int]]:
    """The agent started with its watched folder; `mail` dropped at once (`burst`) or one file
    at a time, each once the previous one has moved. The stamps, and what each folder holds."""
    watch = settings.path(settings.inputs.watch_dir)
    watch.mkdir(parents=True, exist_ok=True)
    stamps = Stamps()
    agent = Agent(settings)
    instrument(agent, stamps)
    with timed_read_upload(stamps):
        agent.start()
        try:
            time.sleep(max(0.3, 2 * settings.inputs.poll_s))  # the first (empty) listings
            for count, item in enumerate(mail, 1):
                drop(item, watch, stamps)
                if not burst:
                    wait_moved(stamps, count, timeout)
            wait_moved(stamps, len(mail), timeout)
        finally:
            agent.stop()
    folders = {
        name: sum(1 for p in (watch / name).iterdir() if not p.name.endswith(".json"))
        for name in (DONE, FAILED)
    }
    folders["left"] = sum(1 for p in watch.iterdir() if p.is_file())
    return stamps, folders


PHASES = ("listed", "settle", "queued", "decode", "record", "total")


def phases(stamps: Stamps, mail: list[Letter]) -> dict[str, list[float]]:
    """Per file, in ms: dropped → first listed → complete (settle_s, and the end of the look
    in progress) → taken (after the files before it), decoding, recording and moving, and the
    whole."""
    out: dict[str, list[float]] = {k: [] for k in PHASES}
    for item in mail:
        n = item.name
        run = (stamps.ended[n] - stamps.started[n]) * 1000
        out["listed"].append((stamps.seen[n] - stamps.dropped[n]) * 1000)
        out["settle"].append((stamps.ready[n] - stamps.seen[n]) * 1000)
        out["queued"].append((stamps.started[n] - stamps.ready[n]) * 1000)
        out["decode"].append(stamps.decode_ms[n])
        out["record"].append(run - stamps.decode_ms[n])
        out["total"].append((stamps.ended[n] - stamps.dropped[n]) * 1000)
    return out


# --- 3. the readers alone -------------------------------------------------------------------


Reader = Callable[[Letter], list[bytes]]


def pages(item: Letter, options: DecodeOptions) -> Any:
    return read_pages_from_bytes(item.data, item.name, options)


def pylibdmtx_alone(timeout_ms: int, options: DecodeOptions) -> Reader:
    def read(item: Letter) -> list[bytes]:
        out: list[bytes] = []
        for page in pages(item, options):
            out += [d.data for d in pylibdmtx.decode(page.image, timeout=timeout_ms)]
        return out

    return read


def zxing_alone(options: DecodeOptions) -> Reader:
    def read(item: Letter) -> list[bytes]:
        out: list[bytes] = []
        for page in pages(item, options):
            out += [r.bytes for r in zxingcpp.read_barcodes(page.image)]
        return out

    return read


def stack(options: DecodeOptions) -> Reader:
    decoder = Decoder(for_documents(options))

    def read(item: Letter) -> list[bytes]:
        return [s.data for page in pages(item, decoder.options) for s in page.read(decoder).symbols]

    return read


def readers(args: argparse.Namespace, options: DecodeOptions) -> list[tuple[str, Reader]]:
    out: list[tuple[str, Reader]] = []
    if not args.no_pylibdmtx:
        name = f"pylibdmtx alone (timeout {args.pylibdmtx_timeout} ms)"
        out.append((name, pylibdmtx_alone(args.pylibdmtx_timeout, options)))
    out += [
        ("zxing-cpp alone (`read_barcodes`)", zxing_alone(options)),
        ("stack, first pass only, no libdmtx", stack(
            DecodeOptions(passes=options.passes[:1], libdmtx=False))),
        ("stack without libdmtx", stack(DecodeOptions(passes=options.passes, libdmtx=False))),
        ("**stack, as `decode` and the inbox**", stack(options)),
    ]  # fmt: skip
    return out


def measure_reader(mail: list[Letter], reader: Reader) -> tuple[list[float], list[list[bytes]]]:
    times, reads = [], []
    for item in mail:
        start = time.perf_counter()
        read = reader(item)
        times.append((time.perf_counter() - start) * 1000)
        reads.append(read)
    return times, reads


# --- the run --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """benchmarks/decode.py's machine description, with pypdfium2 (PDFs are half the mail)."""
    return {**decode_machine(), "pypdfium2": version("pypdfium2")}


def _codes(mail: list[Letter], reads: dict[str, list[bytes]]) -> tuple[int, int]:
    hits = sum(found(m, reads.get(m.name, [])) for m in mail)
    false = sum(others(m, reads.get(m.name, [])) for m in mail)
    return hits, false


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40, help="files in the mail (default 40)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--settle", type=float, default=0.2, metavar="S", help="inbox settle_s")
    parser.add_argument("--poll", type=float, default=0.1, metavar="S", help="inbox poll_s")
    parser.add_argument(
        "--trickle", type=int, default=8, metavar="N", help="files dropped one at a time (0: none)"
    )
    parser.add_argument("--no-process", action="store_true", help="skip `decode` as a process")
    parser.add_argument("--no-pylibdmtx", action="store_true", help="skip pylibdmtx alone")
    parser.add_argument("--pylibdmtx-timeout", type=int, default=500, metavar="MS")
    parser.add_argument("--core", type=int, help="pin this process (and the agent) to one core")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    args = parser.parse_args()
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    started = time.perf_counter()
    print(f"building the mail ({args.files} files, seed {args.seed})...", file=sys.stderr)
    mail = morning_mail(args.files, args.seed)
    codes = sum(len(m.payloads) for m in mail)
    info = machine()
    pin = "not pinned" if args.core is None else f"pinned to core {args.core}"
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in info['load_average'])}; {pin}; Python {info['python']}, "
        f"zxing-cpp {info['zxing_cpp']}, pylibdmtx {info['pylibdmtx']}, OpenCV {info['opencv']}, "
        f"pypdfium2 {info['pypdfium2']}"
    )
    kinds: dict[str, int] = {}
    for m in mail:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    size = sum(len(m.data) for m in mail) / 1e6
    print(
        f"mail: {len(mail)} files ({size:.1f} MB, {sum(m.pages for m in mail)} pages), {codes} "
        f"codes, {sum(1 for m in mail if not m.payloads)} files without a code; "
        + ", ".join(f"{k} {n}" for k, n in kinds.items())
    )
    out: dict[str, Any] = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        base = Path(tmp)
        config = watch_settings(base / "data", base / "watch", args.settle, args.poll)
        settings = load_settings(config, env={})
        context = ParseContext.from_settings(settings)
        options = for_documents(decode_options(settings))
        folder = base / "mail"
        write_mail(mail, folder)
        # warm-up, not counted: the decoders' imports and first buffers, once for every path
        warm = letter(0, args.seed + 1)
        file_decoding.decode_upload(warm.data, warm.name, context, context.today(), options)

        print("clerk: decode --csv, in process...", file=sys.stderr, flush=True)
        clerk = clerk_in_process(folder, base / "matin.csv", config)
        process: tuple[int, float, int] | None = None
        if not args.no_process:
            print("clerk: decode --csv, as a process...", file=sys.stderr, flush=True)
            process = clerk_process(folder, base / "matin-process.csv", config)

        print("watched folder: all files at once...", file=sys.stderr, flush=True)
        timeout = 30 + 10 * len(mail)
        burst, folders = watched_folder(settings, context, mail, burst=True, timeout=timeout)
        trickle: Stamps | None = None
        if args.trickle:
            print(f"watched folder: {args.trickle} files one at a time...", file=sys.stderr)
            (base / "data").rename(base / "data-burst")
            (base / "watch").rename(base / "watch-burst")
            some = mail[: args.trickle]
            trickle, _ = watched_folder(settings, context, some, burst=False, timeout=timeout)

        print("the readers alone...", file=sys.stderr, flush=True)
        alone: dict[str, tuple[list[float], list[list[bytes]]]] = {}
        for name, reader in readers(args, options):
            t0 = time.perf_counter()
            alone[name] = measure_reader(mail, reader)
            print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    # --- tables ---
    n = len(mail)
    clerk_ms = [clerk.ms[m.name] for m in mail]
    clerk_hits, clerk_false = _codes(mail, clerk.read)
    burst_ph = phases(burst, mail)
    burst_s = max(burst.ended.values()) - min(burst.dropped.values())
    burst_hits, burst_false = _codes(mail, burst.read)
    print(f"\nThe batch: {n} files, {codes} codes (load average now {os.getloadavg()[0]:.2f})\n")
    print("| path | codes found | wall s | files/s | ms/file median | p95 | output |")
    print("|---|---:|---:|---:|---:|---:|---|")
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(clerk.statuses.items()))
    print(
        f"| clerk: `decode DIR --csv FILE`, in process | {clerk_hits}/{codes} | "
        f"{clerk.wall_s:.1f} | {n / clerk.wall_s:.2f} | {statistics.median(clerk_ms):.0f} | "
        f"{pct(clerk_ms, 95):.0f} | exit {clerk.status}, {clerk.rows} CSV rows ({statuses}) |"
    )
    if process is not None:
        status, wall, rows = process
        print(
            f"| clerk: the same as a process (start-up included) | - | {wall:.1f} | "
            f"{n / wall:.2f} | - | - | exit {status}, {rows} CSV rows |"
        )
    print(
        f"| watched folder, {n} files at once (settle {args.settle:g} s, poll {args.poll:g} s) | "
        f"{burst_hits}/{codes} | {burst_s:.1f} | {n / burst_s:.2f} | "
        f"{statistics.median(burst_ph['decode']):.0f} (decode) | {pct(burst_ph['decode'], 95):.0f}"
        f" | done {folders[DONE]}, failed {folders[FAILED]}, left {folders['left']} |"
    )
    tables = [("all at once", burst_ph)]
    if trickle is not None:
        some = mail[: len(trickle.ended)]
        tables.append((f"one at a time ({len(some)} files)", phases(trickle, some)))
    print("\nWatched folder, per file from its drop to its move, ms (min / median / p95 / max)\n")
    print("| drops | until listed | until complete (settle, look in progress) | waiting for the "
          "files before | decoding | recording and moving | total |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, ph in tables:
        cells = [
            f"{min(ph[k]):.0f} / {statistics.median(ph[k]):.0f} / {pct(ph[k], 95):.0f} / "
            f"{max(ph[k]):.0f}"
            for k in PHASES
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")

    print(f"\nThe readers alone on the same {n} files (page rendering included), ms per file\n")
    print("| reader | codes found | files with every code | other symbols | mean | median | p95 "
          "| max |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    report_alone: dict[str, Any] = {}
    for name, (times, reads) in alone.items():
        by_name = {m.name: r for m, r in zip(mail, reads, strict=True)}
        hits, false = _codes(mail, by_name)
        pairs = [(m, r) for m, r in zip(mail, reads, strict=True) if m.payloads]
        whole = sum(1 for m, r in pairs if found(m, r) == len(m.payloads))
        coded = len(pairs)
        s = summary(times)
        report_alone[name] = {"found": hits, "other": false, "files_whole": whole, **s}
        print(
            f"| {name} | {hits}/{codes} | {whole}/{coded} | {false} | {s['mean']:.0f} | "
            f"{s['median']:.0f} | {s['p95']:.0f} | {s['max']:.0f} |"
        )
    stack_name = list(alone)[-1]
    missed = [
        f"{m.name} ({m.kind})"
        for m, r in zip(mail, alone[stack_name][1], strict=True)
        if found(m, r) < len(m.payloads)
    ]
    print(f"\nmissed by the stack: {', '.join(missed) or 'none'}")
    seen = [f"{m.name} ({m.kind}, {'code read' if found(m, clerk.read[m.name]) else 'no code'}): "
            f"{clerk.unreadable[m.name]}" for m in mail if clerk.unreadable[m.name]]  # fmt: skip
    print(f"places seen and not read (the CSV's unreadable_code rows): {', '.join(seen) or 'none'}")
    print(f"inbox false symbols: {burst_false}; clerk false symbols: {clerk_false}")
    print(f"run: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    out.update(
        {
            "mail": {"files": n, "codes": codes, "kinds": kinds},
            "clerk": {"status": clerk.status, "wall_s": clerk.wall_s, "rows": clerk.rows,
                      "found": clerk_hits, "ms": summary(clerk_ms)},
            "process": process,
            "inbox": {"wall_s": burst_s, "found": burst_hits, "folders": folders,
                      "phases": {k: summary(v) for k, v in burst_ph.items()}},
            "readers": report_alone,
        }
    )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

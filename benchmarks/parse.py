"""Parses per second on one core, over a fixed mix of valid and invalid payloads.

    .venv/bin/python benchmarks/parse.py [--seconds 3]

Side by side in one run:
- `parse_payload` (the declarative layout engine, referential look-up, NIR check, validity);
- the same followed by the JSON the API and CLI send (`model_dump_json`);
- a hard-coded regex parser of the tagged layout alone, with no validation of values beyond the
  regex: the floor of what hard-coding the layout could buy, for comparison only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner_agent.layouts import load_layouts  # noqa: E402
from scanner_agent.parser import Stay, parse_payload  # noqa: E402
from scanner_agent.referential import Referential  # noqa: E402

GS = b"\x1d"


def corpus(n: int = 2000, seed: int = 7) -> list[bytes]:
    """A seeded mix: 60% valid (tagged GS, tagged |, fixed, lost separators), 40% refused."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for _ in range(n):
        amc = "".join(rng.choice("0123456789") for _ in range(rng.choice([8, 9, 10])))
        member = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(10))
        tc = ",".join(rng.sample(["MU", "SP", "IS", "DE", "PH"], rng.randint(0, 3)))
        fields = [f"AMC:{amc}", f"TC:{tc}", "CSR:A2", f"ADH:{member}", "DD:20260101", "DF:20261231"]
        rng.shuffle(fields)
        kind = rng.random()
        if kind < 0.25:
            out.append(b"]d1AMCTP01" + b"".join(GS + f.encode() for f in fields))
        elif kind < 0.40:
            out.append(b"AMCTP01" + b"".join(b"|" + f.encode() for f in fields))
        elif kind < 0.50:
            slots = "".join(c.ljust(3) for c in tc.split(",") if c).ljust(9)
            out.append(f"AMCTPF1{amc.rjust(10, '0')}{slots}A2 2026010120261231{member}".encode())
        elif kind < 0.60:
            out.append(b"AMCTP01" + "".join(fields).encode())
        elif kind < 0.70:
            out.append(
                b"AMCTP01" + b"".join(GS + f.encode() for f in fields).replace(b"2026", b"2O26")
            )
        elif kind < 0.80:
            out.append(b"]d2010340093000001917261231101234")
        elif kind < 0.90:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))))
        else:
            out.append(b"AMCTP01" + b"".join(GS + f.encode() for f in fields[:4]))
    return out


_NAIVE = re.compile(rb"(?:\]d1)?AMCTP01(?:[\x1d|](AMC|TC|CSR|ADH|DD|DF):([^\x1d|]*))+")
_NAIVE_FIELD = re.compile(rb"[\x1d|](AMC|TC|CSR|ADH|DD|DF):([^\x1d|]*)")


def naive_tagged(data: bytes) -> dict[bytes, bytes] | None:
    if not _NAIVE.fullmatch(data):
        return None
    return dict(_NAIVE_FIELD.findall(data))


def rate(fn, payloads: list[bytes], seconds: float) -> tuple[float, list[float]]:
    """Payloads per second (best of repeated passes) and per-pass rates."""
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 3:
        start = time.perf_counter()
        for p in payloads:
            fn(p)
        rates.append(len(payloads) / (time.perf_counter() - start))
    return max(rates), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    layouts = load_layouts([ROOT / "config" / "layouts"])
    ref = Referential.load(ROOT / "config" / "amc_referential.csv")
    at = date(2026, 3, 1)
    stay = Stay(date(2026, 3, 1), 5)
    payloads = corpus()
    results = [parse_payload(p, layouts, at, ref) for p in payloads]
    valid = sum(r.status == "valid" for r in results)

    def engine(p: bytes) -> object:
        return parse_payload(p, layouts, at, ref)

    def engine_stay_json(p: bytes) -> object:
        return parse_payload(p, layouts, at, ref, stay).model_dump_json()

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; pinned to one core"
    )
    print(f"corpus: {len(payloads)} payloads, {valid} well-formed, {len(payloads) - valid} refused")
    print(f"{'variant':<48}{'payloads/s (best)':>20}{'median':>12}")
    for name, fn in [
        ("parse_payload (layout engine)", engine),
        ("parse_payload + stay + JSON (API/CLI path)", engine_stay_json),
        ("hard-coded regex, tagged only, no validation", naive_tagged),
    ]:
        best, rates = rate(fn, payloads, args.seconds)
        print(f"{name:<48}{best:>20,.0f}{statistics.median(rates):>12,.0f}")


if __name__ == "__main__":
    main()

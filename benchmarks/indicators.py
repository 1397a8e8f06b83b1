"""Benchmark of the indicators (issue 15): what counting costs a scan, and what a report costs.

    .venv/bin/python benchmarks/indicators.py [--batches 40] [--rows 200000] [--core 1]

Two measures, each side by side with its alternative in the same run, on a throwaway SQLite
database (the default `encrypted` member numbers):

- **Writing.** `Store.add` of batches of 500 scans (the writer's batch), alternately without
  their indicators and with them in the same transaction (what the agent does): the cost per
  scan of counting. Batches of 500 are the writer's size under load; a quiet desk writes one
  scan per transaction, measured too (`--single` transactions each way).
- **Reading.** A table of `--rows` indicator rows spread over 52 weeks, 5 workstations, their
  devices, sources, decisions, reasons and AMCs (a year of a mid-sized hospital's admissions
  at `--rows 200000`), then for three reports (the default one over a week, weeks by decision
  over the year, days by decision and reason over a week):
  `Store.indicator_rows` (grouped by the database) + `aggregate` (what `/v1/indicators` and
  `scanner-agent report` do) against reading every row of the period and aggregating them in
  Python (the simple alternative). Both give the same report (checked).

Prints milliseconds (median of `--repeat` runs) and the machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner_agent.attestation import (  # noqa: E402
    Attestation,
    Reason,
    ReasonCode,
    Roc,
)
from scanner_agent.indicators import (  # noqa: E402
    Indicator,
    IndicatorCounter,
    IndicatorQuery,
    aggregate,
    iso_week,
    new_indicator_id,
)
from scanner_agent.scan import Scan  # noqa: E402
from scanner_agent.storage import MemberProtector, Store, Stored  # noqa: E402

DECISIONS = (
    ("covered", ()),
    ("covered", ()),
    ("covered", ()),
    ("check", ("amc_unknown",)),
    ("check", ("stay_partly_covered",)),
    ("not_covered", ("expired",)),
    ("refused", ("invalid_payload",)),
)
SOURCES = (("desk-1", "serial", "serial"), ("desk-2", "hid_pos", "hid"), ("kiosk", "camera",
           "camera"), ("upload", "upload", "upload"))  # fmt: skip
AMCS = tuple(f"{n:09d}" for n in range(775627391, 775627391 + 40 * 9973, 9973))


def _scan(rng: random.Random, at: datetime) -> Scan:
    decision, reasons = rng.choice(DECISIONS)
    attestation = Attestation(
        status="invalid" if decision == "refused" else "valid",
        amc_number=rng.choice(AMCS),
        member_number=f"{rng.randrange(10**9):09d}",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        roc=Roc(status=rng.choice(("roc", "hors_roc", "unknown"))),
        decision=decision,  # type: ignore[arg-type]
        reasons=[Reason(code=ReasonCode(r), message="-") for r in reasons],
    )
    device, kind, _source = rng.choice(SOURCES)
    return Scan(received_at=at, device_id=device, source=kind, attestation=attestation)  # type: ignore[arg-type]


def _store(folder: str, name: str) -> Store:
    store = Store(
        f"sqlite:///{folder}/{name}.db",
        MemberProtector("encrypted", base64.urlsafe_b64encode(os.urandom(32))),
    )
    store.ensure_schema()
    return store


def bench_write(folder: str, batches: int, single: int) -> None:
    rng = random.Random(15)
    counter = IndicatorCounter("PC-1", kinds={d: k for d, k, _ in SOURCES})
    store = _store(folder, "write")
    at = datetime(2026, 11, 23, 8, tzinfo=UTC)
    timings: dict[str, list[float]] = {"without": [], "with": []}
    singles: dict[str, list[float]] = {"without": [], "with": []}
    for n in range(batches * 2):
        counted = n % 2 == 1
        items = []
        for _ in range(500):
            scan = _scan(rng, at)
            items.append(Stored(1, n, scan, counter.of_scan(scan, 0.1) if counted else None))
        start = time.perf_counter()
        store.add(items)
        timings["with" if counted else "without"].append(time.perf_counter() - start)
    for n in range(single * 2):
        counted = n % 2 == 1
        scan = _scan(rng, at)
        item = Stored(2, n, scan, counter.of_scan(scan, 0.1) if counted else None)
        start = time.perf_counter()
        store.add([item])
        singles["with" if counted else "without"].append(time.perf_counter() - start)
    store.close()
    print(f"\nWriting scans (SQLite, {batches} batches of 500 and {single} single scans each way)")
    print(f"{'':32} {'batch of 500, ms':>18} {'per scan, ms':>14} {'one scan alone, ms':>20}")
    for name in ("without", "with"):
        batch = statistics.median(timings[name]) * 1000
        one = statistics.median(singles[name]) * 1000
        label = "scans only" if name == "without" else "scans + indicators (one tx)"
        print(f"{label:32} {batch:18.1f} {batch / 500:14.3f} {one:20.2f}")


def _rows(rng: random.Random, count: int, start: date) -> list[Indicator]:
    out = []
    workstations = [f"PC-{i}" for i in range(1, 6)]
    for _ in range(count):
        day = start + timedelta(days=rng.randrange(364))
        decision, reasons = rng.choice(DECISIONS)
        device, kind, source = rng.choice(SOURCES)
        out.append(
            Indicator(
                id=new_indicator_id(),
                kind="scan" if rng.random() > 0.02 else "unreadable",
                day=day,
                week=iso_week(day),
                workstation=rng.choice(workstations),
                device_id=device,
                device_kind=kind,
                source=source,
                decision=decision,
                reasons=reasons,
                roc_status=rng.choice(("roc", "hors_roc", "unknown")),
                amc_number=rng.choice(AMCS),
                errors=("bad_date",) if decision == "refused" else (),
                test=rng.random() < 0.01,
                decode_ms=rng.uniform(0.05, 40),
            )
        )
    return out


def bench_read(folder: str, rows: int, repeat: int) -> None:
    rng = random.Random(48)
    store = _store(folder, "read")
    start = date(2025, 12, 1)
    indicators = _rows(rng, rows, start)
    t0 = time.perf_counter()
    for part in range(0, len(indicators), 5000):
        store.add([], indicators[part : part + 5000])
    fill_s = time.perf_counter() - t0
    size = Path(f"{folder}/read.db").stat().st_size / 1e6
    print(f"\nReports over {rows} indicator rows (52 weeks, 5 workstations; filled in "
          f"{fill_s:.1f} s, {size:.0f} MB)")  # fmt: skip
    week = IndicatorQuery.week("2026-W10")
    queries = [
        ("one week, week+workstation+decision", week),
        (
            "the year, week+decision",
            IndicatorQuery.of(start, start + timedelta(days=363), "week,decision"),
        ),
        ("one week, day+decision+reason", IndicatorQuery.week("2026-W10", "day,decision,reason")),
    ]
    print(f"{'report':40} {'grouped by the database, ms':>28} {'every row to Python, ms':>24}")
    for label, query in queries:
        grouped: list[float] = []
        raw: list[float] = []
        for _ in range(repeat):
            t = time.perf_counter()
            a = aggregate(store.indicator_rows(query), query)
            grouped.append(time.perf_counter() - t)
            t = time.perf_counter()
            b = aggregate(_all_rows(store, query), query)
            raw.append(time.perf_counter() - t)
        _same(a.as_json(), b.as_json(), label)
        print(f"{label:40} {statistics.median(grouped) * 1000:28.1f} "
              f"{statistics.median(raw) * 1000:24.1f}")  # fmt: skip
    store.close()


def _same(a: dict[str, Any], b: dict[str, Any], label: str) -> None:
    """The two reports agree: the same groups and counts; means equal to the rounding (the
    database and Python add the times in different orders)."""
    assert len(a["rows"]) == len(b["rows"]), label
    for x, y in zip([*a["rows"], a["totals"]], [*b["rows"], b["totals"]], strict=True):
        mx, my = x.pop("decode_ms_mean"), y.pop("decode_ms_mean")
        assert x == y, (label, x, y)
        assert (mx is None) == (my is None) and abs((mx or 0) - (my or 0)) <= 0.002, label


def _all_rows(store: Store, query: IndicatorQuery) -> list[dict[str, object]]:
    """The alternative: every row of the period, as stored, aggregated in Python."""
    from sqlalchemy import select  # noqa: PLC0415

    from scanner_agent.storage.sql_store import IndicatorRecord  # noqa: PLC0415

    table = IndicatorRecord.__table__  # type: ignore[attr-defined]
    statement = select(table).where(table.c.day >= query.start, table.c.day <= query.end)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(statement).mappings()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--core", type=int, default=None, help="pin to this CPU core")
    args = parser.parse_args()
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    import sqlite3  # noqa: PLC0415

    machine = platform.processor() or platform.machine()
    print(f"{machine}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="scanner-agent-bench-") as folder:
        bench_write(folder, args.batches, args.single)
        bench_read(folder, args.rows, args.repeat)


if __name__ == "__main__":
    main()

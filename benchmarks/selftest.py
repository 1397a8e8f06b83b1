"""How long the self-test takes, level by level, and what the running agent's self-test saves.

    .venv/bin/python benchmarks/selftest.py [--runs 20] [--devices 3] [--seconds 2]

Side by side in one run:
- the internal level with no device, without and with the storage check (SQLite in a temporary
  folder), and the parts of it (loading layouts and referential, the test-card decode);
- `POST /v1/selftest`'s way (`live_report`: internal checks, then the running agent's device
  states) against the command's external level, which opens and reads each device for
  `--seconds` (here `--devices` demo scanners, read in parallel).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner_agent.agent import Agent  # noqa: E402
from scanner_agent.config import Settings  # noqa: E402
from scanner_agent.selftest import Options, live_report, run_selftest  # noqa: E402


def timed(function, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
          f"Python {platform.python_version()}")  # fmt: skip
    data = tempfile.mkdtemp(prefix="scanner-agent-bench-")
    base = {"agent": {"data_dir": data}, "storage": {"member_number": "plain"}}
    empty = Settings.model_validate(base)
    demos = Settings.model_validate(
        {**base, "devices": [{"id": f"demo{i}", "type": "demo", "interval_s": 0.5}
                             for i in range(args.devices)]}
    )  # fmt: skip
    rows = []
    run_selftest(empty, Options(level="internal", storage=False))  # imports, first decode
    for storage in (False, True):
        name = f"internal, {'with' if storage else 'no'} storage check"
        options = Options(level="internal", storage=storage)
        rows.append((name, *timed(lambda o=options: run_selftest(empty, o), args.runs)))
    agent = Agent(demos, storage=False)
    agent.start()
    try:
        time.sleep(1.0)
        rows.append((f"live_report (POST /v1/selftest), {args.devices} running devices", *timed(
            lambda: live_report(agent), args.runs)))  # fmt: skip
    finally:
        agent.stop()
    rows.append((f"external level, {args.devices} devices read {args.seconds:g} s", *timed(
        lambda: run_selftest(demos, Options(level="external", storage=False,
                                            seconds=args.seconds)), 3)))  # fmt: skip
    print(f"{'what':<62} {'median ms':>10} {'max ms':>10}")
    for name, median, worst in rows:
        print(f"{name:<62} {median:>10.1f} {worst:>10.1f}")


if __name__ == "__main__":
    main()

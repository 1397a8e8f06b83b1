"""`live_card_report`: the test-card step (interactive level) over the running agent, for
`POST /v1/selftest` with `{"device": ID, "level": "interactive"}`.

While the agent runs, its devices are open (a serial port exclusively): instead of opening the
device as `run_selftest`'s interactive level does, this watches the running pipeline for that
device's scans (`Pipeline.watch`: each scan with the frame it was read from, since the card's
codes are recognised by their bytes) until the card's attestations have all arrived, `seconds`
pass or `stop` is set (the client went away). What arrived is judged by the same test-card
checks as the command's (`testcard_checks.card_done`, `card_checks`); the report's
measurements add `card_codes`, each code of the card as the checks tell them apart
(`CARD_GROUPS`) with its outcome: `as_designed`, `wrong` or `missing`.

The scans are delivered as always: a test-card scan reaches a waiting desk or kiosk like any
scan. The card's AMC is the referential's test AMC, so each carries the reason
`test_attestation` and its indicator is marked `test` (left out of the reports).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scanner_agent.agent import NotRunning
from scanner_agent.framing import Frame
from scanner_agent.scan import DeviceStatus, Scan
from scanner_agent.selftest.device_reading import Observed
from scanner_agent.selftest.live import not_connected
from scanner_agent.selftest.options import selected_devices
from scanner_agent.selftest.report import (
    Check,
    DeviceReport,
    SelfTestReport,
    check,
    finish,
    whole_report,
)
from scanner_agent.selftest.testcard_checks import (
    card_checks,
    card_done,
    match_test_code,
    outcome_ok,
)
from scanner_agent.selftest.texts import Lang

log = logging.getLogger(__name__)

POLL_S = 0.2
"""How often the wait looks at `stop` while nothing arrives."""

CARD_GROUPS = ("tagged-050", "fixed-050", "gs1", "qr")
"""The card's codes as `match_test_code` tells them apart (it answers the first code of each
payload): the tagged attestations 1 to 4 (GS or `|` alike), the fixed ones 5 and 6, the GS1
code and the QR Code."""


def card_codes(scans: list[tuple[Frame, Scan]]) -> dict[str, str]:
    """Each of `CARD_GROUPS` with its outcome: `as_designed` (read, or refused, as designed),
    `wrong` (once at least) or `missing`."""
    outcome = dict.fromkeys(CARD_GROUPS, "missing")
    for frame, scan in scans:
        code = match_test_code(frame, scan)
        if code is None or outcome.get(code.key) == "wrong":
            continue
        outcome[code.key] = "as_designed" if outcome_ok(code, scan.attestation) else "wrong"
    return outcome


def live_card_report(
    agent: Any,
    device: str,
    seconds: float,
    *,
    stop: threading.Event | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    lang: Lang = "en",
) -> SelfTestReport:
    """Wait at most `seconds` for `device`'s scans of the test card on the running agent and
    judge them (level `interactive`; messages and fixes in `lang`). Raises `ConfigError` for an
    unknown device and `NotRunning` when the agent is not running."""
    (config,) = selected_devices(agent.settings, device)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    report = DeviceReport(device_id=config.id, type=config.type)
    if not config.enabled:
        report.checks.append(check("device_disabled", "pass", "device_disabled"))
        return whole_report("interactive", started, clock, [], [report]).in_language(lang)
    pipeline = agent.pipeline
    if pipeline is None:
        raise NotRunning("the agent is not running")
    seen = Observed()
    with pipeline.watch(config.id) as watch:
        log.info("test-card step of %s: waiting at most %g s", config.id, seconds)
        start = monotonic()
        deadline = start + seconds
        while stop is None or not stop.is_set():
            left = deadline - monotonic()
            if left <= 0:
                break
            got = watch.get(min(left, POLL_S))
            if got is None:
                continue
            seen.chunks += 1
            seen.scans.append(got)
            if seen.first_code_s is None:
                seen.first_code_s = monotonic() - start
            if card_done(seen.scans):
                seen.complete_s = monotonic() - start
                break
        seen.elapsed_s = monotonic() - start
    ended = "stopped" if stop is not None and stop.is_set() else "done"
    log.info("test-card step of %s: %s after %.1f s", config.id, ended, seen.elapsed_s)
    if seen.scans:
        checks, measured = card_checks(seen, seconds)
        report.checks.extend(checks)
        report.measurements.update(measured)
    else:
        report.checks.extend(_nothing_read(seconds, agent.device(config.id)))
        report.measurements["codes"] = 0
    report.measurements["seconds"] = seconds
    report.measurements["card_codes"] = card_codes(seen.scans)
    return whole_report("interactive", started, clock, [], [finish(report)]).in_language(lang)


def _nothing_read(seconds: float, status: DeviceStatus | None) -> list[Check]:
    """Nothing arrived: `no_data`, and why when the device is not connected."""
    out = [check("no_data", "fail", "no_data.interactive", seconds=seconds)]
    if status is not None and status.state != "connected":
        out.append(not_connected(status))
    return out

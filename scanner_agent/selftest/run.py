"""`run_selftest`: the self-test of a configuration whose devices are not open (the agent not
running), as `scanner-agent selftest` runs it.

The agent's checks first, then one report per device (`device_report`): its presence and
permissions, and above the internal level the device opened and read, its traffic, camera
and test-card checks. Devices are tested in parallel, one at a time at the interactive
level (the operator scans one device after the other); a bug while testing one device
fails that device only.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from decoders.base import Reading
from scanner_agent.config import CameraDevice, DeviceConfig, Settings
from scanner_agent.framing import Frame
from scanner_agent.inventory import take_inventory
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.selftest.agent_checks import agent_checks
from scanner_agent.selftest.camera_checks import FrameProbe, camera_checks, camera_decoder
from scanner_agent.selftest.device_presence import open_failure, static_checks
from scanner_agent.selftest.device_reading import read_device
from scanner_agent.selftest.options import Options, selected_devices
from scanner_agent.selftest.report import DeviceReport, SelfTestReport, check, finish, whole_report
from scanner_agent.selftest.testcard_checks import card_checks, card_done
from scanner_agent.selftest.texts import render_message
from scanner_agent.selftest.traffic_checks import traffic_checks

_NOT_OPENED = ("device_not_found", "permission_denied", "keyboard_collection_exclusive")
"""Checks after which the device is not opened: it is not there, may not be opened, or would
read nothing (a keyboard collection through hidapi on Windows)."""


def device_report(
    config: DeviceConfig,
    settings: Settings,
    context: ParseContext | None,
    options: Options,
    inventory: Any | None = None,
) -> DeviceReport:
    report = DeviceReport(device_id=config.id, type=config.type)
    if not config.enabled:
        report.checks.append(check("device_disabled", "pass", "device_disabled"))
        return report
    report.checks.extend(static_checks(config, options, inventory))
    if options.level == "internal" or context is None:
        return finish(report)
    if any(c.code in _NOT_OPENED for c in report.checks):
        return finish(report)
    probe = FrameProbe(camera_decoder(settings)) if isinstance(config, CameraDevice) else None
    try:
        setup = options.factory(config, probe if probe is not None else _no_decode)
    except Exception as exc:
        report.checks.append(open_failure(exc))
        return finish(report)
    interactive = options.level == "interactive"
    seconds = options.read_seconds()

    def ready() -> None:
        if interactive:
            options.prompt(
                render_message(
                    "prompt.scan_card", options.lang, {"device": config.id, "seconds": seconds}
                )
            )

    try:
        seen = read_device(
            config, setup, context, options, seconds, card_done if interactive else _never, ready
        )
    except Exception as exc:
        report.checks.append(open_failure(exc))
        return finish(report)
    report.checks.append(check("opened", "pass", "opened", description=setup.driver.description))
    report.measurements["read_s"] = round(seen.elapsed_s, 3)
    report.measurements["codes"] = len(seen.scans)
    if probe is not None and isinstance(config, CameraDevice):
        counts = setup.frame_counts() if setup.frame_counts is not None else None
        checks, measured = camera_checks(config, probe, seen, counts)
        report.checks.extend(checks)
        report.measurements.update(measured)
    report.checks.extend(traffic_checks(config, seen, interactive))
    if interactive:
        checks, measured = card_checks(seen, seconds)
        report.checks.extend(checks)
        report.measurements.update(measured)
    return finish(report)


def _guarded(
    config: DeviceConfig,
    settings: Settings,
    context: ParseContext | None,
    options: Options,
    inventory: Any | None,
) -> DeviceReport:
    """A device's report; a bug in testing one device fails that device, not the self-test."""
    try:
        return device_report(config, settings, context, options, inventory)
    except Exception as exc:
        report = DeviceReport(device_id=config.id, type=config.type)
        error = f"{type(exc).__name__}: {exc}"
        report.checks.append(check("device_error", "fail", "device_error.selftest", error=error))
        return finish(report)


def _no_decode(frame: Any) -> Reading:  # pragma: no cover - only cameras decode
    return Reading([])


def _never(scans: list[tuple[Frame, Scan]]) -> bool:
    return False


def run_selftest(settings: Settings, options: Options | None = None) -> SelfTestReport:
    """The self-test of a configuration whose devices are not open (the agent not running)."""
    options = options or Options()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    devices = selected_devices(settings, options.device)
    checks, context = agent_checks(settings, options)
    inventory = None
    with contextlib.suppress(Exception):  # discovery is advice; a broken enumeration is not fatal
        inventory = take_inventory(settings, options.discovery)
    if options.level == "interactive":
        reports = [_guarded(d, settings, context, options, inventory) for d in devices]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(devices)))) as pool:
            reports = list(
                pool.map(lambda d: _guarded(d, settings, context, options, inventory), devices)
            )
    return whole_report(options.level, started, clock, checks, reports).in_language(options.lang)

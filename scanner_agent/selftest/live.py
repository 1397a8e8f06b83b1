"""`live_report`: the self-test of a running agent (`POST /v1/selftest`).

While the agent runs, its devices are open (a serial port exclusively): this does not
reopen them. The agent's checks run as at the internal level; each device is reported
from the agent's own state, last error, counters and diagnostics, and nothing that would
have to be opened is measured (a camera's frame rate: `not_measured_live`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scanner_agent.config import CameraDevice, DeviceConfig, HidKeyboardDevice, Settings
from scanner_agent.errors import DeviceError
from scanner_agent.pipeline import KEYBOARD_LAYOUT_MISMATCH
from scanner_agent.scan import DeviceStatus
from scanner_agent.selftest.agent_checks import agent_checks
from scanner_agent.selftest.device_presence import keyboard_checks, open_failure
from scanner_agent.selftest.options import Options, selected_devices
from scanner_agent.selftest.report import (
    Check,
    DeviceReport,
    SelfTestReport,
    Verdict,
    check,
    finish,
    whole_report,
)
from scanner_agent.selftest.texts import Lang
from scanner_agent.selftest.traffic_checks import layout_mismatch


def live_report(
    agent: Any,
    *,
    device: str | None = None,
    storage_check: Callable[[], Check] | None = None,
    options: Options | None = None,
    lang: Lang = "en",
) -> SelfTestReport:
    """The self-test of a running agent (`POST /v1/selftest`): internal checks, then each
    device from the agent's live state, last error, counters and diagnostics, without reopening
    what the agent holds. Level `external`: the devices were opened (by the agent). Messages
    and fixes in `lang`."""
    options = options or Options(level="external", storage=False)
    settings: Settings = agent.settings
    started = datetime.now(UTC)
    clock = time.perf_counter()
    configs = selected_devices(settings, device)
    phase = agent.rollout_status()
    checks, _ = agent_checks(
        settings,
        options,
        storage_check,
        rollout=agent.context.rollout,
        rollout_error=phase.error,
    )
    reports = []
    for config in configs:
        report = DeviceReport(device_id=config.id, type=config.type)
        status: DeviceStatus | None = agent.device(config.id)
        if not config.enabled:
            report.checks.append(check("device_disabled", "pass", "device_disabled.live"))
            reports.append(report)
            continue
        report.checks.extend(_live_checks(config, status, options.discovery.platform))
        if status is not None:
            report.measurements = {
                "state": status.state,
                **status.counters.model_dump(mode="json"),
            }
        reports.append(finish(report))
    return whole_report("external", started, clock, checks, reports).in_language(lang)


def _live_checks(config: DeviceConfig, status: DeviceStatus | None, platform: str) -> list[Check]:
    out: list[Check] = []
    if status is None or status.state in ("stopped", "starting"):
        state = status.state if status else "unknown"
        verdict: Verdict = "warn" if state == "starting" else "fail"
        out.append(check("device_error", verdict, "device_error.state", state=state))
        return out
    if status.state == "connected":
        out.append(check("live_state", "pass", "live_state", description=status.description))
    else:
        out.append(not_connected(status))
    counters = status.counters
    if counters.last_seen is None:
        out.append(check("no_data", "pass", "no_data.live"))
    else:
        out.append(
            check(
                "codes_read",
                "pass",
                "codes_read.live",
                well_formed=counters.good_scans,
                refused=counters.refused_scans,
            )
        )
    if counters.frames_dropped:
        out.append(
            check("frames_dropped", "warn", "frames_dropped.live", count=counters.frames_dropped)
        )
    for diagnostic in status.diagnostics:
        if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
            out.append(layout_mismatch(diagnostic.message))
    if isinstance(config, HidKeyboardDevice):
        out.extend(keyboard_checks(config, platform, live=True))
    if isinstance(config, CameraDevice):
        out.append(check("not_measured_live", "pass", "not_measured_live"))
    return out


def not_connected(status: DeviceStatus) -> Check:
    """Why a device the agent runs is not connected: its last error as the opening checks say
    it (`device_not_found`, `permission_denied`...), else its state."""
    if status.last_error is not None:
        error = DeviceError(status.last_error.message)
        error.code = status.last_error.code
        return open_failure(error)
    return check("device_error", "fail", "device_error.state", state=status.state)

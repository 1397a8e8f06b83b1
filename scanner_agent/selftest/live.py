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
from scanner_agent.selftest.device_presence import open_failure
from scanner_agent.selftest.options import Options, selected_devices
from scanner_agent.selftest.report import (
    Check,
    DeviceReport,
    SelfTestReport,
    check,
    finish,
    whole_report,
)


def live_report(
    agent: Any,
    *,
    device: str | None = None,
    storage_check: Callable[[], Check] | None = None,
    options: Options | None = None,
) -> SelfTestReport:
    """The self-test of a running agent (`POST /v1/selftest`): internal checks, then each
    device from the agent's live state, last error, counters and diagnostics, without reopening
    what the agent holds. Level `external`: the devices were opened (by the agent)."""
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
            report.checks.append(check("device_disabled", "pass", "disabled in the configuration"))
            reports.append(report)
            continue
        report.checks.extend(_live_checks(config, status))
        if status is not None:
            report.measurements = {
                "state": status.state,
                **status.counters.model_dump(mode="json"),
            }
        reports.append(finish(report))
    return whole_report("external", started, clock, checks, reports)


def _live_checks(config: DeviceConfig, status: DeviceStatus | None) -> list[Check]:
    out: list[Check] = []
    if status is None or status.state in ("stopped", "starting"):
        state = status.state if status else "unknown"
        out.append(
            check(
                "device_error", "warn" if state == "starting" else "fail", f"the device is {state}"
            )
        )
        return out
    if status.state == "connected":
        out.append(check("live_state", "pass", f"held open by the agent: {status.description}"))
    elif status.last_error is not None:
        out.append(open_failure(_as_error(status.last_error.code, status.last_error.message)))
    else:
        out.append(check("device_error", "fail", f"the device is {status.state}"))
    counters = status.counters
    if counters.last_seen is None:
        out.append(check("no_data", "pass", "nothing scanned since the agent started"))
    else:
        out.append(
            check(
                "codes_read",
                "pass",
                f"{counters.good_scans} well-formed, {counters.refused_scans} refused since the "
                "agent started",
            )
        )
    if counters.frames_dropped:
        out.append(check("frames_dropped", "warn", f"{counters.frames_dropped} frame(s) dropped"))
    for diagnostic in status.diagnostics:
        if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
            out.append(check("keyboard_layout_mismatch", "warn", diagnostic.message))
    if isinstance(config, HidKeyboardDevice):
        out.append(
            check(
                "keyboard_mode",
                "warn",
                f"the scanner is read in keyboard mode (layout {config.layout!r})",
            )
        )
    if isinstance(config, CameraDevice):
        out.append(
            check(
                "not_measured_live",
                "pass",
                "the frame rate and decode time are measured by `scanner-agent selftest` with the "
                "agent stopped (the running agent holds the camera)",
            )
        )
    return out


def _as_error(code: str, message: str) -> DeviceError:
    error = DeviceError(message)
    error.code = code
    return error

"""The self-test report: verdicts, checks, device reports, and how verdicts combine.

A `Check` has a stable `code` (one of `reasons.CHECKS`), a `verdict` (pass, warn, fail), a
`message` and a `fix`; build one with `check(code, verdict, message)`, which fills in the
generic fix. A `DeviceReport` gathers one device's checks and measurements; a
`SelfTestReport` (the JSON of `scanner-agent selftest --json` and of `POST /v1/selftest`)
the agent's checks and the devices', with the worst verdict of all and an exit status.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from scanner_agent.errors import ConfigError
from scanner_agent.selftest.reasons import CHECKS

Verdict = Literal["pass", "warn", "fail"]
Level = Literal["internal", "external", "interactive"]
LEVELS: tuple[Level, ...] = ("internal", "external", "interactive")
_RANK = {"pass": 0, "warn": 1, "fail": 2}

EXIT_STATUS = {"pass": 0, "warn": 1, "fail": 2}


class Check(BaseModel):
    code: str
    verdict: Verdict
    message: str
    fix: str = ""


class DeviceReport(BaseModel):
    device_id: str
    type: str
    verdict: Verdict = "pass"
    checks: list[Check] = Field(default_factory=list)
    measurements: dict[str, Any] = Field(default_factory=dict)


class SelfTestReport(BaseModel):
    verdict: Verdict
    level: Level
    started_at: datetime
    duration_ms: float
    checks: list[Check] = Field(default_factory=list)
    devices: list[DeviceReport] = Field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.verdict]


def worst(verdicts: Iterable[str]) -> Verdict:
    result: Verdict = "pass"
    for v in verdicts:
        if _RANK[v] > _RANK[result]:
            result = v  # type: ignore[assignment]
    return result


def check(code: str, verdict: Verdict, message: str, fix: str | None = None) -> Check:
    """A check; its fix is the generic one of `CHECKS` unless a more precise one is given."""
    if code not in CHECKS:  # pragma: no cover - a programming error
        raise KeyError(f"unknown self-test check code {code!r}")
    return Check(
        code=code,
        verdict=verdict,
        message=message,
        fix="" if verdict == "pass" else (fix or CHECKS[code]),
    )


def finish(device: DeviceReport) -> DeviceReport:
    """The device report with its verdict: the worst of its checks'."""
    device.verdict = worst(c.verdict for c in device.checks)
    return device


def failed_config_report(exc: ConfigError, level: Level) -> SelfTestReport:
    """The report when the configuration itself cannot be read."""
    return SelfTestReport(
        verdict="fail",
        level=level,
        started_at=datetime.now(UTC),
        duration_ms=0.0,
        checks=[check("config_invalid", "fail", str(exc))],
    )


def whole_report(
    level: Level, started: datetime, clock: float, checks: list[Check], devices: list[DeviceReport]
) -> SelfTestReport:
    """The whole report: the agent's checks and the devices', the worst verdict of all."""
    verdict = worst([c.verdict for c in checks] + [d.verdict for d in devices])
    return SelfTestReport(
        verdict=verdict,
        level=level,
        started_at=started,
        duration_ms=round((time.perf_counter() - clock) * 1000, 1),
        checks=checks,
        devices=devices,
    )

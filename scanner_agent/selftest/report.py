"""The self-test report: verdicts, checks, device reports, and how verdicts combine.

A `Check` has a stable `code` (one of `reasons.CHECKS`), a `verdict` (pass, warn, fail), a
`message`, a `fix` and the `params` both are made of. Build one with
`check(code, verdict, message_id, fix_id=None, **params)`: the message is the template
`message_id` of the catalogue (`texts.MESSAGES`), the fix the template `fix_id` (`texts.FIXES`)
or else the code's generic fix (`reasons.CHECKS`), both rendered in English; the check keeps
its ids, so `Check.in_language("fr")` renders it again in French. A `DeviceReport` gathers one
device's checks and measurements; a `SelfTestReport` (the JSON of `scanner-agent selftest
--json` and of `POST /v1/selftest`) the agent's checks and the devices', in one language
(`lang`, `SelfTestReport.in_language`), with the worst verdict of all and an exit status
(0 pass, 1 warn or fail, 2 a configuration that cannot be read).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from scanner_agent.errors import ConfigError
from scanner_agent.selftest.reasons import CHECKS
from scanner_agent.selftest.texts import Lang, Params, generic_fix, render_fix, render_message

Verdict = Literal["pass", "warn", "fail"]
Level = Literal["internal", "external", "interactive"]
LEVELS: tuple[Level, ...] = ("internal", "external", "interactive")
_RANK = {"pass": 0, "warn": 1, "fail": 2}

EXIT_STATUS = {"pass": 0, "warn": 1, "fail": 1}
"""The command's exit status by verdict; a configuration that cannot be read is 2
(`CONFIG_INVALID_STATUS`), as a usage error."""
CONFIG_INVALID_STATUS = 2


class Check(BaseModel):
    code: str
    verdict: Verdict
    message: str
    fix: str = ""
    params: Params = Field(default_factory=dict)
    """What the message and the fix are made of (numbers, paths, a device's description, an
    error's text), whatever the language."""

    _message_id: str | None = PrivateAttr(default=None)
    _fix_id: str | None = PrivateAttr(default=None)

    def in_language(self, lang: Lang) -> Check:
        """This check with its message and fix in `lang` (unchanged if it was not made from
        the catalogue)."""
        if self._message_id is None:
            return self
        return _made(self.code, self.verdict, self._message_id, self._fix_id, self.params, lang)


class DeviceReport(BaseModel):
    device_id: str
    type: str
    verdict: Verdict = "pass"
    checks: list[Check] = Field(default_factory=list)
    measurements: dict[str, Any] = Field(default_factory=dict)


class SelfTestReport(BaseModel):
    verdict: Verdict
    level: Level
    lang: Lang = "en"
    """The language of every check's `message` and `fix`; codes are the same in both."""
    started_at: datetime
    duration_ms: float
    checks: list[Check] = Field(default_factory=list)
    devices: list[DeviceReport] = Field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if any(c.code == "config_invalid" for c in self.checks):
            return CONFIG_INVALID_STATUS
        return EXIT_STATUS[self.verdict]

    def in_language(self, lang: Lang) -> SelfTestReport:
        """The same report with every message and fix in `lang`."""
        devices = [
            d.model_copy(update={"checks": [c.in_language(lang) for c in d.checks]})
            for d in self.devices
        ]
        checks = [c.in_language(lang) for c in self.checks]
        return self.model_copy(update={"lang": lang, "checks": checks, "devices": devices})


def worst(verdicts: Iterable[str]) -> Verdict:
    result: Verdict = "pass"
    for v in verdicts:
        if _RANK[v] > _RANK[result]:
            result = v  # type: ignore[assignment]
    return result


def check(
    code: str,
    verdict: Verdict,
    message_id: str,
    fix_id: str | None = None,
    /,
    **params: str | int | float,
) -> Check:
    """A check, in English: its message is the catalogue's `message_id` with `params`; its fix
    (when it does not pass) the catalogue's `fix_id` with the same `params`, or else the
    generic fix of `code`. KeyError for an unknown code, id or parameter (a programming
    error)."""
    if code not in CHECKS:  # pragma: no cover - a programming error
        raise KeyError(f"unknown self-test check code {code!r}")
    return _made(code, verdict, message_id, fix_id, params, "en")


def _made(
    code: str,
    verdict: Verdict,
    message_id: str,
    fix_id: str | None,
    params: Params,
    lang: Lang,
) -> Check:
    if verdict == "pass":
        fix = ""
    elif fix_id is not None:
        fix = render_fix(fix_id, lang, params)
    else:
        fix = generic_fix(code, lang)
    made = Check(
        code=code,
        verdict=verdict,
        message=render_message(message_id, lang, params),
        fix=fix,
        params=dict(params),
    )
    made._message_id = message_id
    made._fix_id = fix_id
    return made


def finish(device: DeviceReport) -> DeviceReport:
    """The device report with its verdict: the worst of its checks'."""
    device.verdict = worst(c.verdict for c in device.checks)
    return device


def failed_config_report(exc: ConfigError, level: Level, lang: Lang = "en") -> SelfTestReport:
    """The report when the configuration itself cannot be read."""
    return SelfTestReport(
        verdict="fail",
        level=level,
        started_at=datetime.now(UTC),
        duration_ms=0.0,
        checks=[check("config_invalid", "fail", "config_invalid", error=str(exc))],
    ).in_language(lang)


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

"""How a self-test runs (`Options`) and which configured devices it tests.

Everything with a side effect is injectable: how a device's driver is built (`factory`),
how devices are discovered and their nodes checked (`discovery`), the operator's prompt,
today's date and the clock. Tests pass fakes; the command passes the defaults.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from scanner_agent.config import DeviceConfig, Settings
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.errors import ConfigError
from scanner_agent.inventory import Discovery
from scanner_agent.selftest.report import Level
from scanner_agent.selftest.texts import Lang

if TYPE_CHECKING:
    from decoders.base import Reading

Prompt = Callable[[str], None]
DecodeFunction = Callable[[Any], "Reading"]
"""A camera frame's reader (`Decoder.read`)."""
SelfTestFactory = Callable[[DeviceConfig, DecodeFunction], DriverSetup]


def default_factory(config: DeviceConfig, decode: DecodeFunction) -> DriverSetup:
    return build_driver(config, decode=decode)


@dataclass
class Options:
    """How the self-test runs; everything with a side effect is injectable."""

    level: Level = "external"
    device: str | None = None
    seconds: float | None = None
    """How long each device is read: default 2 s (external), 60 s (interactive)."""
    prompt: Prompt = lambda message: None
    factory: SelfTestFactory = default_factory
    discovery: Discovery = field(default_factory=Discovery)
    today: Callable[[], date] = date.today
    monotonic: Callable[[], float] = time.monotonic
    storage: bool = True
    """Check that the storage is reachable (opens the database)."""
    lang: Lang = "en"
    """The language of the report's messages and fixes, and of the prompt."""

    def read_seconds(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return INTERACTIVE_S if self.level == "interactive" else EXTERNAL_S


EXTERNAL_S = 2.0
"""How long each device is read at the external level, unless asked otherwise."""
INTERACTIVE_S = 60.0
"""How long the operator has to scan the test card on a device (the command's --interactive, the
API's and the operator page's test-card step), unless asked otherwise."""


def selected_devices(settings: Settings, device: str | None) -> list[DeviceConfig]:
    """The configured devices to test: all, or the one whose id is `device` (else ConfigError)."""
    if device is None:
        return list(settings.devices)
    found = [d for d in settings.devices if d.id == device]
    if not found:
        known = ", ".join(d.id for d in settings.devices) or "none"
        raise ConfigError(f"no device {device!r} in the configuration (known: {known})")
    return found

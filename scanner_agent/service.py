"""The running agent: settings, parse context, the event bus and the devices, in one object.

The API's lifespan and the `serve` command build one `Agent`, `start()` it and `stop()` it.
Everything that consumes scans subscribes to `agent.bus`.
"""

from __future__ import annotations

import threading

from scanner_agent.bus import EventBus
from scanner_agent.config import Settings
from scanner_agent.runtime import ParseContext
from scanner_agent.scan import DeviceStatus


class Agent:
    """Owns the bus and the device readers. Thread-safe to query while running."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus | None = None,
        context: ParseContext | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        self.context = context or ParseContext.from_settings(settings)
        self._lock = threading.Lock()
        self._statuses: dict[str, DeviceStatus] = {
            d.id: DeviceStatus(id=d.id, type=d.type, state="stopped") for d in settings.devices
        }
        self.running = False

    def start(self) -> None:
        """Start every enabled device's reader. Device readers arrive with issue 4."""
        self.running = True

    def stop(self) -> None:
        self.running = False

    def devices(self) -> list[DeviceStatus]:
        with self._lock:
            return [s.model_copy(deep=True) for s in self._statuses.values()]

    def device(self, device_id: str) -> DeviceStatus | None:
        with self._lock:
            status = self._statuses.get(device_id)
            return status.model_copy(deep=True) if status else None

"""The running agent (`Agent`): settings, parse context, the event bus and the devices, in one
object.

The API's lifespan and the `serve` command build one `Agent`, `start()` it and `stop()` it.
Everything that consumes scans subscribes to `agent.bus`.

    agent = Agent(settings)
    sub = agent.bus.subscribe("console")
    agent.start()                 # one reader thread per enabled device, and the pipeline
    agent.devices()               # [DeviceStatus(...)], state, last error, counters
    agent.stop()                  # readers stopped, queued frames processed
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from scanner_agent.bus import EventBus
from scanner_agent.config import Settings
from scanner_agent.devices import DeviceManager, DriverFactory, build_driver
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import DeviceStates, Pipeline
from scanner_agent.scan import DeviceStatus


class Agent:
    """Owns the bus and the device readers. Thread-safe to query while running.

    `driver_factory` (how a device configuration becomes a driver and framer) and `today` (the
    reference date of validity) are injectable, for tests and tools.
    """

    def __init__(
        self,
        settings: Settings,
        bus: EventBus | None = None,
        context: ParseContext | None = None,
        *,
        driver_factory: DriverFactory = build_driver,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        self.context = context or ParseContext.from_settings(settings)
        self._lock = threading.Lock()
        self._statuses: dict[str, DeviceStatus] = {
            d.id: DeviceStatus(
                id=d.id, type=d.type, state="stopped", description="" if d.enabled else "disabled"
            )
            for d in settings.devices
        }
        self.states = DeviceStates(self.bus, self._statuses.values())
        self._driver_factory = driver_factory
        self._today = today
        self.pipeline: Pipeline | None = None
        self._manager: DeviceManager | None = None
        self.running = False

    def start(self) -> None:
        """Start the pipeline and every enabled device's reader. Returns at once: devices
        connect in the background (watch `devices()` or the bus's DeviceEvents)."""
        with self._lock:
            if self.running:
                return
            p = self.settings.pipeline
            self.pipeline = Pipeline(
                self.context,
                self.bus,
                self.states,
                duplicate_window_s=p.duplicate_window_s,
                queue_size=p.queue_size,
                today=self._today,
            )
            self.pipeline.start()
            self._manager = DeviceManager(
                self.settings.devices,
                self.pipeline,
                self.states,
                driver_factory=self._driver_factory,
                backoff_min_s=p.reconnect_min_s,
                backoff_max_s=max(p.reconnect_max_s, p.reconnect_min_s),
            )
            self._manager.start()
            self.running = True

    def stop(self) -> None:
        """Stop every reader (each flushes what its framer held), then the pipeline."""
        with self._lock:
            manager, self._manager = self._manager, None
            pipeline, self.pipeline = self.pipeline, None
            self.running = False
        if manager is not None:
            manager.stop()
        if pipeline is not None:
            pipeline.stop()

    def devices(self) -> list[DeviceStatus]:
        return self.states.all()

    def device(self, device_id: str) -> DeviceStatus | None:
        return self.states.get(device_id)

"""The running agent (`Agent`): settings, parse context, the event bus, the scans service and
the devices, in one object.

The API's lifespan and the `serve` and `run` commands build one `Agent`, `start()` it and
`stop()` it. Every scan enters `agent.scans` (the scans service: memory window, storage,
erasure), which then publishes it on `agent.bus`; device changes are published on the bus.

    agent = Agent(settings)       # storage=False: scans kept in memory only (`watch`)
    sub = agent.bus.subscribe("console")
    agent.start()                 # scans service, pipeline, one reader thread per device
    agent.devices()               # [DeviceStatus(...)], state, last error, counters
    agent.scans.recent()          # the scans, newest first
    agent.take_upload([(data, "]d1")], decode_ms=12.5, unreadable=1)   # an uploaded file's
                                         # symbols, through the pipeline; its codes not read
    agent.take_manual(attestation)       # an attestation typed by hand, recorded as a scan
    agent.count_manual(attestation)      # one typed and not recorded: counted only
    agent.referential_status()    # the AMC referential's file, size, date, last load error
    agent.rollout_status()        # the ROC roll-out phase in use, its mirror AMC, last error
    agent.inputs_status()         # the watched folder ([inputs] watch_dir): pending, done, failed
    agent.stop()                  # readers stopped, queued frames processed, scans written

While it runs, the agent looks every `parser.referential_reload_s` seconds whether the AMC
referential's file changed and reloads it (`agent.referential_file`, a `ReferentialFile`); a file
that does not load leaves the previous referential in use. A referential that does not load
when the agent is built raises `ConfigError`: there is no previous one to keep. As often, it
reads the `[roc]` section again when a configuration file changed (`agent.rollout_config`, a
`RolloutConfig`): the phase of the ROC roll-out applies without a restart. With `[inputs]
watch_dir` (and a database), `agent.inbox` (an `Inbox`) reads the files dropped in that folder as
uploads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

from scanner_agent.attestation import Attestation
from scanner_agent.bus import EventBus
from scanner_agent.config import Settings
from scanner_agent.devices import DeviceManager, DriverFactory, camera_factory
from scanner_agent.file_decoding import decode_options
from scanner_agent.framing import Frame
from scanner_agent.inbox import Inbox, InboxStatus
from scanner_agent.indicator_export import WeeklyExport, read_for
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import DeviceStates, Incoming, Pipeline
from scanner_agent.referential import Referential
from scanner_agent.referential_file import ReferentialFile, ReferentialStatus
from scanner_agent.rollout import Rollout
from scanner_agent.rollout_config import RolloutConfig, RolloutStatus
from scanner_agent.scan import DeviceStatus, Scan
from scanner_agent.scans import ScanService

UPLOAD_DEVICE = "upload"
"""The device id of scans read from uploaded files."""
MANUAL_DEVICE = "manual"
"""The device id of attestations typed by hand and recorded (`take_manual`)."""


def _manual_scan(attestation: Attestation) -> Scan:
    """An attestation typed by hand as a scan of source and device `manual`, received now."""
    return Scan(
        received_at=datetime.now(UTC),
        device_id=MANUAL_DEVICE,
        source="manual",
        attestation=attestation,
    )


class NotRunning(RuntimeError):
    """The agent is not started (code `not_ready`)."""

    code = "not_ready"


class Agent:
    """Owns the bus, the scans service and the device readers. Thread-safe to query while
    running.

    `driver_factory` (how a device configuration becomes a driver and framer; by default
    `build_driver` with the `[decoder]` options for cameras) and `today` (the
    reference date of validity; default: today in `parser.timezone`) are injectable, for tests
    and tools; so is `scans` (by default the service of `settings`, with its store unless
    `storage` is False).
    """

    def __init__(
        self,
        settings: Settings,
        bus: EventBus | None = None,
        context: ParseContext | None = None,
        *,
        driver_factory: DriverFactory | None = None,
        today: Callable[[], date] | None = None,
        scans: ScanService | None = None,
        storage: bool = True,
    ) -> None:
        self.settings = settings
        self.bus = bus or EventBus()
        if context is None:
            self.referential_file = ReferentialFile.load(
                settings.referential_path, on_load=self._use_referential
            )
            context = ParseContext.from_settings(
                settings, self.referential_file.referential, today=today
            )
        else:  # the given context's referential stands for the file's until the file changes
            self.referential_file = ReferentialFile(
                settings.referential_path, context.referential, on_load=self._use_referential
            )
        self.context = context
        self.rollout_config = RolloutConfig.of(
            settings, rollout=context.rollout, on_change=self._use_rollout
        )
        self.scans = scans or ScanService.from_settings(settings, self.bus, storage=storage)
        self._lock = threading.Lock()
        self._statuses: dict[str, DeviceStatus] = {
            d.id: DeviceStatus(
                id=d.id, type=d.type, state="stopped", description="" if d.enabled else "disabled"
            )
            for d in settings.devices
        }
        self.states = DeviceStates(self.bus, self._statuses.values())
        if driver_factory is None:
            driver_factory = camera_factory(decode_options(settings))
        self._driver_factory = driver_factory
        self._today = today
        self.indicator_export: WeeklyExport | None = None
        """The weekly files of `[indicators] export_dir` (none without it, or without a
        database: a memory-only agent's counts are not the week's)."""
        if settings.indicators.export_dir and self.scans.store is not None:
            self.indicator_export = WeeklyExport(
                settings.path(settings.indicators.export_dir),
                read_for(self.scans),
                today=self.today,
            )
        self.inbox: Inbox | None = None
        """The watched folder of `[inputs] watch_dir` (none without it, or without a database:
        a memory-only agent, `watch`'s, would move files to `done/` whose scans are kept
        nowhere, and would be a second agent on the serving agent's folder)."""
        if settings.inputs.watch_dir and self.scans.store is not None:
            self.inbox = Inbox.of(settings, self.take_upload)
        self.pipeline: Pipeline | None = None
        self._manager: DeviceManager | None = None
        self.running = False

    def start(self) -> None:
        """Start the scans service, the pipeline and every enabled device's reader. Returns at
        once: devices connect in the background (watch `devices()` or the bus's DeviceEvents)."""
        with self._lock:
            if self.running:
                return
            self.scans.start()
            p = self.settings.pipeline
            self.pipeline = Pipeline(
                self.context,
                self.bus,
                self.states,
                deliver=self.scans.record,
                count_unreadable=self.scans.count_unreadable,
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
            self.referential_file.start(self.settings.parser.referential_reload_s)
            self.rollout_config.start(self.settings.parser.referential_reload_s)
            if self.indicator_export is not None:
                self.indicator_export.start()
            if self.inbox is not None:
                self.inbox.start()
            self.running = True

    def stop(self) -> None:
        """Stop every reader (each flushes what its framer held), then the pipeline, then the
        scans service (which writes what waits)."""
        if self.inbox is not None:
            self.inbox.stop()  # first, while the pipeline runs: the file being read is recorded
        with self._lock:
            manager, self._manager = self._manager, None
            pipeline, self.pipeline = self.pipeline, None
            was_running, self.running = self.running, False
        self.referential_file.stop()
        self.rollout_config.stop()
        if self.indicator_export is not None:
            self.indicator_export.stop()
        if manager is not None:
            manager.stop()
        if pipeline is not None:
            pipeline.stop()
        if was_running:
            self.scans.stop()

    def take_upload(
        self,
        symbols: Iterable[tuple[bytes, str | None]],
        *,
        decode_ms: float | None = None,
        unreadable: int = 0,
    ) -> list[Scan]:
        """Each symbol `(data, symbology)` of an uploaded file as a frame of device `upload`,
        through the pipeline (parsed as a device's frames are, recorded by the scans service);
        their scans, in order. `decode_ms`, the file's decode time, is shared evenly among its
        symbols in their indicators; `unreadable` codes seen in it and not read are counted
        (source `upload`). Raises `NotRunning` before `start()`."""
        pipeline = self.pipeline
        if pipeline is None:
            raise NotRunning("the agent is not running")
        symbols = list(symbols)
        share = None if decode_ms is None or not symbols else decode_ms / len(symbols)
        scans = []
        for data, symbology in symbols:
            frame = Frame(
                data=data, symbology=symbology, received_at=time.monotonic(), decode_ms=share
            )
            scans.append(pipeline.take(Incoming(UPLOAD_DEVICE, "upload", frame)))
        if unreadable > 0:
            self.scans.count_unreadable(UPLOAD_DEVICE, datetime.now(UTC), unreadable, "upload")
        return scans

    def take_manual(self, attestation: Attestation) -> Scan:
        """An attestation typed by hand (`ParseContext.validate_fields`) recorded by the scans
        service as a scan of source and device `manual`, received now; the scan. Raises
        `NotRunning` before `start()`."""
        if not self.running:
            raise NotRunning("the agent is not running")
        scan = _manual_scan(attestation)
        self.scans.record(scan)
        return scan

    def count_manual(self, attestation: Attestation) -> None:
        """Count an attestation typed by hand and not recorded (`store_manual` off, or refused)
        in the indicators (source and device `manual`), as `take_manual` would."""
        self.scans.count_scan(_manual_scan(attestation))

    def referential_status(self) -> ReferentialStatus:
        """The AMC referential in use: its file, AMCs, date and age today (the agent's `today`,
        by default in the hospital's time zone), and the last load's error while it stands."""
        today = self._today() if self._today is not None else self.context.today()
        return self.referential_file.status(today, self.context.max_age_days)

    def today(self) -> date:
        """The agent's today: its `today`, by default today in the hospital's time zone."""
        return self._today() if self._today is not None else self.context.today()

    def _use_referential(self, referential: Referential) -> None:
        self.context.referential = referential

    def rollout_status(self) -> RolloutStatus:
        """The phase of the ROC roll-out in use, its mirror AMC (and whether the referential in
        use has it), and the last read's error while it stands."""
        return self.rollout_config.status(self.context.referential)

    def _use_rollout(self, rollout: Rollout) -> None:
        self.context.rollout = rollout

    def inputs_status(self) -> InboxStatus:
        """The watched folder: its path (None when not set), files pending, moved to `done/`
        and `failed/` since the start, the problem standing (`scanner_agent.inbox`)."""
        return self.inbox.status() if self.inbox is not None else InboxStatus(None)

    def devices(self) -> list[DeviceStatus]:
        return self.states.all()

    def device(self, device_id: str) -> DeviceStatus | None:
        return self.states.get(device_id)

    def device_readers(self) -> list[str]:
        """The devices a reader runs for (enabled and set up; none before `start`). Each says
        `stopped` on the bus once it ends by itself (a replay played, a video file read),
        after its last scan."""
        manager = self._manager
        return list(manager.readers) if manager is not None else []

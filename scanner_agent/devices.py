"""Starting, watching and reopening devices: one reader thread per device.

Each reader opens its driver, reads chunks, feeds them to the device's framer and submits the
frames to the pipeline. When the device goes away (unplugged, port closed, camera gone) the
reader drops the code it was in the middle of (never a scan: counted in `frames_dropped` and
shown as the device's diagnostic `frame_incomplete`), marks the device `disconnected` with the
error, and tries to open it again with exponential back-off (`pipeline.reconnect_min_s`
doubling up to `pipeline.reconnect_max_s`), without the agent restarting. One device failing,
even with an unexpected exception, never stops another.

`build_driver(config)` is where the core's configuration meets the drivers: it maps a device's
settings onto the driver's own parameters (`SerialParams`, `HidPosParams`, ...) and pairs the
driver with the framer its settings ask for, in a `DriverSetup[ChunkT]` (mypy checks that the
driver's chunks are what the framer takes). Drivers never see the configuration models. A
camera gets the `DecodeOptions` of the `[decoder]` section (`decoder_options=`, with the
camera's `time_budget_ms`): its driver keeps one decoder made with them for the life of the
stream. The agent builds its devices with `camera_factory(options)`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from drivers.base import Driver
from drivers.camera import CameraDriver, CameraParams, DecodeFunction, FrameCounts
from drivers.demo import DemoDriver, DemoParams
from drivers.hid_keyboard import HidKeyboardDriver, HidKeyboardParams
from drivers.hid_pos import HidPosDriver, HidPosParams
from drivers.replay import ReplayDriver, ReplayParams
from drivers.serial import SerialDriver, SerialParams
from scanner_agent.config import (
    CameraDevice,
    DemoDevice,
    DeviceConfig,
    HidKeyboardDevice,
    HidPosDevice,
    ReplayDevice,
    SerialDevice,
)
from scanner_agent.errors import DeviceError, DeviceLost, DeviceNotFound
from scanner_agent.framing import (
    DEFAULT_HID_POS_LAYOUT,
    Frame,
    Framer,
    HidPosFramer,
    KeyboardFramer,
    SuffixFramer,
    SymbolTracker,
    byte_framer,
)
from scanner_agent.pipeline import FRAME_INCOMPLETE, DeviceStates, Incoming, Pipeline, utc_now
from scanner_agent.scan import DeviceProblem, DeviceState, Diagnostic, Source

if TYPE_CHECKING:
    from decoders.base import DecodeOptions, Reading

log = logging.getLogger(__name__)

# The longest a reader blocks in one read, so that stop() is honoured promptly.
POLL_S = 0.2


# What one read of a driver returns and its framer takes. A bare `DriverSetup` (a setup of any
# device, as the device manager holds them) is `DriverSetup[Any]`.
ChunkT = TypeVar("ChunkT", default=Any)


@dataclass
class DriverSetup(Generic[ChunkT]):
    """A driver, how to make its framer (after each open: HID POS reads its descriptor then),
    and what its scans are labelled with. The driver's chunks are what the framer takes."""

    driver: Driver[ChunkT]
    make_framer: Callable[[], Framer[ChunkT]]
    source: Source
    layout: str | None = None
    frame_counts: Callable[[], FrameCounts] | None = None
    """Cameras: what the driver did with its frames, copied into the device's counters."""


DriverFactory = Callable[[DeviceConfig], DriverSetup]


def build_driver(
    config: DeviceConfig,
    *,
    decode: DecodeFunction | None = None,
    decoder_options: DecodeOptions | None = None,
) -> DriverSetup:
    """The driver and framer a device configuration asks for. Cameras only: `decoder_options`
    (the `[decoder]` section, `scanner_agent.file_decoding.decode_options`) is what the camera's
    one decoder is made with, when it is first opened; `decode` replaces that decoder (any
    callable from a frame to a `Reading`)."""
    if isinstance(config, SerialDevice):
        c = config
        return DriverSetup[bytes](
            SerialDriver(serial_params(c)),
            lambda: byte_framer(c.suffix, c.idle_ms, c.max_frame_bytes),
            "serial",
        )
    if isinstance(config, HidPosDevice):
        pos = HidPosDriver(hid_pos_params(config))
        return DriverSetup[bytes](pos, lambda: HidPosFramer(pos.layout), "hid_pos")
    if isinstance(config, HidKeyboardDevice):
        k = config
        return DriverSetup[bytes](
            HidKeyboardDriver(hid_keyboard_params(k)),
            lambda: KeyboardFramer(k.layout, k.suffix, k.idle_ms / 1000, k.max_frame_bytes),
            "hid_keyboard",
            layout=k.layout,
        )
    if isinstance(config, CameraDevice):
        cam = config
        driver = CameraDriver(camera_params(cam), decode=decode, decoder_options=decoder_options)
        camera: DriverSetup[Reading] = DriverSetup(
            driver,
            lambda: SymbolTracker(cam.gone_after_s),
            "camera",
            frame_counts=driver.frame_counts,
        )
        return camera
    if isinstance(config, ReplayDevice):
        return _replay_setup(config)
    if isinstance(config, DemoDevice):
        return DriverSetup[bytes](
            DemoDriver(DemoParams(interval_s=config.interval_s)),
            lambda: SuffixFramer(b"\r"),
            "demo",
        )
    raise DeviceError(f"unknown device type {config.type!r}")  # pragma: no cover


def camera_factory(decoder_options: DecodeOptions) -> DriverFactory:
    """`build_driver` with the cameras' decoder options (the agent's default factory)."""

    def factory(config: DeviceConfig) -> DriverSetup:
        return build_driver(config, decoder_options=decoder_options)

    return factory


def _replay_setup(c: ReplayDevice) -> DriverSetup[bytes]:
    driver = ReplayDriver(replay_params(c))
    if c.protocol == "hid_pos":

        def hid_pos_framer() -> HidPosFramer:
            # the layout the replayed device's report descriptor gave, read at open
            inner = driver.inner
            if isinstance(inner, HidPosDriver):
                return HidPosFramer(inner.layout)
            return HidPosFramer(DEFAULT_HID_POS_LAYOUT)  # pragma: no cover - set at open

        return DriverSetup[bytes](driver, hid_pos_framer, "replay")
    if c.protocol == "hid_keyboard":
        return DriverSetup[bytes](
            driver,
            lambda: KeyboardFramer(c.layout, c.suffix, c.idle_ms / 1000, c.max_frame_bytes),
            "replay",
            layout=c.layout,
        )
    return DriverSetup[bytes](
        driver, lambda: byte_framer(c.suffix, c.idle_ms, c.max_frame_bytes), "replay"
    )


# --- configuration to driver parameters ---------------------------------------------------


def serial_params(c: SerialDevice) -> SerialParams:
    return SerialParams(
        port=c.port,
        vid=c.vid,
        pid=c.pid,
        serial_number=c.serial_number,
        baudrate=c.baudrate,
        bytesize=c.bytesize,
        parity=c.parity,
        stopbits=c.stopbits,
    )


def hid_pos_params(c: HidPosDevice) -> HidPosParams:
    return HidPosParams(
        path=c.path, vid=c.vid, pid=c.pid, serial_number=c.serial_number, usage_page=c.usage_page
    )


def hid_keyboard_params(c: HidKeyboardDevice) -> HidKeyboardParams:
    return HidKeyboardParams(
        path=c.path,
        vid=c.vid,
        pid=c.pid,
        serial_number=c.serial_number,
        backend=c.backend,
        layout=c.layout,
    )


def camera_params(c: CameraDevice) -> CameraParams:
    return CameraParams(source=c.source, fps=c.fps, width=c.width, height=c.height)


def replay_params(c: ReplayDevice) -> ReplayParams:
    return ReplayParams(
        path=c.path, protocol=c.protocol, speed=c.speed, loop=c.loop, layout=c.layout
    )


class DeviceReader(Generic[ChunkT]):
    """One device's thread: open, read, frame, submit; reopen with back-off when lost."""

    def __init__(
        self,
        device_id: str,
        setup: DriverSetup[ChunkT],
        pipeline: Pipeline,
        states: DeviceStates,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device_id = device_id
        self.setup = setup
        self.pipeline = pipeline
        self.states = states
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._framer: Framer[ChunkT] | None = None
        self._frames_shown: FrameCounts | None = None
        self.opens = 0
        self.incomplete = 0
        """How many codes the device going away has cut off (each dropped, never a scan)."""

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"device-{self.device_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _submit(self, frames: Sequence[Frame]) -> None:
        for frame in frames:
            self.pipeline.submit(
                Incoming(self.device_id, self.setup.source, frame, self.setup.layout)
            )

    def _run(self) -> None:
        delay = self.backoff_min_s
        driver = self.setup.driver
        finished = False
        attempts = 0
        while not self._stop.is_set():
            if attempts == 0:
                self.states.set_state(self.device_id, "starting")
            attempts += 1
            try:
                driver.open()
            except Exception as exc:
                self._failed(exc, opening=True)
                self._close(driver)
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            if self.opens:
                self.states.count(self.device_id, "reconnects")
            self.opens += 1
            delay = self.backoff_min_s
            log.info("device %s connected: %s", self.device_id, driver.description)
            self.states.set_state(self.device_id, "connected", description=driver.description)
            try:
                finished = self._read_loop(driver)
            except Exception as exc:
                self._drop()
                self._failed(exc, opening=False)
                self._close(driver)
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            self._close(driver)
            if finished:
                break
        if finished:
            # the last frames are still on their way to the pipeline: the end of the device
            # comes after its last scan, on the bus as for the device's users
            self.pipeline.drain()
        self.states.set_state(
            self.device_id,
            "stopped",
            description=(driver.description + " (finished)") if finished else None,
        )

    def _read_loop(self, driver: Driver[ChunkT]) -> bool:
        """Read until stopped (False) or the source is exhausted (True)."""
        framer = self._framer = self.setup.make_framer()
        monotonic = self._monotonic
        while not self._stop.is_set():
            deadline = framer.deadline()
            timeout = POLL_S
            if deadline is not None:
                timeout = min(POLL_S, max(0.0, deadline - monotonic()))
            chunk = driver.read(timeout)
            now = monotonic()
            frames = framer.feed(chunk, now) if chunk is not None else framer.poll(now)
            if frames:
                self._submit(frames)
            if self.setup.frame_counts is not None:
                self._show_frame_counts(self.setup.frame_counts())
            if driver.exhausted:
                self._flush()
                return True
        self._flush()
        return False

    def _show_frame_counts(self, counts: FrameCounts) -> None:
        if counts == self._frames_shown:
            return
        self._frames_shown = counts
        self.states.set_counters(
            self.device_id,
            frames_read=counts.read,
            frames_decoded=counts.decoded,
            frames_skipped=counts.skipped,
            decode_ms_total=round(counts.decode_ms_total, 3),
            decode_fps=counts.recent_fps,
            decode_ms_mean=counts.recent_ms,
        )

    def _close(self, driver: Driver[ChunkT]) -> None:
        try:
            driver.close()
        except Exception:  # a driver that cannot even close must not end its reader
            log.exception("device %s: closing failed", self.device_id)

    def _flush(self) -> None:
        framer, self._framer = self._framer, None
        if framer is not None:
            self._submit(framer.flush(self._monotonic()))

    def _drop(self) -> None:
        """The device went away: the codes time had already ended are submitted; the code it
        was in the middle of is dropped, counted and shown, never stored as a scan."""
        framer, self._framer = self._framer, None
        if framer is None:
            return
        self._submit(framer.poll(self._monotonic()))
        held = framer.drop()
        if not held:
            return
        self.incomplete += 1
        self.states.count(self.device_id, "frames_dropped")
        self.states.diagnose(
            self.device_id,
            Diagnostic(
                code=FRAME_INCOMPLETE,
                message=f"the device went away in the middle of a code ({held} bytes without "
                f"their end): it was dropped, not stored; scan it again "
                f"({self.incomplete} code(s) cut off so far)",
            ),
        )
        log.warning("device %s: a code cut off by the device going away was dropped (%d bytes)",
                    self.device_id, held)  # fmt: skip

    def _failed(self, exc: BaseException, opening: bool) -> None:
        if isinstance(exc, DeviceError):
            code, message = exc.code, str(exc)
        else:
            log.error("device %s: unexpected error", self.device_id, exc_info=exc)
            code, message = "internal_error", f"{type(exc).__name__}: {exc}"
        gone = isinstance(exc, DeviceNotFound | DeviceLost)
        state: DeviceState = "disconnected" if gone or not opening else "error"
        if not opening:
            log.warning("device %s lost: %s", self.device_id, message)
        self.states.set_state(
            self.device_id, state, problem=DeviceProblem(code=code, message=message, at=utc_now())
        )


class DeviceManager:
    """Starts one reader per enabled device and stops them all."""

    def __init__(
        self,
        devices: Sequence[DeviceConfig],
        pipeline: Pipeline,
        states: DeviceStates,
        *,
        driver_factory: DriverFactory = build_driver,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 10.0,
    ) -> None:
        self.pipeline = pipeline
        self.states = states
        self.readers: dict[str, DeviceReader] = {}
        for config in devices:
            if not config.enabled:
                continue
            try:
                setup = driver_factory(config)
            except Exception as exc:  # a broken device must not keep the others from starting
                log.error("device %s cannot be set up", config.id, exc_info=exc)
                code = exc.code if isinstance(exc, DeviceError) else "internal_error"
                self.states.set_state(
                    config.id,
                    "error",
                    problem=DeviceProblem(code=code, message=str(exc), at=utc_now()),
                )
                continue
            self.readers[config.id] = DeviceReader(
                config.id,
                setup,
                pipeline,
                states,
                backoff_min_s=backoff_min_s,
                backoff_max_s=backoff_max_s,
            )

    def start(self) -> None:
        for reader in self.readers.values():
            reader.start()

    def stop(self, timeout: float = 5.0) -> None:
        for reader in self.readers.values():
            reader.stop()
        deadline = time.monotonic() + timeout
        for reader in self.readers.values():
            reader.join(max(0.0, deadline - time.monotonic()))

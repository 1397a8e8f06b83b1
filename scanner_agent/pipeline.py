"""Frames to scans: parse, take the keyboard layout into account, suppress duplicates, count,
deliver.

    reader threads ──submit(Incoming)──▶ bounded queue ──worker──▶ process() ──▶ deliver(scan)
    uploads ──────────take(Incoming)─────────────────────────────▶ process() ──▶ deliver(scan)

`deliver` is the scans service's `record` in the running agent (it keeps the scan, then
publishes it), called as `deliver(scan, decode_ms=...)`: the milliseconds the agent took to read
it, the image's decode (`Frame.decode_ms`, camera frames and uploads) plus the parse measured
here, for the scan's indicator. A pipeline built without one publishes each scan on its bus
itself (the self-test's private pipelines), and counts nothing.

Reader threads never parse: they hand frames to a bounded queue (`pipeline.queue_size`) and go
back to their device. When the queue is full the frame is not lost silently: the device's
`frames_dropped` counter grows and its status says so (`queue_overflow`). One worker thread
parses and delivers, in arrival order. `take` processes one frame at once in the calling thread
(an uploaded file's symbols) and returns its scan.

A camera's sighting of a code it cannot read (`Frame.unreadable`, already rate-limited by the
camera's framer, which sees every frame) is not a scan: `process` counts it in the device's
`unreadable_codes`, in the indicators (`count_unreadable(device_id, at, count, source)`, the
scans service's: one per place seen) and publishes an `UnreadableEvent` (device, time,
positions), in order with the device's scans.

`watch(device_id)` hands a `FrameWatch`: each scan of that device from now on with the frame it
was read from (the self-test's test-card step over the running agent recognises the card's codes
by their bytes, which a scan does not keep). It observes only: the scans are delivered as
always.

`DeviceStates` holds every device's `DeviceStatus` (state, last error, counters, diagnostics);
the device manager and the pipeline both update it, and every change of state or diagnostic is
published as a `DeviceEvent`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from scanner_agent.attestation import Attestation, ErrorCode, Issue, ParseWarning, WarningCode
from scanner_agent.bus import DeviceEvent, EventBus, ScanEvent, UnreadableEvent
from scanner_agent.framing import Frame, make_frame
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import (
    DeviceProblem,
    DeviceState,
    DeviceStatus,
    Diagnostic,
    Scan,
    Source,
)

log = logging.getLogger(__name__)
_EPOCH = datetime.fromtimestamp(0, UTC)

KEYBOARD_LAYOUT_MISMATCH = WarningCode.KEYBOARD_LAYOUT_MISMATCH.value
QUEUE_OVERFLOW = "queue_overflow"
FRAME_INCOMPLETE = "frame_incomplete"
"""The diagnostic of a device that went away in the middle of a code (`DeviceReader`)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A frame on its way to the pipeline, with where it came from."""

    device_id: str
    source: Source
    frame: Frame
    layout: str | None = None
    """The keyboard layout the frame was typed with (keyboard-mode devices)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class FrameWatch:
    """One device's scans from now on, each with its frame (`Pipeline.watch`), for a thread that
    waits: `get(timeout)`; `close()` when done (or use it as a context manager). It holds what
    was read: the caller judges it and keeps nothing, logs nothing."""

    def __init__(self, pipeline: Pipeline, device_id: str) -> None:
        self.device_id = device_id
        self._pipeline = pipeline
        self._items: queue.SimpleQueue[tuple[Frame, Scan]] = queue.SimpleQueue()

    def put(self, frame: Frame, scan: Scan) -> None:
        self._items.put((frame, scan))

    def get(self, timeout: float) -> tuple[Frame, Scan] | None:
        """The next (frame, scan), or None after `timeout` seconds."""
        try:
            return self._items.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def close(self) -> None:
        self._pipeline._unwatch(self)

    def __enter__(self) -> FrameWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _problem_key(problem: DeviceProblem | None) -> tuple[str, str] | None:
    return None if problem is None else (problem.code, problem.message)


class DeviceStates:
    """Every device's status, thread-safe; changes that matter are published on the bus."""

    def __init__(self, bus: EventBus, statuses: Iterable[DeviceStatus] = ()) -> None:
        self._bus = bus
        self._lock = threading.Lock()
        self._statuses: dict[str, DeviceStatus] = {s.id: s for s in statuses}

    def add(self, status: DeviceStatus) -> None:
        with self._lock:
            self._statuses[status.id] = status

    def get(self, device_id: str) -> DeviceStatus | None:
        with self._lock:
            status = self._statuses.get(device_id)
            return status.model_copy(deep=True) if status else None

    def all(self) -> list[DeviceStatus]:
        with self._lock:
            return [s.model_copy(deep=True) for s in self._statuses.values()]

    def set_state(
        self,
        device_id: str,
        state: DeviceState,
        *,
        description: str | None = None,
        problem: DeviceProblem | None = None,
        clear_problem: bool = False,
    ) -> None:
        """Change the state (and description, last error), and publish the new status; a
        repeat of the same state and error (a device still absent at each retry) is recorded
        but not published again."""
        with self._lock:
            status = self._statuses.get(device_id)
            if status is None:
                return
            before = (status.state, status.description, _problem_key(status.last_error))
            if description is not None:
                status.description = description
            if problem is not None:
                status.last_error = problem
            elif clear_problem:
                status.last_error = None
            status.state = state
            if before == (status.state, status.description, _problem_key(status.last_error)):
                return
            snapshot = status.model_copy(deep=True)
        self._bus.publish(DeviceEvent(snapshot))

    def report(self, device_id: str, problem: DeviceProblem) -> None:
        """Record a problem without changing the state, and publish it."""
        with self._lock:
            status = self._statuses.get(device_id)
            if status is None:
                return
            status.last_error = problem
            snapshot = status.model_copy(deep=True)
        self._bus.publish(DeviceEvent(snapshot))

    def count(self, device_id: str, counter: str, seen: datetime | None = None) -> None:
        """Add one to a counter (good_scans, refused_scans, frames_dropped, reconnects)."""
        with self._lock:
            status = self._statuses.get(device_id)
            if status is None:
                return
            counters = status.counters
            setattr(counters, counter, getattr(counters, counter) + 1)
            if seen is not None:
                counters.last_seen = seen

    def set_counters(self, device_id: str, **values: float | int | None) -> None:
        """Set counters to the values a driver keeps itself (a camera's frames read, decoded
        and skipped, its decode times); not published (read with the device's status)."""
        with self._lock:
            status = self._statuses.get(device_id)
            if status is None:
                return
            for name, value in values.items():
                setattr(status.counters, name, value)

    def diagnose(self, device_id: str, diagnostic: Diagnostic) -> bool:
        """Add a diagnostic (once; a newer one with the same code replaces it) and publish.
        Returns False when the device already had exactly this one."""
        with self._lock:
            status = self._statuses.get(device_id)
            if status is None or diagnostic in status.diagnostics:
                return False
            status.diagnostics = [d for d in status.diagnostics if d.code != diagnostic.code] + [
                diagnostic
            ]
            snapshot = status.model_copy(deep=True)
        self._bus.publish(DeviceEvent(snapshot))
        return True


class Pipeline:
    """Turns frames into delivered scans. `submit` from any thread; `process` does the work."""

    def __init__(
        self,
        context: ParseContext,
        bus: EventBus,
        states: DeviceStates,
        *,
        deliver: Callable[..., object] | None = None,
        count_unreadable: Callable[[str, datetime, int, str], object] | None = None,
        duplicate_window_s: float = 2.0,
        queue_size: int = 1024,
        today: Callable[[], date] | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.context = context
        self.bus = bus
        self.states = states
        self._deliver = deliver
        self._count_unreadable = count_unreadable
        self._work = threading.Lock()  # the worker and `take` process one frame at a time
        self.duplicate_window_s = duplicate_window_s
        self._queue: queue.Queue[Incoming | threading.Event | None] = queue.Queue(
            maxsize=queue_size
        )
        self._today = today or context.today
        """The day scans are judged for: today in the hospital's time zone."""
        self._wall = wall_clock
        self._monotonic = monotonic
        self._offset: float | None = None
        self._offset_read_at = 0.0
        self._last_at: dict[str, datetime] = {}
        self._recent: dict[tuple[str, str | None, bytes], float] = {}
        self._overflow_reported: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.duplicates = 0
        self._watches: list[FrameWatch] = []
        self._watches_lock = threading.Lock()

    # --- observers (the self-test's test-card step) ---
    def watch(self, device_id: str) -> FrameWatch:
        """Each scan of `device_id` from now on with its frame, as well as delivered."""
        watch = FrameWatch(self, device_id)
        with self._watches_lock:
            self._watches.append(watch)
        return watch

    def watching(self, device_id: str) -> int:
        """How many watches `device_id` has (a test waits for one before the device sends)."""
        with self._watches_lock:
            return sum(1 for w in self._watches if w.device_id == device_id)

    def _unwatch(self, watch: FrameWatch) -> None:
        with self._watches_lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def _show_watchers(self, frame: Frame, scan: Scan) -> None:
        with self._watches_lock:
            watching = [w for w in self._watches if w.device_id == scan.device_id]
        for watch in watching:
            watch.put(frame, scan)

    # --- producer side (reader threads) ---
    def submit(self, item: Incoming) -> bool:
        """Queue a frame; False (counted and reported) when the queue is full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self.states.count(item.device_id, "frames_dropped")
            now = self._monotonic()
            if now - self._overflow_reported.get(item.device_id, -1e9) >= 1.0:
                self._overflow_reported[item.device_id] = now
                self.states.report(
                    item.device_id,
                    DeviceProblem(
                        code=QUEUE_OVERFLOW,
                        message=f"the scan queue is full ({self._queue.maxsize} frames): "
                        "frames from this device were dropped; see frames_dropped",
                        at=utc_now(),
                    ),
                )
                log.warning("scan queue full: frame from %s dropped", item.device_id)
            return False
        return True

    def pending(self) -> int:
        return self._queue.qsize()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every frame submitted before this call is processed (its scan delivered
        and published); True once it is, False at the timeout or when no worker runs.

        A reader calls it before it says its device has ended, so that the `stopped`
        `DeviceEvent` follows the device's last scan on the bus."""
        if self._thread is None:
            return False
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    # --- worker ---
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="scan-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Process what is queued, then stop the worker."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):  # `drain`: what came before is done
                item.set()
                continue
            try:
                with self._work:
                    self.process(item)
            except Exception:  # a bug here must not stop every device's scans
                log.exception("the pipeline failed on a frame from %s", item.device_id)
                self.states.count(item.device_id, "frames_dropped")

    def take(self, item: Incoming) -> Scan:
        """Process one frame now, in this thread, without duplicate suppression (each symbol
        of an uploaded file is a scan; its `Frame.decode_ms`, the file's decode time shared);
        its delivered scan."""
        with self._work:
            scan = self.process(item, dedupe=False)
        assert scan is not None
        return scan

    def process(self, item: Incoming, *, dedupe: bool = True) -> Scan | None:
        """Parse one frame and deliver its scan; None for a suppressed duplicate (and for a
        camera's sighting of a code it cannot read, published as an `UnreadableEvent`)."""
        frame = item.frame
        if frame.unreadable:
            self._unreadable(item)
            return None
        if dedupe and self._duplicate(item):
            self.duplicates += 1
            log.debug("duplicate scan from %s suppressed", item.device_id)
            return None
        started = time.perf_counter()
        # a device's scans never go back in time, whatever the clocks do between two frames
        received_at = max(
            self.wall_time(frame.received_at), self._last_at.get(item.device_id, _EPOCH)
        )
        self._last_at[item.device_id] = received_at
        symbology = frame.symbology
        if frame.skipped:
            log.debug("%d noise byte(s) before a code from %s", frame.skipped, item.device_id)
        if frame.truncated:
            self.states.count(item.device_id, "frames_dropped")
            attestation = Attestation(
                status="invalid",
                errors=[
                    Issue(
                        code=ErrorCode.PAYLOAD_TOO_LONG,
                        message=f"the device sent more than {len(frame.data)} bytes without "
                        "ending the code: the frame was cut there and the rest discarded "
                        "(is the suffix configured as the scanner sends it?)",
                    )
                ],
            )
        else:
            today = self._today()
            attestation = self.context.parse(frame.data, at=today, symbology=symbology)
            if not attestation.valid and frame.alternates:
                better = self._other_layout(item, attestation, today)
                if better is not None:
                    attestation, symbology = better
        counter = "good_scans" if attestation.valid else "refused_scans"
        self.states.count(item.device_id, counter, seen=received_at)
        scan = Scan(
            received_at=received_at,
            device_id=item.device_id,
            source=item.source,
            symbology=symbology,
            attestation=attestation,
        )
        if self._deliver is not None:
            parse_ms = (time.perf_counter() - started) * 1000
            self._deliver(scan, decode_ms=(frame.decode_ms or 0.0) + parse_ms)
        else:
            self.bus.publish(ScanEvent(scan))
        if self._watches:
            self._show_watchers(frame, scan)
        log.info(
            "scan from %s: %s%s",
            item.device_id,
            attestation.decision
            if attestation.valid
            else "refused " + ",".join(attestation.error_codes()),
            f" (member {attestation.masked().member_number})" if attestation.member_number else "",
        )
        return scan

    def _unreadable(self, item: Incoming) -> None:
        at = max(self.wall_time(item.frame.received_at), self._last_at.get(item.device_id, _EPOCH))
        self.states.count(item.device_id, "unreadable_codes")
        if self._count_unreadable is not None:
            self._count_unreadable(item.device_id, at, len(item.frame.unreadable), item.source)
        self.bus.publish(UnreadableEvent(item.device_id, at, item.frame.unreadable))
        log.info("device %s: a code was seen but could not be read", item.device_id)

    def wall_time(self, monotonic_at: float) -> datetime:
        """The UTC time of a monotonic stamp. The offset between the two clocks is read at most
        once a second, so frames stamped alike get the same time and keep their order (reading
        both clocks for every frame gives microseconds of jitter that can swap two frames)."""
        now = self._monotonic()
        if self._offset is None or now - self._offset_read_at > 1.0:
            self._offset = self._wall() - now
            self._offset_read_at = now
        return datetime.fromtimestamp(min(monotonic_at, now) + self._offset, UTC)

    def _duplicate(self, item: Incoming) -> bool:
        frame = item.frame
        if self.duplicate_window_s <= 0 or frame.truncated:
            return False
        now = frame.received_at
        window = self.duplicate_window_s
        if len(self._recent) > 256:
            self._recent = {k: t for k, t in self._recent.items() if now - t < window}
        key = (item.device_id, frame.symbology, frame.data)
        last = self._recent.get(key)
        self._recent[key] = now  # a code held in front of the scanner stays one scan
        return last is not None and 0 <= now - last < window

    def _other_layout(
        self, item: Incoming, as_read: Attestation, today: date
    ) -> tuple[Attestation, str | None] | None:
        """When the keystrokes only make an attestation read with another layout, that
        reading, with a warning, and the device's diagnostic saying which layout to set."""
        frame = item.frame
        not_one = ErrorCode.NOT_AN_ATTESTATION.value in as_read.error_codes()
        for layout, data in frame.alternates:
            other = make_frame(data, frame.received_at)
            if other is None:
                continue
            result = self.context.parse(other.data, at=today, symbology=other.symbology)
            if not (result.valid or (not_one and result.layout is not None)):
                continue
            configured = item.layout or "?"
            message = (
                f"this code was typed with the {layout!r} keyboard layout, but the device is "
                f"configured for {configured!r}: it was read with {layout!r}"
            )
            warning = ParseWarning(code=WarningCode.KEYBOARD_LAYOUT_MISMATCH, message=message)
            self.states.diagnose(
                item.device_id,
                Diagnostic(
                    code=KEYBOARD_LAYOUT_MISMATCH,
                    message=f"the scanner types with the {layout!r} keyboard layout, not "
                    f'{configured!r}: set layout = "{layout}" for device {item.device_id!r} '
                    f"(or set the scanner to {configured!r} with its setup codes)",
                ),
            )
            log.warning("device %s: keyboard layout is %s, not %s", item.device_id, layout,
                        configured)  # fmt: skip
            updated: Any = result.model_copy(update={"warnings": [*result.warnings, warning]})
            return updated, other.symbology
        return None

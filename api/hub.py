"""The API's view of the bus: recent events for replay and `latest`, event ids, SSE streams.

Event ids are `<boot>-<seq>`: `seq` is the bus sequence number and `boot` identifies the run of
the agent (its start time in milliseconds, kept above every boot already in the database), so
ids keep increasing across restarts. Each stored scan keeps its `(boot, seq)`. A client that
reconnects with `Last-Event-ID`:

- from this run, within the last `api.replay_events` events: gets every event it missed, scans
  and device changes, from memory;
- from an earlier run, or older than memory: gets the scans it missed from the database
  (within the retention; device changes of a past run are not kept: read `/v1/devices`),
  then this run's events from memory;
- when that cannot be complete (an unknown id, the database unavailable, more than
  `replay_events` scans missed): also gets an event `replay_incomplete`, so that it reloads
  `/v1/scans`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from api.metrics import Metrics
from scanner_agent.bus import DeviceEvent, Event, EventBus, ScanEvent, Subscription
from scanner_agent.scan import Scan
from scanner_agent.storage import StorageError, Store

log = logging.getLogger(__name__)

RENDERED_KEPT = 256
PURGE_EVERY_S = 60
_EVENT_ID = re.compile(r"^(\d{1,19})-(\d{1,19})$")


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    boot: int
    seq: int

    def __str__(self) -> str:
        return f"{self.boot}-{self.seq}"

    @classmethod
    def parse(cls, text: str | None) -> EventId | None:
        match = _EVENT_ID.match((text or "").strip())
        return cls(int(match[1]), int(match[2])) if match else None


def sse(event_id: str, kind: str, data: str) -> bytes:
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n".encode()


class Hub:
    """Subscribes to the bus for the API; one asyncio task fills the replay log."""

    def __init__(
        self,
        bus: EventBus,
        *,
        boot: int,
        replay_events: int,
        retention_hours: float,
        metrics: Metrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bus = bus
        self.boot = boot
        self.replay_events = replay_events
        self.retention = timedelta(hours=retention_hours)
        self.metrics = metrics
        self.clock = clock
        self.clients = 0
        self._log: deque[Event] = deque()
        self._floor = 0
        """Every event of this run with a seq above this one is in the log (unless erased)."""
        self._last_seq = 0
        self._rendered: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._listeners: set[_Listener] = set()
        self.waiters = 0
        """Requests waiting on /v1/scans/next."""
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    # --- life ---
    def subscribe(self) -> None:
        """Subscribe before anything publishes (call before starting the devices)."""
        self._sub = self.bus.subscribe("api", maxsize=max(1024, self.replay_events))

    async def start(self) -> None:
        if self._sub is None:
            self.subscribe()
        self._task = asyncio.create_task(self._run(), name="api-hub")

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def dropped(self) -> int:
        return self._sub.dropped if self._sub else 0

    async def _run(self) -> None:
        """One bus subscription for the whole API: one wake-up per event, however many clients
        listen; the fan-out to streams and waiters happens here, in the event loop."""
        assert self._sub is not None
        loop = asyncio.get_running_loop()
        purge_at = loop.time() + PURGE_EVERY_S
        while True:
            event = await self._sub.aget(timeout=PURGE_EVERY_S)
            if event is None and self._sub.closed:
                return
            if event is not None:
                self._append(event)
            if loop.time() >= purge_at:
                purge_at = loop.time() + PURGE_EVERY_S
                self.purge()

    def _append(self, event: Event) -> None:
        self.metrics.count(event)
        with self._lock:
            self._log.append(event)
            self._last_seq = max(self._last_seq, event.seq)
            while len(self._log) > self.replay_events:
                self._floor = self._log.popleft().seq
        for listener in list(self._listeners):
            listener.put(event)

    async def next_scan(self, device: str | None, timeout: float) -> Scan | None:
        """The next scan (of `device`) published from now on, or None after `timeout` s."""
        listener = _Listener(256)
        self._listeners.add(listener)
        self.waiters += 1
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await listener.queue.get()
                    if isinstance(event, ScanEvent) and device in (None, event.scan.device_id):
                        return event.scan
        except TimeoutError:
            return None
        finally:
            self._listeners.discard(listener)
            self.waiters -= 1

    # --- reads ---
    def _scans(self) -> Iterator[ScanEvent]:
        """Recent scans within the retention, newest first."""
        oldest = self.clock() - self.retention
        with self._lock:
            events = list(self._log)
        for event in reversed(events):
            if isinstance(event, ScanEvent) and event.scan.received_at >= oldest:
                yield event

    def _find(self, wanted: Callable[[Scan], bool]) -> Scan | None:
        """The newest scan within the retention that is `wanted` (no copy of the log)."""
        oldest = self.clock() - self.retention
        with self._lock:
            for event in reversed(self._log):
                if isinstance(event, ScanEvent) and wanted(event.scan):
                    return event.scan if event.scan.received_at >= oldest else None
        return None

    def latest(self, device: str | None = None) -> Scan | None:
        return self._find(lambda scan: device is None or scan.device_id == device)

    def get(self, scan_id: str) -> Scan | None:
        return self._find(lambda scan: scan.id == scan_id)

    def recent(self, device: str | None, since: datetime | None) -> list[Scan]:
        return [
            e.scan
            for e in self._scans()
            if (device is None or e.scan.device_id == device)
            and (since is None or e.scan.received_at >= since)
        ]

    # --- erasure and retention ---
    def forget(self, scan_id: str) -> bool:
        return self._drop(lambda e: isinstance(e, ScanEvent) and e.scan.id == scan_id) > 0

    def forget_all(self, device: str | None = None) -> int:
        return self._drop(
            lambda e: isinstance(e, ScanEvent) and (device is None or e.scan.device_id == device)
        )

    def purge(self) -> int:
        oldest = self.clock() - self.retention
        return self._drop(lambda e: isinstance(e, ScanEvent) and e.scan.received_at < oldest)

    def _drop(self, doomed: Callable[[Event], bool]) -> int:
        with self._lock:
            kept = deque(e for e in self._log if not doomed(e))
            count = len(self._log) - len(kept)
            self._log = kept
            if count:
                self._rendered.clear()  # erased data is not kept anywhere
        return count

    # --- server-sent events ---
    def format(self, event: Event) -> bytes:
        """The SSE text of `event`, rendered once for all the clients."""
        text = self._rendered.get(event.seq)
        if text is not None:
            return text
        event_id = str(EventId(self.boot, event.seq))
        if isinstance(event, ScanEvent):
            text = sse(event_id, "scan", event.scan.model_dump_json())
        else:
            assert isinstance(event, DeviceEvent)
            text = sse(event_id, "device", event.status.model_dump_json())
        with self._lock:
            self._rendered[event.seq] = text
            while len(self._rendered) > RENDERED_KEPT:
                del self._rendered[next(iter(self._rendered))]
        return text

    async def stream(
        self, last: str | None, store: Store | None, keepalive_s: float
    ) -> AsyncIterator[bytes]:
        """The event stream of one client: what it missed after `last`, then live events.

        Taking the log's snapshot and starting to listen happen in one step of the event loop
        (no `await` between), so no event falls between the replay and the live part.
        """
        listener = _Listener(4096)
        with self._lock:
            log_events = list(self._log)
            floor = self._floor
            high = self._last_seq
        self._listeners.add(listener)
        self.clients += 1
        try:
            yield b"retry: 2000\n\n"
            if last is not None:
                for chunk in await self._replay(last, high, log_events, floor, store):
                    yield chunk
            while not listener.overflowed:
                try:
                    async with asyncio.timeout(keepalive_s):
                        event = await listener.queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                else:
                    yield self.format(event)
            log.warning("an event stream fell %d events behind: closed", listener.queue.maxsize)
        finally:
            self._listeners.discard(listener)
            self.clients -= 1

    async def _replay(
        self, last_text: str, high: int, log_events: list[Event], floor: int, store: Store | None
    ) -> list[bytes]:
        last = EventId.parse(last_text)
        current = EventId(self.boot, high)
        if last is None or last > current:
            return [_incomplete("the Last-Event-ID is not one of this agent's event ids")]
        out: list[bytes] = []
        complete = True
        if last.boot == self.boot and last.seq >= floor:
            from_log = [e for e in log_events if e.seq > last.seq]
        else:
            from_log = log_events
            try:
                if store is None:
                    raise StorageError("no storage", "storage_unavailable")
                stored = await run_in_threadpool(
                    store.after, last.boot, last.seq, self.replay_events
                )
            except StorageError:
                stored = []
                complete = False
            if len(stored) >= self.replay_events:
                complete = False
            for item in stored:
                if item.boot == self.boot and item.seq > floor:
                    continue  # the log has it
                if item.boot > self.boot:
                    continue
                out.append(
                    sse(str(EventId(item.boot, item.seq)), "scan", item.scan.model_dump_json())
                )
        oldest = self.clock() - self.retention
        out.extend(
            self.format(e)
            for e in from_log
            if not (isinstance(e, ScanEvent) and e.scan.received_at < oldest)
        )
        if not complete:
            out.insert(0, _incomplete("some missed scans could not be replayed: reload /v1/scans"))
        return out


class _Listener:
    """A stream's or a waiter's queue, filled by the hub in the event loop."""

    __slots__ = ("overflowed", "queue")

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.overflowed = False

    def put(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A client this far behind is closed; it reconnects with Last-Event-ID.
            self.overflowed = True


def _incomplete(message: str) -> bytes:
    data = json.dumps({"code": "replay_incomplete", "message": message})
    return f"event: replay_incomplete\ndata: {data}\n\n".encode()

"""The API's fan-out of the bus: server-sent event streams and `/v1/scans/next` waiters.

One bus subscription for the whole API, one wake-up per event however many clients listen;
each event is rendered once and handed to every stream and waiter. The hub keeps no scan: the
scans service (`scanner_agent.scans`) keeps them, and the hub asks it for the scans a
reconnecting client missed. It remembers only the last `replay_events` device changes of this
run, for the same purpose.

Event ids are `<boot>-<seq>`: `seq` is the bus sequence number and `boot` identifies the run of
the agent (chosen by the scans service, above every boot already in the database), so ids keep
increasing across restarts. A client that reconnects with `Last-Event-ID`:

- from this run, within the last `api.replay_events` scans: gets every event it missed, scans
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
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from scanner_agent.bus import DeviceEvent, Event, EventBus, ScanEvent, Subscription
from scanner_agent.scan import Scan
from scanner_agent.scans import ScanService

log = logging.getLogger(__name__)

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
    """Subscribes to the bus for the API; one asyncio task hands each event to the listeners."""

    def __init__(self, bus: EventBus, scans: ScanService, *, replay_events: int) -> None:
        self.bus = bus
        self.scans = scans
        self.replay_events = replay_events
        self.clients = 0
        self.waiters = 0
        """Requests waiting on /v1/scans/next."""
        self._devices: deque[DeviceEvent] = deque(maxlen=max(1, replay_events))
        self._last_seq = 0
        self._listeners: set[_Listener] = set()
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def boot(self) -> int:
        return self.scans.boot

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
        assert self._sub is not None
        while True:
            event = await self._sub.aget()
            if event is None:
                return
            self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, DeviceEvent):
            self._devices.append(event)
        self._last_seq = max(self._last_seq, event.seq)
        if not self._listeners:
            return
        text = self.format(event)
        for listener in list(self._listeners):
            listener.put(event, text)

    def format(self, event: Event) -> bytes:
        """The SSE text of `event`."""
        event_id = str(EventId(self.boot, event.seq))
        if isinstance(event, ScanEvent):
            return sse(event_id, "scan", event.scan.model_dump_json())
        return sse(event_id, "device", event.status.model_dump_json())

    # --- long-poll ---
    async def next_scan(self, device: str | None, timeout: float) -> Scan | None:
        """The next scan (of `device`) published from now on, or None after `timeout` s."""
        listener = _Listener(256)
        self._listeners.add(listener)
        self.waiters += 1
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event, _ = await listener.queue.get()
                    if isinstance(event, ScanEvent) and device in (None, event.scan.device_id):
                        return event.scan
        except TimeoutError:
            return None
        finally:
            self._listeners.discard(listener)
            self.waiters -= 1

    # --- server-sent events ---
    async def stream(self, last: str | None, keepalive_s: float) -> AsyncIterator[bytes]:
        """The event stream of one client: what it missed after `last`, then live events.

        Noting the last event handed out and starting to listen happen in one step of the
        event loop (no `await` between), so no event falls between the replay (up to that
        event) and the live part (after it).
        """
        listener = _Listener(4096)
        high = self._last_seq
        devices = list(self._devices)
        self._listeners.add(listener)
        self.clients += 1
        try:
            yield b"retry: 2000\n\n"
            if last is not None:
                for chunk in await self._replay(last, high, devices):
                    yield chunk
            while not listener.overflowed:
                try:
                    async with asyncio.timeout(keepalive_s):
                        _, text = await listener.queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                else:
                    yield text
            log.warning("an event stream fell %d events behind: closed", listener.queue.maxsize)
        finally:
            self._listeners.discard(listener)
            self.clients -= 1

    async def _replay(self, last_text: str, high: int, devices: list[DeviceEvent]) -> list[bytes]:
        last = EventId.parse(last_text)
        boot = self.boot
        if last is None or last > EventId(boot, high):
            return [_incomplete("the Last-Event-ID is not one of this agent's event ids")]
        scans, complete = await run_in_threadpool(
            self.scans.replay, last.boot, last.seq, high, self.replay_events
        )
        items = [((s.boot, s.seq), sse(f"{s.boot}-{s.seq}", "scan", s.json)) for s in scans]
        items += [
            ((boot, e.seq), self.format(e))
            for e in devices
            if e.seq <= high and (last.boot < boot or e.seq > last.seq)
        ]
        items.sort(key=lambda item: item[0])
        out = [text for _, text in items]
        if not complete:
            out.insert(0, _incomplete("some missed scans could not be replayed: reload /v1/scans"))
        return out


class _Listener:
    """A stream's or a waiter's queue of `(event, its SSE text)`, filled in the event loop."""

    __slots__ = ("overflowed", "queue")

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[tuple[Event, bytes]] = asyncio.Queue(maxsize)
        self.overflowed = False

    def put(self, event: Event, text: bytes) -> None:
        try:
            self.queue.put_nowait((event, text))
        except asyncio.QueueFull:
            # A client this far behind is closed; it reconnects with Last-Event-ID.
            self.overflowed = True


def _incomplete(message: str) -> bytes:
    data = json.dumps({"code": "replay_incomplete", "message": message})
    return f"event: replay_incomplete\ndata: {data}\n\n".encode()

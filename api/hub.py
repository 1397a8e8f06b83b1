"""The API's fan-out of the bus: server-sent event streams and `/v1/scans/next` waiters.

One bus subscription for the whole API, one wake-up per event however many clients listen;
each event is rendered once and handed to every stream and waiter. The hub keeps no scan: the
scans service (`scanner_agent.scans`) keeps them, and the hub asks it for the scans a
reconnecting client missed. It remembers only the last `replay_events` device changes and the
last `replay_events` claims and releases of this run, for the same purpose.

Events: `scan` (a `Scan`), `device` (a `DeviceStatus`), `claim` (a `ClaimState`: a scan was
claimed, or released when `claimed_by` is null), `code_unreadable` (a `CodeUnreadable`: a
camera sees a code it cannot read; `device_id`, `at`, `message`, `positions`). A
`code_unreadable` is advice of the moment: it is never replayed to a client that reconnects
(a stale "move the card" would mislead), and `/v1/scans/next` waiters ignore it.

`/v1/scans/next` waiters: without a client name, every waiter gets the next scan; with one
(`?claim=`), each waiter tries to claim each next scan for its client (`ScanService.claim`,
atomic), so exactly one of them gets it and the others keep waiting. A waiter whose request
ends while its claim is being made (the server stopping) gives the claim back.

Event ids are `<boot>-<seq>`: `seq` is the bus sequence number and `boot` identifies the run of
the agent (chosen by the scans service, above every boot already in the database), so ids keep
increasing across restarts. A client that reconnects with `Last-Event-ID`:

- from this run, within the last `api.replay_events` scans: gets every event it missed, scans,
  device changes and claims, from memory;
- from an earlier run, or older than memory: gets the scans it missed from the database
  (within the retention; device changes and claims of a past run are not kept: read
  `/v1/devices`), then this run's events from memory;

Replayed scans show their claim as it is now (`claimed_by`, `claimed_at`), so a client that
missed the claims of a past run still sees who holds each scan it is given.
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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from scanner_agent.bus import (
    ClaimEvent,
    DeviceEvent,
    Event,
    EventBus,
    ScanEvent,
    Subscription,
    UnreadableEvent,
)
from scanner_agent.claims import AlreadyClaimed, Claim, ClaimState, ScanNotFound
from scanner_agent.scan import CodeUnreadable, Scan
from scanner_agent.scans import ScanService
from scanner_agent.storage import StorageError

log = logging.getLogger(__name__)

_EVENT_ID = re.compile(r"^([0-9]{1,19})-([0-9]{1,19})$")


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

    def __init__(
        self,
        bus: EventBus,
        scans: ScanService,
        *,
        replay_events: int,
        judge: Callable[[str], str] | None = None,
    ) -> None:
        self.bus = bus
        self.scans = scans
        self.replay_events = replay_events
        self.judge = judge
        """Judges a replayed scan's JSON again for today (a scan missed yesterday is shown
        as it stands today); live scans were judged when they were read, a moment ago."""
        self.clients = 0
        self.waiters = 0
        """Requests waiting on /v1/scans/next."""
        self._devices: deque[DeviceEvent] = deque(maxlen=max(1, replay_events))
        self._claims: deque[ClaimEvent] = deque(maxlen=max(1, replay_events))
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
        elif isinstance(event, ClaimEvent):
            self._claims.append(event)
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
        if isinstance(event, ClaimEvent):
            state = ClaimState(
                scan_id=event.scan_id, claimed_by=event.claimed_by, claimed_at=event.claimed_at
            )
            return sse(event_id, "claim", state.model_dump_json())
        if isinstance(event, UnreadableEvent):
            notice = CodeUnreadable(
                device_id=event.device_id,
                at=event.at,
                positions=[list(place) for place in event.positions],
            )
            return sse(event_id, "code_unreadable", notice.model_dump_json())
        return sse(event_id, "device", event.status.model_dump_json())

    # --- long-poll ---
    async def next_scan(
        self, device: str | None, timeout: float, claim: str | None = None
    ) -> Scan | None:
        """The next scan (of `device`) published from now on, or None after `timeout` s.

        With `claim` (a client's name), the next scan this waiter manages to claim for that
        client, shown claimed: of several waiters, exactly one gets each scan. A claim being
        made when the time is up is seen through (the answer comes a moment late rather than
        leaving a scan claimed for nobody)."""
        listener = _Listener(256)
        self._listeners.add(listener)
        self.waiters += 1
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        event, _ = await listener.queue.get()
                except TimeoutError:
                    return None
                if not isinstance(event, ScanEvent) or device not in (None, event.scan.device_id):
                    continue
                if not self.scans.retention.keeps(event.scan):
                    continue  # received past the retention: never served
                if claim is None:
                    return event.scan
                taken = await self._claim_for(event.scan.id, claim)
                if taken is not None:
                    update = {"claimed_by": taken.claimed_by, "claimed_at": taken.claimed_at}
                    return event.scan.model_copy(update=update)
        finally:
            self._listeners.discard(listener)
            self.waiters -= 1

    async def _claim_for(self, scan_id: str, client: str) -> Claim | None:
        """Claim the scan for a waiter in a worker thread (the database may be written); None
        when another client was first, or the scan is gone."""
        attempt = asyncio.ensure_future(run_in_threadpool(self._try_claim, scan_id, client))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:  # the request ends: nobody will be given this claim
            attempt.add_done_callback(self._give_back)
            raise

    def _try_claim(self, scan_id: str, client: str) -> Claim | None:
        try:
            return self.scans.claim(scan_id, client, reclaim=False)
        except (AlreadyClaimed, ScanNotFound):
            return None
        except StorageError as exc:
            log.warning("a waiter could not claim a scan (%s)", exc.code)
            return None

    def _give_back(self, attempt: asyncio.Future[Claim | None]) -> None:
        if attempt.cancelled() or attempt.exception() is not None:
            return
        claim = attempt.result()
        if claim is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop or its executor is closing
            asyncio.get_running_loop().run_in_executor(
                None, self._release_quietly, claim.scan_id, claim.claimed_by
            )

    def _release_quietly(self, scan_id: str, client: str) -> None:
        with contextlib.suppress(AlreadyClaimed, ScanNotFound, StorageError):
            self.scans.release(scan_id, client)

    # --- server-sent events ---
    async def stream(self, last: str | None, keepalive_s: float) -> AsyncIterator[bytes]:
        """The event stream of one client: what it missed after `last`, then live events.

        Noting the last event handed out and starting to listen happen in one step of the
        event loop (no `await` between), so no event falls between the replay (up to that
        event) and the live part (after it).
        """
        listener = _Listener(4096)
        high = self._last_seq
        kept: list[DeviceEvent | ClaimEvent] = [*self._devices, *self._claims]
        self._listeners.add(listener)
        self.clients += 1
        try:
            yield b"retry: 2000\n\n"
            if last is not None:
                for chunk in await self._replay(last, high, kept):
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

    async def _replay(
        self, last_text: str, high: int, kept: list[DeviceEvent | ClaimEvent]
    ) -> list[bytes]:
        last = EventId.parse(last_text)
        boot = self.boot
        if last is None or last > EventId(boot, high):
            return [_incomplete("the Last-Event-ID is not one of this agent's event ids")]
        scans, complete = await run_in_threadpool(
            self.scans.replay, last.boot, last.seq, high, self.replay_events
        )
        judge = self.judge or (lambda text: text)
        items = [((s.boot, s.seq), sse(f"{s.boot}-{s.seq}", "scan", judge(s.json))) for s in scans]
        items += [
            ((boot, e.seq), self.format(e))
            for e in kept
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

"""The one bridge between device threads and the asyncio world of the API.

    bus = EventBus()
    sub = bus.subscribe("sse", maxsize=256)        # before or after the loop starts
    bus.publish(ScanEvent(scan))                   # from any thread; never blocks
    bus.publish(ClaimEvent(scan_id, "desk-2", at)) # a scan was claimed (or released: None)
    bus.publish(UnreadableEvent("cam", at, places)) # a camera sees a code it cannot read
    event = await sub.aget(timeout=5)              # asyncio side
    event = sub.get(timeout=5)                     # thread side (storage writer)

Each subscription has its own bounded queue. When a subscriber falls behind, it loses its own
oldest events, and `dropped` counts them; publishers are never slowed down and other subscribers
never notice. Every published event gets a sequence number, increasing for the life of the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Union

from scanner_agent.scan import DeviceStatus, Scan


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """A code was read and parsed (the attestation says whether it was accepted)."""

    scan: Scan
    seq: int = 0


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A device changed state (connected, disconnected, error...) or learned a diagnostic."""

    status: DeviceStatus
    seq: int = 0


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    """A scan was claimed by a client (`claimed_by`, `claimed_at`), or released (both None)."""

    scan_id: str
    claimed_by: str | None
    claimed_at: datetime | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class UnreadableEvent:
    """A camera sees a place that looks like a Data Matrix but no pass could read it (too far,
    blurred, badly lit): the desk should move the card or light it rather than wait. Only the
    device, the time (UTC) and where the places are in the frame (`positions`: corners in
    pixels): never personal data. Published by the pipeline, at most every few seconds per
    device (`scanner_agent.framing.camera.SymbolTracker` says when)."""

    device_id: str
    at: datetime
    positions: tuple[tuple[tuple[int, int], ...], ...] = ()
    seq: int = 0


Event = Union[ScanEvent, DeviceEvent, ClaimEvent, UnreadableEvent]  # noqa: UP007 - a runtime alias, used in isinstance checks


class Subscription:
    """One subscriber's bounded queue. Iterate it (`async for`) or call `get`/`aget`."""

    def __init__(self, bus: EventBus, name: str, maxsize: int) -> None:
        self.name = name
        self.maxsize = maxsize
        self.dropped = 0
        self._bus = bus
        self._items: deque[Event] = deque()
        self._cond = threading.Condition()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    # --- publisher side (any thread) ---
    def _put(self, event: Event) -> None:
        with self._cond:
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(event)
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, flag in waiters:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(flag.set)

    # --- subscriber side ---
    def get_nowait(self) -> Event | None:
        with self._cond:
            return self._items.popleft() if self._items else None

    def get(self, timeout: float | None = None) -> Event | None:
        """Block this thread until an event arrives; None at the timeout or when closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items and not self.closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._items.popleft() if self._items else None

    async def aget(self, timeout: float | None = None) -> Event | None:
        """Wait in the event loop for an event; None at the timeout or when closed."""
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        key = (loop, flag)
        with self._cond:
            if self._items:
                return self._items.popleft()
            if self.closed:
                return None
            self._waiters.add(key)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await flag.wait()
                    flag.clear()
                    event, done = self._take()
                    if done:
                        return event
        except TimeoutError:
            return None
        finally:
            with self._cond:
                self._waiters.discard(key)

    def _take(self) -> tuple[Event | None, bool]:
        """(event, True) when there is one; (None, True) when closed; (None, False) otherwise."""
        with self._cond:
            if self._items:
                return self._items.popleft(), True
            return None, self.closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        event = await self.aget()
        if event is None:
            raise StopAsyncIteration
        return event

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self) -> None:
        """Stop receiving; wakes every waiter, which then gets None."""
        self._bus._remove(self)
        with self._cond:
            self.closed = True
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, flag in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(flag.set)


@dataclass
class EventBus:
    """Publish from anywhere; each subscription gets every event published after it was made."""

    _subscriptions: list[Subscription] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    published: int = 0

    def subscribe(self, name: str, maxsize: int = 1024) -> Subscription:
        sub = Subscription(self, name, maxsize)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    def publish(self, event: Event) -> Event:
        """Stamp `event` with the next sequence number and hand it to every subscriber."""
        stamped = self.stamp(event)
        self.deliver(stamped)
        return stamped

    def stamp(self, event: Event) -> Event:
        """`event` with the next sequence number, not delivered yet: a publisher that must do
        something between the two (the scans service makes the scan durable) calls `deliver`
        next, under its own lock so that events are delivered in sequence order."""
        with self._lock:
            stamped: Event
            if isinstance(event, ScanEvent):
                stamped = ScanEvent(event.scan, next(self._seq))
            elif isinstance(event, ClaimEvent):
                stamped = ClaimEvent(
                    event.scan_id, event.claimed_by, event.claimed_at, next(self._seq)
                )
            elif isinstance(event, UnreadableEvent):
                stamped = UnreadableEvent(
                    event.device_id, event.at, event.positions, next(self._seq)
                )
            else:
                stamped = DeviceEvent(event.status, next(self._seq))
            return stamped

    def deliver(self, stamped: Event) -> None:
        """Hand a stamped event to every subscriber."""
        with self._lock:
            self.published += 1
            subscribers = list(self._subscriptions)
        for sub in subscribers:
            sub._put(stamped)

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions)

    def _remove(self, sub: Subscription) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)

"""The scans service: the one place that receives, keeps, finds and erases scans.

    scans = ScanService.from_settings(settings, bus)   # memory window + the configured store
    scans.start()                                      # this run's boot id; the writer thread
    event = scans.record(scan)                         # kept, queued for the store, published
    page = scans.recent(ScanFilter(device="desk"), limit=100)
    page.body()                                        # b'[{...},{...}]', ready to serve
    scans.recent(ScanFilter(), 100, page.next_cursor)  # the next page
    scans.latest("desk"); scans.get(scan_id)
    scans.erase(scan_id); scans.erase_all(device="desk")
    scans.claim(scan_id, "desk-2")                     # Claim, or AlreadyClaimed (who, when)
    scans.release(scan_id)                             # the claim removed, or None
    scans.wait_next(device="kiosk", timeout=30)        # a thread blocks; `await_next` in asyncio
    scans.stop()

`record` is the single point where a scan enters: under one lock, it is published on the bus as
a `ScanEvent` (which numbers it), put into the window of recent scans (the last `window` scans of
this run, kept as served JSON) and into the writer's backlog; whoever receives the event and
asks `get` waits for that lock, so finds the scan. (Making it durable before any subscriber can
see it is issue 13's.) The pipeline calls it for every device frame and every uploaded symbol; tests
and tools may call it too.

Reads merge the store with what is not written yet (the writer's backlog is read first, then the
database, so a scan being written is found in one or the other). A scan received more than
`storage.retention_hours` ago is never served and is erased every minute. Erasure removes a scan
from the window, the backlog and the database at once (see `scanner_agent.storage.retention`).

Each scan keeps the `(boot, seq)` of its bus event: `boot` identifies this run of the agent (its
start in milliseconds, above every run already in the database), `seq` is the bus sequence
number. The API's event ids (`<boot>-<seq>`) are made of them; `replay` gives what a client
reconnecting after `(boot, seq)` missed.

Pages are ordered newest first by `(received_at, id)`; a cursor (`ScanPage.next_cursor`) is a
text for the position of the last scan of a page, opaque to clients.

Claims (one desk per scan, `scanner_agent.claims`): `claim` gives a scan to the first client
that asks, atomically, and `release` takes the claim away; each change is published on the bus
as a `ClaimEvent`. The claim is kept where the scan is: in the writer's backlog (the scan waiting
there is replaced by its claimed copy, so that the row is written with its claim) or in the
database (one conditional UPDATE, so that of several agents on one PostgreSQL exactly one wins),
and shown in the window. Claims and releases of a process are serialised under the writer's
`write_lock` (the lock erasure holds), so that a scan is never being written while its claim
changes. Every read serves `claimed_by` and `claimed_at`. A claim made through another agent
sharing the database is enforced here (`AlreadyClaimed`), and shown by this agent's reads once
they come from the database rather than from this agent's window.

Without a store (`ScanService(bus)`, as `watch` runs) the window is all there is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from scanner_agent.bus import ClaimEvent, EventBus, ScanEvent, Subscription
from scanner_agent.claims import AlreadyClaimed, Claim, ScanNotFound, check_client, with_claim
from scanner_agent.indicators import (
    Indicator,
    IndicatorCounter,
    IndicatorQuery,
    IndicatorReport,
    aggregate,
    with_workstations,
)
from scanner_agent.scan import Scan

if TYPE_CHECKING:
    from scanner_agent.config import Settings
    from scanner_agent.storage import (
        Journal,
        Row,
        StorageProblem,
        StorageState,
        StorageWriter,
        Store,
    )

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _host_name() -> str:
    import socket  # noqa: PLC0415

    return socket.gethostname().split(".")[0][:64] or "workstation"


class InvalidCursor(ValueError):
    """A cursor that this service did not give (code `invalid_cursor`)."""

    code = "invalid_cursor"


@dataclass(frozen=True, slots=True)
class ScanFilter:
    """Which scans: those of `device` (or `upload`), received at or after `since`."""

    device: str | None = None
    since: datetime | None = None

    def matches(self, device_id: str, received_at: datetime) -> bool:
        return (self.device is None or device_id == self.device) and (
            self.since is None or received_at >= self.since
        )


@dataclass(frozen=True, slots=True)
class Recorded:
    """A scan of the window: its event's position, what filters need, and its JSON."""

    boot: int
    seq: int
    id: str
    device_id: str
    received_at: datetime
    json: str
    """The scan as served (member number and claim included)."""
    claimed_by: str | None = None
    claimed_at: datetime | None = None

    def scan(self) -> Scan:
        return Scan.model_validate_json(self.json)


@dataclass(frozen=True, slots=True)
class ScanPage:
    """A page of scans, newest first, and the cursor of the next page (None on the last)."""

    items: list[Row]
    next_cursor: str | None

    def body(self) -> bytes:
        """The JSON list, made by joining the scans' JSON texts."""
        return ("[" + ",".join(item.json for item in self.items) + "]").encode()

    def scans(self) -> list[Scan]:
        return [Scan.model_validate_json(item.json) for item in self.items]


CURSOR_PATTERN = r"^[0-9]{1,16}~[0-9A-Za-z_-]{1,64}$"
"""Every text of this form is a position (so a client cannot make one that fails later)."""
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(received_at: datetime, scan_id: str) -> str:
    """The cursor of a position: microseconds since 1970 (UTC), `~`, the scan id."""
    delta = received_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}~{scan_id}"


def decode_cursor(text: str) -> tuple[datetime, str]:
    """The position a cursor stands for; `InvalidCursor` when it is not one."""
    if _CURSOR.match(text) is None:
        raise InvalidCursor("not a cursor of this API")
    micros, scan_id = text.split("~", 1)
    return _EPOCH + timedelta(microseconds=int(micros)), scan_id


@dataclass(frozen=True, slots=True)
class StorageStatus:
    """What health, metrics and the self-test say about storage."""

    state: StorageState
    where: str
    pending: int = 0
    written: int = 0
    failures: int = 0
    unexpected: int = 0
    """Failures that were not the database's (`StorageWriter.unexpected`)."""
    dropped: int = 0
    replaced: int = 0
    """Times the SQLite file was found deleted or replaced (`Store.replaced`)."""
    last_error: StorageProblem | None = None


def probe_storage(settings: Settings) -> str:
    """Open the configured database and read from it; where it is. Raises `StorageError`,
    `ConfigError` or `OSError` (for `scanner-agent selftest`, with the agent stopped)."""
    from scanner_agent.storage import Store  # noqa: PLC0415 - the database stack, on demand

    store = Store.from_settings(settings)
    try:
        store.ping()
        return store.describe()
    finally:
        store.close()


def read_indicators(settings: Settings, query: IndicatorQuery) -> IndicatorReport:
    """The indicators report of `query` read from the configured database directly, whether the
    agent runs or not (`scanner-agent report`): every workstation writing to it (a shared
    PostgreSQL: all of them). What a running agent has not written yet is not in it (a stopped
    agent has written everything; a killed one writes its journal at its next start). Raises
    `StorageError`, `ConfigError`."""
    from scanner_agent.storage import Store  # noqa: PLC0415 - the database stack, on demand

    store = Store.from_settings(settings)
    try:
        return with_workstations(lambda q: aggregate(store.indicator_rows(q), q), query)
    finally:
        store.close()


class ScanService:
    """Receives, keeps, finds and erases scans. Thread-safe."""

    def __init__(
        self,
        bus: EventBus,
        store: Store | None = None,
        *,
        retention_hours: float = 24,
        window: int = 10_000,
        max_pending: int = 100_000,
        purge_interval_s: float = 60,
        clock: Callable[[], datetime] = utc_now,
        journal: Journal | None = None,
        counter: IndicatorCounter | None = None,
        indicator_retention_days: int = 731,
    ) -> None:
        from scanner_agent.storage import Retention  # noqa: PLC0415

        self.counter = counter or IndicatorCounter(_host_name())
        """Makes each scan's indicator (`scanner_agent.indicators`)."""
        self.indicator_retention_days = indicator_retention_days
        """Indicator rows older than this many days are deleted (0: never)."""
        self._indicators: deque[Indicator] = deque(maxlen=max_pending)
        """Without a store: the indicators of this run (the store keeps them otherwise)."""
        self.bus = bus
        self.store = store
        self.retention = Retention(retention_hours, clock)
        self.window = max(1, window)
        self.clock = clock
        self.boot = int(time.time() * 1000)
        self.purged = 0
        self._lock = threading.RLock()
        self._recent: deque[Recorded] = deque()
        self._by_id: dict[str, Recorded] = {}
        self._floor = 0
        """Every scan of this run with a seq above this one is in the window (unless erased)."""
        self.writer: StorageWriter | None = None
        if store is not None:
            from scanner_agent.storage import StorageWriter  # noqa: PLC0415

            self.writer = StorageWriter(
                store,
                periodic=self.purge_now,
                periodic_interval_s=purge_interval_s,
                max_pending=max_pending,
                clock=clock,
                journal=journal,
            )
        self.running = False

    @classmethod
    def from_settings(
        cls, settings: Settings, bus: EventBus, *, storage: bool = True
    ) -> ScanService:
        """The service of `settings`: its store and journal (unless `storage` is False), its
        retention, a window of `api.replay_events` scans."""
        store = journal = None
        if storage:
            from scanner_agent.storage import Journal, Store, read_or_create_secret  # noqa: PLC0415

            store = Store.from_settings(settings)
            if settings.storage.journal:
                journal = Journal.open(
                    settings.path(settings.storage.journal),
                    read_or_create_secret(settings.path(settings.storage.key_file)),
                    fsync=settings.storage.journal_fsync,
                )
        return cls(
            bus,
            store,
            retention_hours=settings.storage.retention_hours,
            window=settings.api.replay_events,
            max_pending=max(1024, settings.pipeline.queue_size * 100),
            journal=journal,
            counter=IndicatorCounter.from_settings(settings),
            indicator_retention_days=settings.indicators.retention_days,
        )

    # --- life ---
    def start(self) -> None:
        """Pick this run's boot id (above every boot in the database) and start writing."""
        if self.running:
            return
        if self.store is not None:
            from scanner_agent.storage import StorageError  # noqa: PLC0415

            now = int(time.time() * 1000)
            try:
                self.boot = max(now, self.store.max_boot() + 1)
            except StorageError as exc:
                log.warning("storage unavailable at start (%s): event ids from the clock", exc.code)
                self.boot = now
        if self.writer is not None:
            self.writer.start()
        self.running = True

    def stop(self) -> None:
        """Write what waits (as far as the database allows), then close the store."""
        if self.writer is not None:
            self.writer.stop()
        if self.store is not None:
            self.store.close()
        self.running = False

    # --- in ---
    def record(self, scan: Scan, *, decode_ms: float | None = None) -> ScanEvent:
        """Keep `scan` (the writer's journal and backlog, then the window), then publish it, in
        one step; the published event. With a journal, a scan is on disk before any client can
        receive it. Its indicator (`decode_ms`: the time the agent took to read it) goes with it:
        written in the same transaction, and kept when the scan is erased."""
        text = scan.model_dump_json()
        indicator = self.counter.of_scan(scan, decode_ms)
        with self._lock:
            event = self.bus.stamp(ScanEvent(scan))
            assert isinstance(event, ScanEvent)
            if self.writer is not None:
                from scanner_agent.storage import Stored  # noqa: PLC0415

                # journaled, then queued
                self.writer.put(Stored(self.boot, event.seq, scan, indicator))
            else:
                self._indicators.append(indicator)
            entry = Recorded(
                self.boot,
                event.seq,
                scan.id,
                scan.device_id,
                scan.received_at,
                text,
                scan.claimed_by,
                scan.claimed_at,
            )
            self._recent.append(entry)
            self._by_id[scan.id] = entry
            while len(self._recent) > self.window:
                old = self._recent.popleft()
                self._floor = old.seq
                if self._by_id.get(old.id) is old:
                    del self._by_id[old.id]
            self.bus.deliver(event)
        return event

    # --- indicators ---
    def count(self, indicator: Indicator) -> None:
        """Count an event that is not a recorded scan (a code seen but not read, an attestation
        typed by hand and not kept): into the store's indicators, through the writer's journal
        and backlog like a scan's."""
        if self.writer is not None:
            self.writer.put_indicator(indicator)
        else:
            self._indicators.append(indicator)

    def count_scan(self, scan: Scan, decode_ms: float | None = None) -> None:
        """Count a scan that is not recorded (an attestation typed by hand, `store_manual`
        off)."""
        self.count(self.counter.of_scan(scan, decode_ms))

    def count_unreadable(
        self, device_id: str, at: datetime, count: int = 1, source: str | None = None
    ) -> None:
        """Count `count` codes seen by `device_id` and not read."""
        self.count(self.counter.of_unreadable(device_id, at, count, source))

    def indicators(self, query: IndicatorQuery) -> IndicatorReport:
        """The indicators report of `query`: the store's rows (every workstation that writes to
        it) and those not written yet. Raises `StorageError` when the database cannot be
        read."""
        if self.store is None or self.writer is None:
            return aggregate(list(self._indicators), query)
        with self.writer.write_lock:  # nothing moves from the backlog to the table meanwhile
            waiting = [i for i in self.writer.pending_indicators() if query.keeps(i.row())]
            rows = self.store.indicator_rows(query)
            if waiting:  # a batch whose commit was not acknowledged, a journal replayed
                stored = self.store.stored_indicators([i.id for i in waiting])
                waiting = [i for i in waiting if i.id not in stored]
        return aggregate([*rows, *waiting], query)

    # --- reads ---
    @property
    def reads_are_quick(self) -> bool:
        """`recent` answers from memory or a local SQLite index in a fraction of a millisecond,
        so the event loop may call it directly rather than through a worker thread (whose hand-
        over costs more than the read, under concurrent requests). False for a database server,
        whose reads may wait on the network."""
        return self.store is None or self.store.reads_are_quick

    def recent(
        self, filters: ScanFilter | None = None, limit: int = 100, cursor: str | None = None
    ) -> ScanPage:
        """Scans newest first, `limit` at most, after `cursor` (from a previous page).
        Raises `InvalidCursor`, and `StorageError` when the database cannot be read."""
        filters = filters or ScanFilter()
        before = decode_cursor(cursor) if cursor is not None else None
        cutoff = self.retention.cutoff()
        since = cutoff if filters.since is None else max(filters.since, cutoff)
        wanted = ScanFilter(filters.device, since)

        def keep(device_id: str, received_at: datetime, scan_id: str) -> bool:
            if not wanted.matches(device_id, received_at):
                return False
            return before is None or (received_at, scan_id) < before

        from scanner_agent.storage import Row  # noqa: PLC0415

        items: list[Row] = []
        if self.store is None or self.writer is None:
            with self._lock:
                entries = list(self._recent)
            for e in entries:
                if keep(e.device_id, e.received_at, e.id):
                    items.append(Row(e.received_at, e.id, e.json))
            items.sort(key=lambda item: (item.received_at, item.id), reverse=True)
        else:
            from scanner_agent.storage import Position  # noqa: PLC0415

            backlog = self.writer.backlog()  # first: a scan being written is in one or the other
            # The query leaves the retention's cutoff out (it moves at every call; the store
            # keeps pages by query): rows are newest first, so the rows past the cutoff are the
            # last ones, and cutting them leaves exactly the page within the retention.
            rows = self.store.page(
                filters.device,
                filters.since,
                limit + 1,
                Position(*before) if before is not None else None,
            )
            if rows and rows[-1].received_at < cutoff:
                rows = [row for row in rows if row.received_at >= cutoff]
            items = rows
            if backlog:
                known = {item.id for item in items}
                for stored in backlog:
                    scan = stored.scan
                    if scan.id not in known and keep(scan.device_id, scan.received_at, scan.id):
                        items.append(Row(scan.received_at, scan.id, self._json_of(scan)))
                items.sort(key=lambda item: (item.received_at, item.id), reverse=True)
        more = len(items) > limit
        del items[limit:]
        last = items[-1] if more and items else None
        return ScanPage(items, encode_cursor(last.received_at, last.id) if last else None)

    def _json_of(self, scan: Scan) -> str:
        with self._lock:
            entry = self._by_id.get(scan.id)
        return entry.json if entry is not None else scan.model_dump_json()

    def latest(self, device: str | None = None) -> Scan | None:
        """The last scan recorded (of `device`) within the retention; from the store when none
        was recorded in this run."""
        cutoff = self.retention.cutoff()
        with self._lock:
            for entry in reversed(self._recent):
                if device is None or entry.device_id == device:
                    return entry.scan() if entry.received_at >= cutoff else None
        if self.store is None:
            return None
        rows = self.store.page(device, None, 1)  # the newest: the query the store keeps
        if not rows or rows[0].received_at < cutoff:
            return None
        return Scan.model_validate_json(rows[0].json)

    def get(self, scan_id: str) -> Scan | None:
        """The scan with this id, within the retention, or None."""
        cutoff = self.retention.cutoff()
        with self._lock:
            entry = self._by_id.get(scan_id)
        if entry is not None:
            return entry.scan() if entry.received_at >= cutoff else None
        if self.writer is not None:
            for stored in self.writer.backlog():
                if stored.scan.id == scan_id:
                    return stored.scan if stored.scan.received_at >= cutoff else None
        if self.store is None:
            return None
        scan = self.store.get(scan_id)
        return scan if scan is not None and scan.received_at >= cutoff else None

    def replay(self, boot: int, seq: int, upto_seq: int, limit: int) -> tuple[list[Recorded], bool]:
        """The scans published after the event `(boot, seq)` and up to `(self.boot, upto_seq)`,
        oldest first, within the retention; and whether that list is complete (False when the
        database could not be read or more than `limit` scans were missed)."""
        from scanner_agent.storage import StorageError  # noqa: PLC0415

        cutoff = self.retention.cutoff()
        with self._lock:
            window = list(self._recent)
            floor = self._floor
        complete = True
        out: list[Recorded] = []
        if boot == self.boot and seq >= floor:
            from_window = [e for e in window if e.seq > seq]
        else:
            from_window = window
            try:
                if self.store is None:
                    raise StorageError("no storage", "storage_unavailable")
                stored = self.store.after(boot, seq, limit)
            except StorageError:
                stored, complete = [], False
            if len(stored) >= limit:
                complete = False
            for item in stored:
                if item.boot > self.boot or (item.boot == self.boot and item.seq > floor):
                    continue  # the window has it
                scan = item.scan
                out.append(
                    Recorded(
                        item.boot,
                        item.seq,
                        scan.id,
                        scan.device_id,
                        scan.received_at,
                        scan.model_dump_json(),
                    )
                )
        out.extend(e for e in from_window if e.seq <= upto_seq)
        return [e for e in out if e.received_at >= cutoff], complete

    # --- claims ---
    def claim(self, scan_id: str, client: str, *, reclaim: bool = True) -> Claim:
        """Give the scan to `client`, atomically: the first client wins. The claim.

        A client that already holds the claim gets it again, unchanged (`claimed_at` is the
        first claim's): a desk may repeat its request after a lost answer. With `reclaim`
        False it is refused like any other client (`/next?claim=`: one scan, one request).

        Raises `InvalidClient`, `ScanNotFound` (no such scan, erased, or past the retention),
        `AlreadyClaimed` (another client holds it: `exc.claim` says who and since when), and
        `StorageError` when the database cannot be changed."""
        check_client(client)
        at = self.clock()
        cutoff = self.retention.cutoff()
        with self._erasing():  # the writer writes nothing meanwhile
            held, taken = self._claim_where_kept(scan_id, client, at, cutoff)
            if held is None:
                raise ScanNotFound(scan_id)
            self._show_claim(scan_id, held.claimed_by, held.claimed_at)
            if taken:
                self.bus.publish(ClaimEvent(scan_id, client, at))
        if taken:  # a client names a desk, not a person: no personal data
            log.info("scan %s claimed by %s", scan_id, client)
        if taken or (held.claimed_by == client and reclaim):
            return held
        raise AlreadyClaimed(held)

    def release(self, scan_id: str, client: str | None = None) -> Claim | None:
        """Take the claim away from the scan, whoever holds it (a supervisor frees a desk's
        scan), or, with `client`, only when that client holds it. The claim removed; None when
        the scan was not claimed (releasing is idempotent).

        Raises `InvalidClient`, `ScanNotFound`, `AlreadyClaimed` (`client` given and another
        client holds it: nothing changes) and `StorageError`."""
        if client is not None:
            check_client(client)
        cutoff = self.retention.cutoff()
        with self._erasing():
            found, held = self._release_where_kept(scan_id, client, cutoff)
            if not found:
                raise ScanNotFound(scan_id)
            if held is None:
                return None
            if client is not None and held.claimed_by != client:
                self._show_claim(scan_id, held.claimed_by, held.claimed_at)
                raise AlreadyClaimed(held)
            self._show_claim(scan_id, None, None)
            self.bus.publish(ClaimEvent(scan_id, None, None))
        log.info("scan %s released (claimed by %s)", scan_id, held.claimed_by)
        return held

    def _claim_where_kept(
        self, scan_id: str, client: str, at: datetime, cutoff: datetime
    ) -> tuple[Claim | None, bool]:
        """Claim it where it is (backlog, database or, without a store, the window): the claim
        that holds it then (None when there is no such scan), and whether it is this new one.
        Hold `_erasing()`."""
        mine = Claim(scan_id, client, at)
        waiting = self.writer.waiting(scan_id) if self.writer is not None else None
        if waiting is not None and self.writer is not None:
            scan = waiting.scan
            if scan.received_at < cutoff:
                return None, False
            if scan.claimed_by is not None and scan.claimed_at is not None:
                return Claim(scan_id, scan.claimed_by, scan.claimed_at), False
            claimed = scan.model_copy(update={"claimed_by": client, "claimed_at": at})
            if self.writer.replace(replace(waiting, scan=claimed)):
                return mine, True
        if self.store is not None:
            held = self.store.claim(scan_id, client, at, cutoff)
            return held, held == mine
        with self._lock:
            entry = self._by_id.get(scan_id)
        if entry is None or entry.received_at < cutoff:
            return None, False
        if entry.claimed_by is not None and entry.claimed_at is not None:
            return Claim(scan_id, entry.claimed_by, entry.claimed_at), False
        return mine, True  # the window is all there is: `_show_claim` keeps it

    def _release_where_kept(
        self, scan_id: str, client: str | None, cutoff: datetime
    ) -> tuple[bool, Claim | None]:
        """As `Store.release`, wherever the scan is. Hold `_erasing()`."""
        waiting = self.writer.waiting(scan_id) if self.writer is not None else None
        if waiting is not None and self.writer is not None:
            scan = waiting.scan
            if scan.received_at < cutoff:
                return False, None
            if scan.claimed_by is None or scan.claimed_at is None:
                return True, None
            held = Claim(scan_id, scan.claimed_by, scan.claimed_at)
            if client is not None and held.claimed_by != client:
                return True, held
            free = scan.model_copy(update={"claimed_by": None, "claimed_at": None})
            if self.writer.replace(replace(waiting, scan=free)):
                return True, held
        if self.store is not None:
            return self.store.release(scan_id, client, cutoff)
        with self._lock:
            entry = self._by_id.get(scan_id)
        if entry is None or entry.received_at < cutoff:
            return False, None
        if entry.claimed_by is None or entry.claimed_at is None:
            return True, None
        return True, Claim(scan_id, entry.claimed_by, entry.claimed_at)

    def _show_claim(self, scan_id: str, by: str | None, at: datetime | None) -> None:
        """The window's copy of the scan (if it has one) shows this claim (none: None)."""
        with self._lock:
            entry = self._by_id.get(scan_id)
            if entry is None or (entry.claimed_by, entry.claimed_at) == (by, at):
                return
            text = with_claim(entry.json, by, at)
            shown = replace(entry, json=text, claimed_by=by, claimed_at=at)
            for i in range(len(self._recent) - 1, -1, -1):  # claims are of recent scans
                if self._recent[i] is entry:
                    self._recent[i] = shown
                    break
            self._by_id[scan_id] = shown

    # --- waiting ---
    def subscribe(self, name: str = "scans", maxsize: int = 1024) -> Subscription:
        """A bus subscription (scans and device events from now on); close it when done."""
        return self.bus.subscribe(name, maxsize)

    def wait_next(self, device: str | None = None, timeout: float | None = None) -> Scan | None:
        """Block this thread until the next scan (of `device`) is recorded; None at the
        timeout."""
        sub = self.subscribe("wait-next", 256)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                event = sub.get(remaining)
                if isinstance(event, ScanEvent) and self._wanted_next(event, device):
                    return event.scan
                if event is None and sub.closed:
                    return None
        finally:
            sub.close()

    def _wanted_next(self, event: ScanEvent, device: str | None) -> bool:
        """A scan for a waiter: of `device`, and within the retention (a scan received past it,
        a device's late frame or a clock put back, is never served)."""
        return device in (None, event.scan.device_id) and self.retention.keeps(event.scan)

    async def await_next(
        self, device: str | None = None, timeout: float | None = None
    ) -> Scan | None:
        """`wait_next` for the event loop."""
        sub = self.subscribe("wait-next", 256)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await sub.aget()
                    if event is None:
                        return None
                    if isinstance(event, ScanEvent) and self._wanted_next(event, device):
                        return event.scan
        except TimeoutError:
            return None
        finally:
            sub.close()

    # --- erasure and retention ---
    def erase(self, scan_id: str) -> bool:
        """Erase one scan from the window, the backlog and the database; False when it was
        nowhere. Raises `StorageError` when the database cannot be changed."""
        with self._erasing():
            found = self._forget(lambda e: e.id == scan_id) > 0
            if self.writer is not None:
                found = self.writer.forget(scan_id) or found
            if self.store is not None:
                found = self.store.delete(scan_id) or found
            return found

    def erase_all(self, device: str | None = None) -> int:
        """Erase every scan (of `device`) everywhere; how many."""
        with self._erasing():
            from_memory = self._forget(lambda e: device is None or e.device_id == device)
            if self.writer is None or self.store is None:
                return from_memory
            pending = self.writer.forget_all(device)
            return max(from_memory, self.store.delete_all(device) + pending)

    def _erasing(self) -> threading.RLock:
        return self.writer.write_lock if self.writer is not None else self._lock

    def _forget(self, doomed: Callable[[Recorded], bool]) -> int:
        with self._lock:
            kept = deque(e for e in self._recent if not doomed(e))
            count = len(self._recent) - len(kept)
            if count:
                self._recent = kept
                self._by_id = {e.id: e for e in kept}
            return count

    def purge_now(self) -> int:
        """Erase what is older than the retention (window and database); how many rows of the
        database were erased. Raises `StorageError`."""
        cutoff = self.retention.cutoff()
        self._forget(lambda e: e.received_at < cutoff)
        if self.store is None:
            return 0
        count = self.store.purge(cutoff)
        self.purged += count
        if count:
            log.info("retention: erased %d scan(s) older than %s", count, self.retention.period)
        self.purge_indicators()
        return count

    def purge_indicators(self) -> int:
        """Delete the indicator rows older than `indicator_retention_days` (0: never), of every
        workstation of the database; how many. Raises `StorageError`."""
        if self.store is None or self.indicator_retention_days <= 0:
            return 0
        today = self.counter.day_of(self.clock())
        count = self.store.purge_indicators(today - timedelta(days=self.indicator_retention_days))
        if count:
            log.info(
                "indicators: deleted %d row(s) older than %d days",
                count,
                self.indicator_retention_days,
            )
        return count

    # --- state ---
    def storage(self) -> StorageStatus:
        writer = self.writer
        if writer is None or self.store is None:
            return StorageStatus(state="stopped", where="none (scans kept in memory only)")
        return StorageStatus(
            state=writer.state,
            where=self.store.describe(),
            pending=writer.pending,
            written=writer.written,
            failures=writer.failures,
            unexpected=writer.unexpected,
            dropped=writer.dropped,
            replaced=self.store.replaced,
            last_error=writer.last_error if writer.state == "error" else None,
        )


__all__ = [
    "CURSOR_PATTERN",
    "InvalidCursor",
    "Recorded",
    "ScanFilter",
    "ScanPage",
    "ScanService",
    "StorageStatus",
    "decode_cursor",
    "encode_cursor",
    "probe_storage",
    "read_indicators",
]

"""The thread that writes scans to the store, in batches, and keeps them while it cannot.

    writer = StorageWriter(store, periodic=service.purge_now)
    writer.start()
    writer.put(Stored(boot, seq, scan, indicator))   # from any thread; never blocks on the database
    writer.put_indicator(indicator)       # an event that is not a scan: counted all the same
    writer.state, writer.last_error, writer.pending, writer.pending_indicators()

The writer never holds anyone up: when the database is unavailable or full it keeps its scans
in memory (at most `max_pending`, the oldest dropped and counted), reports the error (`state`,
`last_error`) and retries with a growing delay until it recovers. That holds for any failure,
not only the database's `StorageError`: an exception of any type is caught, counted
(`failures`, `unexpected`), shown as `storage_error` with its type (never its message, which may
quote a scan) and retried; the thread ends only at `stop`. A scan leaves the backlog
only once it is committed, so that a reader that looks at the backlog and then at the database
always finds it in one or the other.

Indicators (`scanner_agent.indicators`) travel with their scans (`Stored.indicator`: journaled on
the scan's line, written in the scan's transaction); the others (`put_indicator`) wait in a list
of their own, journaled too, and go into the same `store.add` calls. A scan erased while it waits
(`forget`, `forget_all`) or dropped by an overflowing backlog leaves its indicator behind, in that
list: indicators are not affected by erasure. An indicator too leaves the backlog only once
committed, so that `pending_indicators()` then `store.indicator_rows`, read under `write_lock`,
count each exactly once.

Owned by `scanner_agent.scans.ScanService`, which hands it every scan it records and runs the
retention purge on its thread (`periodic`, every `periodic_interval_s`).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from scanner_agent.indicators import Indicator
from scanner_agent.storage.errors import StorageError, StorageProblem
from scanner_agent.storage.journal import Journal
from scanner_agent.storage.sql_store import Store, Stored

log = logging.getLogger(__name__)

StorageState = Literal["starting", "ok", "error", "stopped"]


class StorageWriter:
    """Writes every scan it is given, in its own thread.

    `state` is `ok` once a write (or the schema) succeeded and `error` while the database fails.
    """

    def __init__(
        self,
        store: Store,
        *,
        periodic: Callable[[], object] | None = None,
        periodic_interval_s: float = 60,
        max_pending: int = 100_000,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        journal: Journal | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        """Where each scan is written before it is queued (`put`), emptied with the backlog."""
        self.journal_failures = 0
        """Scans the journal could not take (the disk refused): queued all the same."""
        self.periodic = periodic
        self.periodic_interval_s = periodic_interval_s
        self.max_pending = max_pending
        self.batch = batch
        self._chunk = batch
        self.clock = clock
        self.state: StorageState = "starting"
        self.last_error: StorageProblem | None = None
        self.written = 0
        self.written_indicators = 0
        self.failures = 0
        """Failed attempts (writes, schema, purge), of any kind."""
        self.unexpected = 0
        """Those of them that were not a `StorageError` (a bug, or a driver's surprise)."""
        self.dropped = 0
        """Scans never written: the backlog overflowed (the oldest go first; their indicators
        are kept)."""
        self.dropped_indicators = 0
        """Indicators never written: more than `max_pending` waited (the oldest go first)."""
        self._pending: OrderedDict[str, Stored] = OrderedDict()
        self._indicators: OrderedDict[str, Indicator] = OrderedDict()
        """Indicators waiting that belong to no waiting scan, by id."""
        self._lock = threading.Lock()
        self.write_lock = threading.RLock()
        """Held while scans are written. Erasure holds it too, so that a scan taken from the
        backlog just before it is erased cannot be written just after."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._periodic_at = 0.0
        self._nudged = False

    # --- life ---
    def start(self) -> None:
        """Take back what the journal holds (a run killed before writing it), then write."""
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="storage-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()
        if self._has_backlog():
            kept = " (kept in the journal for the next start)" if self.journal else ""
            log.warning(
                "storage stopped with %d scan(s) and %d other indicator(s) not written%s",
                len(self._pending),
                len(self._indicators),
                kept,
            )
        if self.journal is not None:
            self.journal.close()
        self.state = "stopped"

    def recover(self) -> int:
        """Queue the journal's scans and indicators that are not queued yet; how many scans.
        (A line already written before a kill, between the commit and the clearing of the
        journal, is written again and left as it was: the store skips the ids it has.)"""
        if self.journal is None:
            return 0
        contents = self.journal.read()
        with self._lock:
            fresh = [item for item in contents.scans if item.scan.id not in self._pending]
            for item in fresh:
                self._pending[item.scan.id] = item
            waiting = {i.id for i in self._own_indicators()}
            others = [
                i
                for i in contents.indicators
                if i.id not in self._indicators and i.id not in waiting
            ]
            for indicator in others:
                self._indicators[indicator.id] = indicator
        if fresh or others:
            log.warning(
                "journal: %d scan(s) and %d indicator(s) of an earlier run not written yet, queued",
                len(fresh),
                len(others),
            )
            self._wake.set()
        return len(fresh)

    # --- the backlog ---
    def put(self, item: Stored) -> None:
        """Journal `item` (on disk when this returns), then queue it."""
        with self._lock:
            self._journal(item)
            if len(self._pending) >= self.max_pending:
                _, old = self._pending.popitem(last=False)
                self.dropped += 1
                self._keep_indicator(old)
            self._pending[item.scan.id] = item
        self._wake.set()

    def put_indicator(self, indicator: Indicator) -> None:
        """Journal the indicator of an event that is not a scan (on disk when this returns),
        then queue it: written by the next `flush`."""
        with self._lock:
            self._journal_indicator(indicator)
            self._queue_indicator(indicator)
        self._wake.set()

    def pending_indicators(self) -> list[Indicator]:
        """The indicators not written yet: those of the scans in the backlog and the others."""
        with self._lock:
            return [*self._own_indicators(), *self._indicators.values()]

    def _own_indicators(self) -> list[Indicator]:
        return [item.indicator for item in self._pending.values() if item.indicator is not None]

    def _queue_indicator(self, indicator: Indicator) -> None:
        """Under `_lock`."""
        if len(self._indicators) >= self.max_pending:
            self._indicators.popitem(last=False)
            self.dropped_indicators += 1
        self._indicators[indicator.id] = indicator

    def _keep_indicator(self, item: Stored) -> None:
        """A scan leaves the backlog unwritten (erased, or dropped): its indicator stays.
        Under `_lock`."""
        if item.indicator is not None:
            self._queue_indicator(item.indicator)

    @property
    def pending(self) -> int:
        """Scans not written yet."""
        with self._lock:
            return len(self._pending)

    def _has_backlog(self) -> bool:
        return bool(self._pending or self._indicators)

    def backlog(self) -> list[Stored]:
        """A copy of the scans not written yet, oldest first."""
        with self._lock:
            return list(self._pending.values())

    def waiting(self, scan_id: str) -> Stored | None:
        """The scan with this id if it is not written yet."""
        with self._lock:
            return self._pending.get(scan_id)

    def replace(self, item: Stored) -> bool:
        """Put `item` in place of the waiting scan with its id (a claim changed it); False when
        none waits. Hold `write_lock`, so that the scan is not being written meanwhile (the
        old version would be, and the new one dropped)."""
        with self._lock:
            if item.scan.id not in self._pending:
                return False
            self._pending[item.scan.id] = item  # an existing key keeps its place
            self._rewrite_journal()  # the claim survives a kill too
            return True

    def forget(self, scan_id: str) -> bool:
        """Erase a waiting scan (its indicator stays, to be written); whether one waited."""
        with self._lock:
            item = self._pending.pop(scan_id, None)
            if item is not None:
                self._keep_indicator(item)
                self._rewrite_journal()
            return item is not None

    def forget_all(self, device: str | None = None) -> int:
        """Erase the waiting scans (of `device`), keeping their indicators; how many."""
        with self._lock:
            doomed = [
                key
                for key, item in self._pending.items()
                if device is None or item.scan.device_id == device
            ]
            for key in doomed:
                self._keep_indicator(self._pending.pop(key))
            if doomed:
                self._rewrite_journal()
            return len(doomed)

    # --- the journal (under `_lock`) ---
    def _journal(self, item: Stored) -> None:
        if self.journal is None:
            return
        try:
            self.journal.append(item)
        except OSError as exc:
            self.journal_failures += 1
            log.error(
                "journal %s refused a scan (%s): it is kept in memory only",
                *_where(self.journal, exc),
            )

    def _journal_indicator(self, indicator: Indicator) -> None:
        if self.journal is None:
            return
        try:
            self.journal.append_indicator(indicator)
        except OSError as exc:
            self.journal_failures += 1
            log.error(
                "journal %s refused an indicator (%s): it is kept in memory only",
                *_where(self.journal, exc),
            )

    def _rewrite_journal(self) -> None:
        """An erased scan leaves the journal too (its indicator stays, on a line of its own)."""
        if self.journal is None:
            return
        try:
            self.journal.rewrite(self._pending.values(), self._indicators.values())
        except OSError as exc:
            log.error(
                "journal %s could not be rewritten after an erasure (%s)",
                *_where(self.journal, exc),
            )

    def _clear_journal(self) -> None:
        if self.journal is None or self._has_backlog():
            return
        try:
            self.journal.clear()
        except OSError as exc:
            log.error("journal %s could not be emptied (%s)", *_where(self.journal, exc))

    def retry_now(self) -> None:
        """Try the backlog again at once rather than after the back-off (the database is known
        to be back: an operator, or a test, says so)."""
        self._nudged = True  # an attempt under way when called fails: retry at once anyway
        self._retry_at = 0.0
        self._wake.set()

    # --- the loop ---
    def _run(self) -> None:
        """Never ends before `stop`: every failure, of any type, is counted, shown (`state`,
        `last_error`) and retried."""
        try:
            self.store.ensure_schema()
            self._ok()
        except Exception as exc:  # the writer never dies; it reports
            self._failed(exc)
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                self._failed(exc)

    def _step(self) -> None:
        wait = 1.0
        if self._has_backlog():
            wait = max(0.0, min(1.0, self._retry_at - time.monotonic()))
        self._wake.wait(wait)
        self._wake.clear()
        now = time.monotonic()
        busy = self._has_backlog()
        if busy and now >= self._retry_at:
            self.flush()
        elif not busy and now >= self._retry_at and self.store.check_file():
            self._ok()  # idle, and the database file found deleted was recreated
        if self.periodic is not None and now >= self._periodic_at:
            self._periodic_at = now + self.periodic_interval_s
            try:
                self.periodic()
            except Exception as exc:
                self._failed(exc)

    def flush(self) -> None:
        """Write the backlog now, batch by batch, until it is empty or the database fails: each
        batch is up to `batch` scans (with their indicators) then, filling it, indicators of
        their own, in one `store.add` (one transaction).

        After a failure of an unexpected type (not a `StorageError`: a bug, or a driver's
        surprise) the next batches are halved, down to one scan (or indicator); one that fails
        alone is moved behind the others, so that one thing the store cannot take never holds
        up the rest (it stays in the backlog, counted in `pending`, and is tried again)."""
        while True:
            with self.write_lock:
                with self._lock:
                    chunk = list(itertools.islice(self._pending.values(), self._chunk))
                    room = self._chunk - len(chunk)
                    lone = list(itertools.islice(self._indicators.values(), room))
                if not chunk and not lone:
                    return
                try:
                    if lone:
                        self.store.add(chunk, lone)
                    else:
                        self.store.add(chunk)
                except Exception as exc:
                    if not isinstance(exc, StorageError):
                        self._isolate(chunk, lone)
                    self._failed(exc)
                    return
                with self._lock:
                    for item in chunk:
                        self._pending.pop(item.scan.id, None)
                    for indicator in lone:
                        self._indicators.pop(indicator.id, None)
                    self._clear_journal()  # everything it held is in the database
            self.written += len(chunk)
            self.written_indicators += len(lone) + sum(1 for i in chunk if i.indicator)
            self._chunk = self.batch
            self._ok()

    def _isolate(self, chunk: list[Stored], lone: list[Indicator]) -> None:
        if len(chunk) + len(lone) > 1:
            self._chunk = max(1, (len(chunk) + len(lone)) // 2)
            return
        with self._lock:
            if chunk and chunk[0].scan.id in self._pending:
                self._pending.move_to_end(chunk[0].scan.id)
            if lone and lone[0].id in self._indicators:
                self._indicators.move_to_end(lone[0].id)

    def _ok(self) -> None:
        if self.state == "error":
            log.info("storage recovered (%s)", self.store.describe())
        self.state = "ok"
        self._backoff = 0.0
        self._retry_at = 0.0
        self._nudged = False

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        if isinstance(exc, StorageError):
            code, message = exc.code, str(exc)
        else:
            # Its message may quote what it was given (a scan): only its type is told.
            self.unexpected += 1
            code = "storage_error"
            message = f"unexpected {type(exc).__name__} in the storage writer"
            if self.state != "error" or self.last_error is None:
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error("storage writer: %s, retrying; where:\n%s", message, frames)
        if self.state != "error" or self.last_error is None or self.last_error.code != code:
            log.error("storage failing (%s): %s", code, message)
        # The problem before the state: whoever sees `error` finds what it is.
        self.last_error = StorageProblem(code, message, self.clock())
        self.state = "error"
        self._backoff = min(5.0, max(0.25, self._backoff * 2))
        self._retry_at = 0.0 if self._nudged else time.monotonic() + self._backoff
        self._nudged = False


def _where(journal: Journal, exc: OSError) -> tuple[str, str]:
    return str(journal.path), exc.strerror or type(exc).__name__


__all__ = ["StorageState", "StorageWriter"]

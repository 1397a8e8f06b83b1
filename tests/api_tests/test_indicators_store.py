"""The indicators table on SQLite and on a real PostgreSQL: written with the scans in one
transaction, counted once when replayed, grouped by `indicator_rows`, left alone by the erasure
and the retention of scans, purged by its own retention."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from scanner_agent.bus import EventBus
from scanner_agent.indicators import Indicator, IndicatorCounter, IndicatorQuery, aggregate
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from scanner_agent.storage import (
    Journal,
    StorageError,
    StorageWriter,
    Store,
    Stored,
    read_or_create_secret,
)
from tests.helpers.api import OTHER, VALID, encrypted_store, make_scan
from tests.helpers.devices import wait_until
from tests.helpers.samples import ROOT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday: week 2026-W09
DAY = date(2026, 3, 1)
COUNTER = IndicatorCounter("PC-1", kinds={"desk": "serial", "kiosk": "camera"})


def unreadable(device: str = "kiosk", at: datetime = NOW, count: int = 1) -> Indicator:
    return COUNTER.of_unreadable(device, at, count)


def stored(context: ParseContext, payload: str, device: str, at: datetime, ms: float | None):
    scan = make_scan(context, payload, device, at)
    return Stored(100, 1, scan, COUNTER.of_scan(scan, ms))


def count_of(store: Store, query: IndicatorQuery) -> dict[tuple[object, ...], int]:
    return {
        tuple(row[c] for c in (*query.base_columns(), "kind")): row["count"]
        for row in store.indicator_rows(query)
    }


def test_written_with_the_scans_grouped_and_filtered(db_url: str, tmp_path: Path, context):
    store = encrypted_store(db_url, tmp_path)
    items = [
        stored(context, VALID, "desk", NOW - timedelta(minutes=2), 0.5),
        stored(context, OTHER, "desk", NOW - timedelta(minutes=1), 1.5),
        stored(context, VALID, "kiosk", NOW, None),  # not measured
    ]
    store.add(items, [unreadable(count=3), unreadable(at=NOW - timedelta(days=7))])

    query = IndicatorQuery.of(DAY, DAY, ("day", "device_id"))
    rows = store.indicator_rows(query)
    assert {type(row["day"]) for row in rows} == {date}
    by = {(row["device_id"], row["kind"]): row for row in rows}
    assert set(by) == {("desk", "scan"), ("kiosk", "scan"), ("kiosk", "unreadable")}
    assert by["desk", "scan"]["count"] == 2
    assert by["desk", "scan"]["decode_ms_total"] == pytest.approx(2.0)
    assert by["desk", "scan"]["decode_ms_count"] == 2
    assert by["kiosk", "scan"]["decode_ms_count"] == 0
    assert by["kiosk", "unreadable"]["count"] == 3  # the day before the week is left out
    assert all(row["test"] is False and row["day"] == DAY for row in rows)

    report = aggregate(rows, query)
    assert (report.total.scans, report.total.unreadable) == (3, 3)
    assert report.total.decode_ms_mean == pytest.approx(1.0)
    assert report.workstations == []  # not grouped by workstation: not told

    wide = IndicatorQuery.of(DAY - timedelta(days=7), DAY, ("week", "workstation"))
    assert count_of(store, wide) == {
        ("2026-W08", "PC-1", False, "unreadable"): 1,
        ("2026-W09", "PC-1", False, "scan"): 3,
        ("2026-W09", "PC-1", False, "unreadable"): 3,
    }
    only = IndicatorQuery.of(DAY, DAY, ("device_id",), device_id="desk")
    assert count_of(store, only) == {("desk", False, "scan"): 2}
    assert count_of(store, IndicatorQuery.of(DAY, DAY, (), workstation="PC-2")) == {}
    # the source is the scan's (these came through a serial line), the device's kind for codes
    # seen but not read
    assert count_of(store, IndicatorQuery.of(DAY, DAY, (), source="camera")) == {
        (False, "unreadable"): 3,
    }
    assert count_of(store, IndicatorQuery.of(DAY, DAY, (), decision="covered")) == {
        (False, "scan"): 3,
    }
    assert count_of(store, IndicatorQuery.of(DAY, DAY, (), decision="refused")) == {}


def test_test_rows_only_when_asked(db_url: str, tmp_path: Path, context: ParseContext):
    store = encrypted_store(db_url, tmp_path)
    item = stored(context, VALID, "desk", NOW, 1.0)
    assert item.indicator is not None
    a_test = replace(item.indicator, id="t" * 32, test=True)
    store.add([item], [a_test])
    assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {(False, "scan"): 1}
    with_tests = IndicatorQuery.of(DAY, DAY, (), include_test=True)
    assert count_of(store, with_tests) == {(False, "scan"): 1, (True, "scan"): 1}
    assert aggregate(store.indicator_rows(with_tests), with_tests).total.scans == 2


def test_no_personal_data_and_none_is_empty(db_url: str, tmp_path: Path, context):
    store = encrypted_store(db_url, tmp_path)
    item = stored(context, VALID, "desk", NOW, 0.25)
    store.add([item], [unreadable()])
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text("SELECT * FROM indicators")).mappings()]
        columns = [c["name"] for c in inspect(conn).get_columns("indicators")]
    assert columns == list(Indicator.row(unreadable()))  # the columns of `Indicator.row()`
    assert item.indicator is not None
    assert item.indicator.id in {r["id"] for r in rows}
    assert item.scan.id not in {r["id"] for r in rows}
    blank = next(r for r in rows if r["kind"] == "unreadable")
    assert (blank["decision"], blank["reasons"], blank["roc_status"], blank["amc_number"]) == (
        "",
        "",
        "",
        "",
    )
    assert blank["decode_ms"] is None
    number = item.scan.attestation.member_number
    assert number and all(number not in str(v) for r in rows for v in r.values())


def test_replayed_lines_count_once(db_url: str, tmp_path: Path, context: ParseContext):
    """A journal replayed after a kill between the commit and the clearing of the journal: the
    same scans and indicators again."""
    store = encrypted_store(db_url, tmp_path)
    items = [stored(context, VALID, "desk", NOW, 1.0)]
    extra = [unreadable()]
    store.add(items, extra)
    store.add(items, extra)
    store.add([], [*extra, *extra])  # an indicator twice in one call, too
    query = IndicatorQuery.of(DAY, DAY, ())
    assert count_of(store, query) == {(False, "scan"): 1, (False, "unreadable"): 1}


def test_one_transaction(tmp_path: Path, context: ParseContext):
    """An indicator that cannot be written takes its scans with it (and the reverse)."""
    store = encrypted_store(f"sqlite:///{tmp_path}/scans.db", tmp_path)
    store.ensure_schema()
    item = stored(context, VALID, "desk", NOW, 1.0)

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO indicators"):
            raise RuntimeError("disk says no")

    event.listen(store.engine, "before_cursor_execute", refuse)
    with pytest.raises((StorageError, RuntimeError)):
        store.add([item])
    event.remove(store.engine, "before_cursor_execute", refuse)
    assert store.get(item.scan.id) is None
    assert store.indicator_rows(IndicatorQuery.of(DAY, DAY, ())) == []
    store.add([item])
    assert store.get(item.scan.id) is not None
    assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {(False, "scan"): 1}


def test_erasure_and_retention_of_scans_leave_them(db_url: str, tmp_path: Path, context):
    store = encrypted_store(db_url, tmp_path)
    items = [
        stored(context, VALID, "desk", NOW - timedelta(days=2), 1.0),
        stored(context, OTHER, "kiosk", NOW, 1.0),
        stored(context, VALID, "desk", NOW, 1.0),
    ]
    store.add(items, [unreadable()])
    query = IndicatorQuery.of(DAY - timedelta(days=2), DAY, ("day",))
    before = count_of(store, query)
    assert store.delete(items[2].scan.id)
    assert store.delete_all(device="kiosk") == 1
    assert store.purge(NOW - timedelta(days=1)) == 1
    assert store.delete_all() == 0
    assert count_of(store, query) == before
    assert sum(before.values()) == 4

    assert store.purge_indicators(DAY - timedelta(days=1)) == 1  # the day two days ago
    assert count_of(store, query) == {
        (DAY, False, "scan"): 2,
        (DAY, False, "unreadable"): 1,
    }


def test_an_older_database_gains_the_table(tmp_path: Path, context: ParseContext):
    url = f"sqlite:///{tmp_path}/scans.db"
    store = encrypted_store(url, tmp_path)
    store.add([stored(context, VALID, "desk", NOW, 1.0)])
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE indicators"))  # as a version before issue 15 left it
    store.close()

    again = encrypted_store(url, tmp_path)
    again.ensure_schema()
    assert "indicators" in inspect(again.engine).get_table_names()
    again.add([stored(context, OTHER, "desk", NOW, 1.0)])
    assert count_of(again, IndicatorQuery.of(DAY, DAY, ())) == {(False, "scan"): 1}
    assert len(again.recent(limit=10)) == 2


def test_service_report_and_indicator_retention(db_url: str, tmp_path: Path, context):
    """`ScanService.indicators` adds the table and what waits; its periodic purge keeps the
    indicators `retention_days` days (0: for ever), whatever the scans' retention."""
    clock = [NOW]
    store = encrypted_store(db_url, tmp_path)
    service = ScanService(
        EventBus(),
        store,
        clock=lambda: clock[0],
        counter=COUNTER,
        indicator_retention_days=2,
        retention_hours=1,
    )
    for days in (3, 1, 0):
        service.record(make_scan(context, VALID, "desk", NOW - timedelta(days=days)), decode_ms=2)
    service.count_unreadable("kiosk", NOW)
    assert service.writer is not None
    service.writer.flush()
    service.count_unreadable("kiosk", NOW, 2)  # waiting: counted too
    query = IndicatorQuery.of(DAY - timedelta(days=7), DAY, ("day",))
    report = service.indicators(query)
    assert (report.total.scans, report.total.unreadable) == (3, 3)
    assert report.total.decode_ms_mean == pytest.approx(2.0)

    service.purge_now()  # the scans older than an hour go; indicators older than 2 days too
    report = service.indicators(query)
    assert (report.total.scans, report.total.unreadable) == (2, 3)
    assert [s.received_at for s in store.recent(limit=10)] == [NOW]

    service.indicator_retention_days = 0
    clock[0] = NOW + timedelta(days=400)
    service.purge_now()
    assert service.indicators(query).total.scans == 2


# --- the writer and its journal ----------------------------------------------------------------


def journal_at(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "scans.journal", read_or_create_secret(tmp_path / "k"))


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scans.db'}"


def totals(service: ScanService) -> tuple[int, int]:
    report = service.indicators(IndicatorQuery.of(DAY - timedelta(days=7), DAY, ("day",)))
    return report.total.scans, report.total.unreadable


def test_the_journal_carries_indicators(tmp_path: Path, context: ParseContext):
    journal = journal_at(tmp_path)
    item = stored(context, VALID, "desk", NOW, 0.5)
    lone = unreadable(count=2)
    journal.append(item)
    journal.append_indicator(lone)
    journal.append(Stored(100, 2, make_scan(context, OTHER, "desk", NOW)))  # without one
    lines = [json.loads(line) for line in (tmp_path / "scans.journal").read_bytes().splitlines()]
    assert item.indicator is not None
    assert lines[0]["indicator"] == item.indicator.as_json()
    assert lines[1] == {"indicator": lone.as_json()}
    assert "indicator" not in lines[2]
    contents = journal.read()
    assert [s.indicator for s in contents.scans] == [item.indicator, None]
    assert contents.indicators == [lone]
    journal.rewrite(contents.scans[1:], [lone, item.indicator])
    again = journal.read()
    assert [s.scan.id for s in again.scans] == [contents.scans[1].scan.id]
    assert again.indicators == [lone, item.indicator]


def test_an_old_journal_line_still_loads(tmp_path: Path, context: ParseContext):
    """A line written before issue 15 (no `indicator`): its scan is written, and counted by
    nothing (its indicator was never made)."""
    journal = journal_at(tmp_path)
    journal.append(Stored(7, 1, make_scan(context, VALID, "desk", NOW)))
    raw = (tmp_path / "scans.journal").read_bytes()
    assert b'"indicator"' not in raw
    store = encrypted_store(sqlite_url(tmp_path), tmp_path)
    writer = StorageWriter(store, journal=journal_at(tmp_path))
    writer.recover()
    writer.flush()
    assert writer.written == 1 and len(store.recent(limit=5)) == 1


def test_a_scan_erased_before_it_is_written_is_still_counted(tmp_path: Path, context):
    store = encrypted_store(sqlite_url(tmp_path), tmp_path)
    clock = [NOW]
    service = ScanService(
        EventBus(), store, journal=journal_at(tmp_path), counter=COUNTER, clock=lambda: clock[0]
    )  # not started: nothing written until `flush`
    scans = [make_scan(context, VALID, device, NOW) for device in ("desk", "desk", "kiosk")]
    for scan in scans:
        service.record(scan, decode_ms=1.0)
    service.count_unreadable("kiosk", NOW)
    assert totals(service) == (3, 1)
    assert service.erase(scans[0].id)
    assert service.erase_all(device="kiosk") == 1
    assert totals(service) == (3, 1)  # still waiting, all counted
    journal = journal_at(tmp_path).read()
    assert [s.scan.id for s in journal.scans] == [scans[1].id]
    assert len(journal.indicators) == 3  # the unreadable code, the erased scans' indicators
    raw = (tmp_path / "scans.journal").read_bytes()
    assert scans[0].id.encode() not in raw and scans[2].id.encode() not in raw
    assert service.writer is not None
    service.writer.flush()
    assert service.writer.pending_indicators() == []
    assert [s.id for s in store.recent(limit=10)] == [scans[1].id]
    assert totals(service) == (3, 1)
    assert (tmp_path / "scans.journal").stat().st_size == 0
    # the retention and erasure of written scans leave them too
    service.record(make_scan(context, OTHER, "desk", NOW), decode_ms=1.0)
    service.writer.flush()
    clock[0] = NOW + timedelta(days=2)  # past the scans' retention (24 hours)
    assert service.purge_now() == 2
    assert totals(service) == (4, 1)
    service.record(make_scan(context, OTHER, "desk", clock[0]))
    service.writer.flush()
    assert service.erase_all() == 1
    assert totals(service) == (4, 1)


def test_an_overflowing_backlog_keeps_the_indicators(tmp_path: Path, context: ParseContext):
    store = encrypted_store(sqlite_url(tmp_path), tmp_path)
    writer = StorageWriter(store, max_pending=2, journal=journal_at(tmp_path))
    for _ in range(5):
        writer.put(stored(context, VALID, "desk", NOW, 1.0))
    assert writer.dropped == 3 and writer.pending == 2
    assert len(writer.pending_indicators()) == 2 + 2  # the lone list is bounded too
    assert writer.dropped_indicators == 1
    writer.flush()
    assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {(False, "scan"): 4}


def test_a_failure_after_the_commit_counts_once(tmp_path: Path, context: ParseContext):
    """The store commits, then the writer fails (the journal is not cleared): the writer tries
    again, and a new writer recovering the journal writes it again; counted once."""
    store = encrypted_store(sqlite_url(tmp_path), tmp_path)
    real_add = store.add
    calls = 0

    def add_then_fail(items: Any, indicators: Any = ()) -> None:
        nonlocal calls
        calls += 1
        real_add(items, indicators)
        raise StorageError("lost the answer", "storage_unavailable")

    store.add = add_then_fail  # type: ignore[method-assign]
    service = ScanService(EventBus(), store, journal=journal_at(tmp_path), counter=COUNTER)
    for _ in range(3):
        service.record(make_scan(context, VALID, "desk", NOW), decode_ms=1.0)
    service.count_unreadable("kiosk", NOW, 2)
    assert service.writer is not None
    service.writer.flush()
    service.writer.flush()
    assert calls == 2
    assert totals(service) == (3, 2)  # the table and the backlog: each once
    assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {
        (False, "scan"): 3,
        (False, "unreadable"): 2,
    }

    fresh = encrypted_store(sqlite_url(tmp_path), tmp_path)
    writer = StorageWriter(fresh, journal=journal_at(tmp_path))
    assert writer.recover() == 3
    assert len(writer.pending_indicators()) == 4
    writer.flush()
    assert writer.pending_indicators() == []
    assert count_of(fresh, IndicatorQuery.of(DAY, DAY, ())) == {
        (False, "scan"): 3,
        (False, "unreadable"): 2,
    }
    assert (tmp_path / "scans.journal").stat().st_size == 0


_KILLED = """
import sys, time
from pathlib import Path
from scanner_agent.bus import EventBus
from scanner_agent.indicators import IndicatorCounter
from scanner_agent.scan import Scan
from scanner_agent.scans import ScanService
from scanner_agent.storage import Journal, MemberProtector, Store, read_or_create_secret

url, folder = sys.argv[1], Path(sys.argv[2])
key = read_or_create_secret(folder / "k")
store = Store(url, MemberProtector("encrypted", key))
journal = Journal.open(folder / "scans.journal", key)
service = ScanService(EventBus(), store, journal=journal, counter=IndicatorCounter("PC-1"))
lines = (folder / "scans.jsonl").read_text().splitlines()
scans = [Scan.model_validate_json(line) for line in lines]
for scan in scans[:3]:
    service.record(scan, decode_ms=1.0)
service.count_unreadable("kiosk", scans[0].received_at, 2)
service.writer._clear_journal = lambda: None  # killed between the commit and the clearing
service.writer.flush()
for scan in scans[3:]:
    service.record(scan, decode_ms=1.0)   # journaled, never written: then the kill
service.count_unreadable("kiosk", scans[0].received_at, 1)
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_with_sigkill_counts_once(tmp_path: Path, context: ParseContext):
    scans = [make_scan(context, VALID, "desk", NOW) for _ in range(5)]
    (tmp_path / "scans.jsonl").write_text("\n".join(s.model_dump_json() for s in scans))
    url = sqlite_url(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, url, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == b"ready\n", proc.stderr.read() if proc.stderr else b""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    store = encrypted_store(url, tmp_path)
    assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {
        (False, "scan"): 3,
        (False, "unreadable"): 2,
    }
    # a service started again, its journal taken back and not written yet: each counted once
    again = ScanService(
        EventBus(), encrypted_store(url, tmp_path), journal=journal_at(tmp_path), counter=COUNTER
    )
    assert again.writer is not None and again.writer.recover() == 5
    assert totals(again) == (5, 3)
    again.writer.journal.close()  # type: ignore[union-attr]
    for _ in range(2):  # started again, twice: the second finds an empty journal
        writer = StorageWriter(encrypted_store(url, tmp_path), journal=journal_at(tmp_path))
        writer.start()
        try:
            wait_until(lambda w=writer: w.pending == 0 and not w.pending_indicators())  # type: ignore[misc]
        finally:
            writer.stop()
        assert count_of(store, IndicatorQuery.of(DAY, DAY, ())) == {
            (False, "scan"): 5,
            (False, "unreadable"): 3,
        }
    assert {s.id for s in store.recent(limit=10)} == {s.id for s in scans}


@pytest.mark.postgres
def test_agents_starting_together_make_the_schema_once(pg_url: str, tmp_path: Path):
    """Several agents on one new PostgreSQL database make the schema at the same moment: none
    fails (`CREATE TABLE` of one racing another's is kept out by an advisory lock)."""
    stores = [encrypted_store(pg_url, tmp_path) for _ in range(6)]
    start = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def make(store: Store) -> None:
        start.wait()
        try:
            store.ensure_schema()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=make, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    for store in stores:
        store.close()

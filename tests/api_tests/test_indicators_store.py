"""The indicators table on SQLite and on a real PostgreSQL: written with the scans in one
transaction, counted once when replayed, grouped by `indicator_rows`, left alone by the erasure
and the retention of scans, purged by its own retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text

from scanner_agent.bus import EventBus
from scanner_agent.indicators import Indicator, IndicatorCounter, IndicatorQuery, aggregate
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from scanner_agent.storage import StorageError, Store, Stored
from tests.helpers.api import OTHER, VALID, encrypted_store, make_scan

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

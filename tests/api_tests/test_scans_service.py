"""The scans service on its own, with no store and over SQLite and a real PostgreSQL: record,
recent (window and store merged, cursor paging), latest, get, erase, erase_all, wait_next,
retention; rows of an older version of the table still read."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from scanner_agent.bus import EventBus, ScanEvent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.scans import (
    InvalidCursor,
    ScanFilter,
    ScanService,
    decode_cursor,
    encode_cursor,
)
from scanner_agent.storage import MemberProtector, Store, Stored, read_or_create_secret
from tests.helpers.api import OTHER, encrypted_store, make_scan
from tests.helpers.devices import wait_until

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def ids(scans: list[Scan]) -> list[str]:
    return [s.id for s in scans]


def test_record_keeps_then_publishes_and_reads_from_memory(context: ParseContext):
    bus = EventBus()
    sub = bus.subscribe("t")
    service = ScanService(bus, clock=lambda: NOW)
    first = make_scan(context, device="desk", received_at=NOW - timedelta(minutes=3))
    second = make_scan(context, OTHER, device="kiosk", received_at=NOW - timedelta(minutes=2))
    third = make_scan(context, device="desk", received_at=NOW - timedelta(minutes=1))
    events = [service.record(s) for s in (first, second, third)]
    assert [e.seq for e in events] == [1, 2, 3]
    received = sub.get_nowait()
    assert isinstance(received, ScanEvent)
    assert received.scan == first
    assert ids(service.recent().scans()) == [third.id, second.id, first.id]
    assert ids(service.recent(ScanFilter(device="kiosk")).scans()) == [second.id]
    assert ids(service.recent(ScanFilter(since=NOW - timedelta(minutes=2))).scans()) == [
        third.id,
        second.id,
    ]
    assert service.latest() == third
    assert service.latest("kiosk") == second
    assert service.latest("nobody") is None
    assert service.get(first.id) == first  # every field, member number included
    assert service.get("nope") is None
    assert service.storage().state == "stopped"  # no store: memory only


def test_the_window_keeps_the_last_scans_only(context: ParseContext):
    service = ScanService(EventBus(), window=2, clock=lambda: NOW)
    scans = [make_scan(context, received_at=NOW - timedelta(seconds=10 - i)) for i in range(3)]
    for scan in scans:
        service.record(scan)
    assert service.get(scans[0].id) is None
    assert ids(service.recent().scans()) == [scans[2].id, scans[1].id]


def test_cursor_paging_over_memory(context: ParseContext):
    service = ScanService(EventBus(), clock=lambda: NOW)
    same_time = NOW - timedelta(minutes=1)  # ties are broken by id
    scans = [make_scan(context, received_at=same_time) for _ in range(5)]
    for scan in scans:
        service.record(scan)
    expected = sorted(ids(scans), reverse=True)
    page = service.recent(limit=2)
    seen = ids(page.scans())
    while page.next_cursor is not None:
        page = service.recent(limit=2, cursor=page.next_cursor)
        seen += ids(page.scans())
    assert seen == expected
    assert service.recent(limit=5).next_cursor is None  # exactly full: the last page


def test_cursors_round_trip_and_garbage_is_refused():
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "abc_1-2")) == (moment, "abc_1-2")
    for bad in ("", "abc", "1~", "~abc", "1~a b", "12345678901234567~a", "1~" + "a" * 65):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_window_and_store_merge_and_page_with_a_cursor(
    db_url: str, tmp_path: Path, context: ParseContext
):
    store = encrypted_store(db_url, tmp_path)
    earlier = [
        make_scan(context, received_at=NOW - timedelta(hours=2, minutes=i)) for i in range(4)
    ]
    store.add([Stored(1, i + 1, s) for i, s in enumerate(earlier)])  # a previous run's
    service = ScanService(EventBus(), store, clock=lambda: NOW)  # not started: nothing written
    now = [make_scan(context, received_at=NOW - timedelta(minutes=i)) for i in range(3)]
    for scan in now:
        service.record(scan)
    assert service.storage().pending == 3
    expected = ids(now) + ids(earlier)  # newest first
    assert ids(service.recent().scans()) == expected
    page = service.recent(limit=2)
    seen = ids(page.scans())
    pages = 1
    while page.next_cursor is not None:
        page = service.recent(limit=2, cursor=page.next_cursor)
        seen += ids(page.scans())
        pages += 1
    assert (seen, pages) == (expected, 4)
    assert service.recent().scans()[-1].attestation.member_number == "12345678"  # decrypted
    service.start()
    try:
        wait_until(lambda: service.storage().pending == 0)
        assert ids(service.recent().scans()) == expected  # the same, now all from the store
        assert service.latest() == now[-1]  # the last recorded
    finally:
        service.stop()


def test_erasing_a_scan_not_yet_written(db_url: str, tmp_path: Path, context: ParseContext):
    store = encrypted_store(db_url, tmp_path)
    service = ScanService(EventBus(), store, clock=lambda: NOW)
    kept = make_scan(context, received_at=NOW)
    erased = make_scan(context, OTHER, received_at=NOW)
    service.record(kept)
    service.record(erased)
    assert service.erase(erased.id)  # in memory and in the backlog, not in the database yet
    assert not service.erase(erased.id)
    assert service.get(erased.id) is None
    assert ids(service.recent().scans()) == [kept.id]
    service.start()
    try:
        wait_until(lambda: service.storage().pending == 0)
    finally:
        service.stop()
    assert store.get(erased.id) is None  # never written
    assert store.get(kept.id) == kept


def test_erase_all_of_one_device_everywhere(db_url: str, tmp_path: Path, context: ParseContext):
    store = encrypted_store(db_url, tmp_path)
    old_desk = make_scan(context, device="desk", received_at=NOW - timedelta(hours=1))
    store.add([Stored(1, 1, old_desk)])
    service = ScanService(EventBus(), store, clock=lambda: NOW)
    for device in ("desk", "kiosk"):
        service.record(make_scan(context, device=device, received_at=NOW))
    service.recent()  # the served copy of the stored row is kept: erasure must drop it too
    assert service.erase_all("desk") == 2  # one in memory, one in the database
    assert [s.device_id for s in service.recent().scans()] == ["kiosk"]
    assert service.latest("desk") is None
    assert service.erase_all() == 1
    assert service.recent().items == []


def test_retention_in_memory_and_in_the_store(db_url: str, tmp_path: Path, context: ParseContext):
    store = encrypted_store(db_url, tmp_path)
    stored_old = make_scan(context, received_at=NOW - timedelta(hours=30))
    store.add([Stored(1, 1, stored_old)])
    service = ScanService(EventBus(), store, retention_hours=24, clock=lambda: NOW)
    old = make_scan(context, received_at=NOW - timedelta(hours=25))
    fresh = make_scan(context, received_at=NOW - timedelta(hours=1))
    service.record(old)
    service.record(fresh)
    assert ids(service.recent().scans()) == [fresh.id]  # never served, before any purge
    assert service.get(old.id) is None
    assert service.get(stored_old.id) is None
    assert service.purge_now() == 1  # the stored one; the window forgets its own
    assert store.get(stored_old.id) is None
    assert service.replay(service.boot, 0, 10, 100)[0][-1].id == fresh.id


def test_wait_next_blocks_a_thread_and_await_next_the_loop(context: ParseContext):
    service = ScanService(EventBus())
    desk, kiosk = make_scan(context, device="desk"), make_scan(context, device="kiosk")
    got: list[Scan | None] = []
    waiting = threading.Thread(target=lambda: got.append(service.wait_next("kiosk", 10)))
    waiting.start()
    wait_until(lambda: any(s.name == "wait-next" for s in service.bus.subscriptions()))
    service.record(desk)
    service.record(kiosk)
    waiting.join(10)
    assert got == [kiosk]
    assert service.wait_next(timeout=0.01) is None

    async def go() -> Scan | None:
        task = asyncio.create_task(service.await_next(timeout=10))
        while not any(s.name == "wait-next" for s in service.bus.subscriptions()):
            await asyncio.sleep(0.01)
        service.record(desk)
        return await task

    assert asyncio.run(go()) == desk
    assert asyncio.run(service.await_next(timeout=0.01)) is None


def test_rows_of_an_older_version_stay_readable(tmp_path: Path, context: ParseContext):
    """A table made before `public_json` existed, a member number encrypted by Fernet."""
    url = f"sqlite:///{tmp_path}/scans.db"
    key = read_or_create_secret(tmp_path / "k")
    scan = make_scan(context, received_at=NOW - timedelta(minutes=5))
    bare = scan.attestation.model_copy(update={"member_number": None})
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE scans (id VARCHAR(64) PRIMARY KEY, boot BIGINT NOT NULL, "
                "seq BIGINT NOT NULL, received_at DATETIME NOT NULL, device_id VARCHAR(64) "
                "NOT NULL, source VARCHAR(32) NOT NULL, symbology VARCHAR(8), status VARCHAR(16) "
                "NOT NULL, member_protection VARCHAR(16) NOT NULL, member_number VARCHAR(512), "
                "attestation VARCHAR NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO scans VALUES (:id, 1, 1, :at, 'desk', 'serial', ']d1', 'valid', "
                "'encrypted', :member, :attestation)"
            ),
            {
                "id": scan.id,
                "at": scan.received_at.replace(tzinfo=None).isoformat(sep=" "),
                "member": Fernet(key).encrypt(b"12345678").decode(),
                "attestation": bare.model_dump_json(),
            },
        )
    engine.dispose()
    store = Store(url, MemberProtector("encrypted", key))
    service = ScanService(EventBus(), store, clock=lambda: NOW)
    assert service.get(scan.id) == scan
    assert service.recent().scans() == [scan]
    newer = make_scan(context, received_at=NOW)
    store.add([Stored(2, 1, newer)])  # the table got its new column: new rows use it
    assert ids(service.recent().scans()) == [newer.id, scan.id]
    with store.engine.connect() as conn:
        how = conn.execute(text("SELECT member_protection FROM scans ORDER BY boot")).scalars()
        assert list(how) == ["encrypted", "aes-gcm"]


def test_a_page_read_again_is_never_out_of_date(db_url: str, tmp_path: Path, context: ParseContext):
    """The store keeps the pages it read (a GAP polls the same page): a write, an erasure or
    a purge after a read is always seen by the next read."""
    store = encrypted_store(db_url, tmp_path)
    a = make_scan(context, received_at=NOW - timedelta(minutes=3))
    b = make_scan(context, OTHER, received_at=NOW - timedelta(minutes=2))
    store.add([Stored(1, 1, a)])

    def page() -> list[str]:
        return [row.id for row in store.page(limit=10)]

    assert page() == [a.id]
    assert page() == [a.id]  # kept
    store.add([Stored(1, 2, b)])
    assert page() == [b.id, a.id]  # a write is seen
    store.delete(b.id)
    assert page() == [a.id]  # an erasure is seen
    store.purge(NOW)
    assert page() == []  # the retention is seen
    store.add([Stored(1, 3, b)])
    assert page() == [b.id]
    store.delete_all()
    assert page() == []


def test_the_retention_cuts_a_kept_page_as_time_passes(
    db_url: str, tmp_path: Path, context: ParseContext
):
    """Pages are kept by query, without the retention's moving cutoff: a scan that ages out
    between two reads of the same page is not served by the second (before any purge)."""
    store = encrypted_store(db_url, tmp_path)
    older = make_scan(context, received_at=NOW - timedelta(hours=23, minutes=30))
    newer = make_scan(context, OTHER, received_at=NOW - timedelta(hours=1))
    store.add([Stored(1, 1, older), Stored(1, 2, newer)])
    now = [NOW]
    service = ScanService(EventBus(), store, retention_hours=24, clock=lambda: now[0])
    service.start()
    try:
        first = service.recent(limit=1)
        assert ids(first.scans()) == [newer.id] and first.next_cursor is not None
        assert ids(service.recent().scans()) == [newer.id, older.id]
        now[0] = NOW + timedelta(hours=1)  # `older` is now 24 h 30 min old
        page = service.recent()
        assert ids(page.scans()) == [newer.id]
        assert page.next_cursor is None
        assert service.recent(limit=1).next_cursor is None  # nothing after it within the retention
    finally:
        service.stop()


def test_latest_from_the_store_keeps_to_the_retention(
    db_url: str, tmp_path: Path, context: ParseContext
):
    """After a restart (nothing recorded in this run), `latest` is the newest stored scan,
    and none once that one is past the retention."""
    store = encrypted_store(db_url, tmp_path)
    old = make_scan(context, device="desk", received_at=NOW - timedelta(hours=23))
    store.add([Stored(1, 1, old)])
    now = [NOW]
    service = ScanService(EventBus(), store, retention_hours=24, clock=lambda: now[0])
    service.start()
    try:
        latest = service.latest("desk")
        assert latest is not None and latest.id == old.id
        assert service.latest("kiosk") is None
        now[0] = NOW + timedelta(hours=2)  # `old` is now 25 h old
        assert service.latest("desk") is None
        assert service.latest() is None
    finally:
        service.stop()


def test_a_scan_is_not_served_from_the_moment_it_passes_the_retention(
    db_url: str, tmp_path: Path, context: ParseContext
):
    """No purge runs here: every read (list, latest, get, replay, next) leaves the scan out as
    soon as the clock passes its retention, from the window, the backlog and the database."""
    now = [NOW]
    store = encrypted_store(db_url, tmp_path)
    # Not started: its writer does not run, so the scans wait in its backlog.
    live = ScanService(EventBus(), store, retention_hours=24, clock=lambda: now[0], window=1)
    scan = make_scan(context, device="desk", received_at=NOW - timedelta(hours=23))
    live.record(scan)
    live.record(make_scan(context, OTHER, "kiosk", received_at=NOW))  # `scan` leaves the window
    assert live.writer is not None
    assert live.writer.waiting(scan.id) is not None

    def served(service: ScanService) -> dict[str, bool]:
        reads = {
            "list": scan.id in ids(service.recent().scans()),
            "list of the device": scan.id in ids(service.recent(ScanFilter("desk")).scans()),
            "get": service.get(scan.id) is not None,
        }
        if service is not live:  # (replay reads the window and the database, not the backlog)
            reads["replay"] = scan.id in [e.id for e in service.replay(0, 0, 10, 100)[0]]
        return reads

    assert all(served(live).values())
    now[0] += timedelta(hours=1, seconds=1)
    assert not any(served(live).values()), served(live)

    live.writer.flush()  # now in the database only
    assert live.writer.pending == 0
    now[0] = NOW
    reader = ScanService(EventBus(), store, retention_hours=24, clock=lambda: now[0])
    assert all(served(reader).values())
    assert reader.latest("desk") == scan
    now[0] += timedelta(hours=1, seconds=1)
    assert not any(served(reader).values()), served(reader)
    assert reader.latest("desk") is None
    assert live.latest("desk") is None

    # In the window, and to a waiter: a scan received past the retention is never served.
    late = make_scan(context, device="desk", received_at=now[0] - timedelta(hours=25))
    fresh = make_scan(context, device="desk", received_at=now[0])
    got: list[Scan | None] = []
    waiting = threading.Thread(target=lambda: got.append(reader.wait_next("desk", 10)))
    waiting.start()
    wait_until(lambda: any(s.name == "wait-next" for s in reader.bus.subscriptions()))
    reader.record(late)
    assert reader.latest("desk") is None
    assert reader.get(late.id) is None
    reader.record(fresh)
    waiting.join(10)
    assert got == [fresh]

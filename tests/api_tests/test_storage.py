"""Storage on SQLite and on a real PostgreSQL: round trips, protection at rest, retention,
erasure, and a writer that survives the database going away (the writer is the scans service's:
scans enter through `ScanService.record`)."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.bus import EventBus
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from scanner_agent.storage import (
    MemberProtector,
    Retention,
    StorageWriter,
    Store,
    Stored,
    read_or_create_secret,
)
from tests.helpers.api import (
    BASE,
    OTHER,
    VALID,
    auth,
    make_scan,
    publish,
    wait_stored,
    wait_until,
)
from tests.helpers.pgserver import PgServer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def store_for(url: str, mode: str, tmp_path: Path) -> Store:
    key = None if mode == "plain" else read_or_create_secret(tmp_path / "storage.key")
    return Store(url, MemberProtector(mode, key))  # type: ignore[arg-type]


def raw_members(store: Store) -> list[str | None]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT member_number FROM scans"))]


def test_round_trip_newest_first_with_filters(db_url: str, tmp_path: Path, context: ParseContext):
    store = store_for(db_url, "encrypted", tmp_path)
    scans = [
        make_scan(context, VALID, "desk", NOW - timedelta(minutes=3)),
        make_scan(context, OTHER, "kiosk", NOW - timedelta(minutes=2)),
        make_scan(context, VALID, "desk", NOW - timedelta(minutes=1)),
    ]
    store.add([Stored(100, i + 1, s) for i, s in enumerate(scans)])
    store.add([Stored(100, 1, scans[0])])  # the same scan again: ignored, not an error

    assert [s.id for s in store.recent()] == [s.id for s in reversed(scans)]
    assert store.recent()[0] == scans[2]  # every field back, member number and time zone too
    assert [s.id for s in store.recent(device="kiosk")] == [scans[1].id]
    assert [s.id for s in store.recent(since=NOW - timedelta(minutes=2))] == [
        scans[2].id,
        scans[1].id,
    ]
    assert len(store.recent(limit=1)) == 1
    assert store.get(scans[1].id) == scans[1]
    assert store.get("nope") is None
    assert [(i.boot, i.seq) for i in store.after(100, 1, 10)] == [(100, 2), (100, 3)]
    assert [i.scan.id for i in store.after(99, 50, 10)] == [s.id for s in scans]
    assert store.max_boot() == 100


@pytest.mark.parametrize("mode", ["plain", "hashed", "encrypted"])
def test_member_number_at_rest(mode: str, db_url: str, tmp_path: Path, context: ParseContext):
    store = store_for(db_url, mode, tmp_path)
    first, second = make_scan(context, VALID), make_scan(context, VALID)
    store.add([Stored(1, 1, first), Stored(1, 2, second)])
    raw = raw_members(store)
    back = store.get(first.id)
    assert back is not None
    assert back.attestation.amc_number == "0775627391"
    if mode == "plain":
        assert raw == ["12345678", "12345678"]
        assert back.attestation.member_number == "12345678"
    elif mode == "hashed":
        assert raw[0] == raw[1]  # equal numbers can be matched...
        assert raw[0] is not None
        assert "12345678" not in raw[0]  # ...but not read
        assert back.attestation.member_number is None
    else:
        assert raw[0] != raw[1]  # Fernet: a fresh IV each time
        assert all(r is not None and "12345678" not in r for r in raw)
        assert back.attestation.member_number == "12345678"
    with store.engine.connect() as conn:
        blobs = [r[0] for r in conn.execute(text("SELECT attestation FROM scans"))]
    assert all("12345678" not in b for b in blobs)  # never in the JSON column either


def test_rows_of_an_earlier_mode_stay_readable(tmp_path: Path, context: ParseContext):
    url = f"sqlite:///{tmp_path}/scans.db"
    plain = make_scan(context)
    store_for(url, "plain", tmp_path).add([Stored(1, 1, plain)])
    store = store_for(url, "encrypted", tmp_path)
    back = store.get(plain.id)
    assert back is not None
    assert back.attestation.member_number == "12345678"


def test_erasure(db_url: str, tmp_path: Path, context: ParseContext):
    store = store_for(db_url, "plain", tmp_path)
    a, b, c = (make_scan(context, device=d) for d in ("desk", "desk", "kiosk"))
    store.add([Stored(1, i, s) for i, s in enumerate((a, b, c))])
    assert store.delete(a.id) is True
    assert store.delete(a.id) is False
    assert store.get(a.id) is None
    assert store.delete_all("desk") == 1
    assert [s.id for s in store.recent()] == [c.id]
    assert store.delete_all() == 1
    assert store.recent() == []


def test_retention_purge_by_the_service(db_url: str, tmp_path: Path, context: ParseContext):
    store = store_for(db_url, "plain", tmp_path)
    old = make_scan(context, received_at=NOW - timedelta(hours=25))
    fresh = make_scan(context, received_at=NOW - timedelta(hours=23))
    store.add([Stored(1, 1, old), Stored(1, 2, fresh)])
    service = ScanService(EventBus(), store, retention_hours=24, clock=lambda: NOW)
    assert service.purge_now() == 1
    assert [s.id for s in store.recent()] == [fresh.id]
    assert service.purge_now() == 0


def test_secret_file_is_private_and_reused(tmp_path: Path):
    path = tmp_path / "sub" / "storage.key"
    key = read_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == key
    path.chmod(0o644)
    assert read_or_create_secret(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path}/db/scans.db", MemberProtector("plain"))
    store.ensure_schema()
    assert stat.S_IMODE((tmp_path / "db" / "scans.db").stat().st_mode) == 0o600
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def _started(store: Store) -> tuple[ScanService, StorageWriter]:
    service = ScanService(EventBus(), store, retention_hours=24)
    service.start()
    assert service.writer is not None
    return service, service.writer


def test_writer_survives_a_full_database(tmp_path: Path, context: ParseContext):
    store = store_for(f"sqlite:///{tmp_path}/scans.db", "plain", tmp_path)
    service, writer = _started(store)
    try:
        for _ in range(5):
            service.record(make_scan(context))
        wait_until(lambda: writer.written == 5)
        with store.engine.connect() as conn:
            pages = conn.execute(text("PRAGMA page_count")).scalar()

        def cap(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        event.listen(store.engine, "connect", cap)
        store.engine.dispose()  # new connections: the disk is "full" now
        for _ in range(200):
            service.record(make_scan(context))
        wait_until(lambda: writer.state == "error")
        assert writer.last_error is not None  # set before the state
        assert writer.last_error.code == "storage_full"
        assert writer.pending > 0

        event.remove(store.engine, "connect", cap)
        store.engine.dispose()  # room again: the writer catches up by itself...
        writer.retry_now()  # ...at once, not after a back-off that grows with the failures
        wait_until(lambda: writer.pending == 0 and writer.written == 205)
        wait_until(lambda: writer.state == "ok")
        assert len(store.recent(limit=1000)) == 205
    finally:
        service.stop()


@pytest.mark.postgres
def test_writer_survives_postgres_going_away(
    pg_server: PgServer | str, pg_url: str, tmp_path: Path, context: ParseContext
):
    if not isinstance(pg_server, PgServer):
        pytest.skip("an external SCANNER_AGENT_TEST_PG_URL server cannot be stopped by the tests")
    store = store_for(pg_url, "encrypted", tmp_path)
    service, writer = _started(store)
    try:
        service.record(make_scan(context))
        wait_until(lambda: writer.written == 1)
        pg_server.stop()
        for _ in range(3):
            service.record(make_scan(context))
        wait_until(lambda: writer.state == "error")
        assert writer.last_error is not None
        assert writer.last_error.code == "storage_unavailable"
        assert writer.pending == 3
        pg_server.start()
        wait_until(lambda: writer.state == "ok" and writer.pending == 0, timeout=20)
        assert len(store.recent()) == 4
    finally:
        service.stop()


def test_a_page_keeps_every_row_while_the_memory_of_served_texts_changes(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    """A page's rows whose texts were already served are never dropped: not when rendering the
    page's new rows pushes them out of the memory of texts, nor when another thread (a claim,
    an erasure, the purge) empties it meanwhile. A short page would end a client's cursor
    walk."""
    key = read_or_create_secret(tmp_path / "storage.key")
    scans = [make_scan(context, received_at=NOW - timedelta(minutes=9 - i)) for i in range(4)]
    newest_first = [s.id for s in reversed(scans)]
    for name, kept in (("small", 2), ("racing", 4096)):
        store = Store(
            f"sqlite:///{tmp_path}/{name}.db", MemberProtector("encrypted", key), served_kept=kept
        )
        store.add([Stored(1, i + 1, s) for i, s in enumerate(scans[:2])])
        assert [r.id for r in store.page(limit=10)] == newest_first[2:]  # their texts are kept
        store.add([Stored(1, i + 3, s) for i, s in enumerate(scans[2:])])
        if name == "racing":

            def render_while_another_thread_forgets(
                *args: Any, store: Store = store, render: Any = store._render
            ) -> Any:
                store._forget_served(scans[0].id)  # as a claim of that scan would, meanwhile
                store._forget_served()  # as the purge would
                return render(*args)

            monkeypatch.setattr(store, "_render", render_while_another_thread_forgets)
        assert [r.id for r in store.page(limit=10)] == newest_first, name


def test_the_writer_survives_a_failure_of_an_unexpected_type(
    client: TestClient, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    """Not a `StorageError`: a bug, a driver's surprise. The writer counts it, health and
    metrics show it, it retries, and every scan ends in the database once the store works."""
    app = client.app
    scans_ = app.state.api.agent.scans  # type: ignore[attr-defined]
    store, writer = scans_.store, scans_.writer
    real_add = store.add
    broken = threading.Event()
    broken.set()
    raised = 0

    def add(items: Any) -> None:
        nonlocal raised
        if broken.is_set():
            raised += 1
            raise RuntimeError("a surprise quoting 12345678")
        real_add(items)

    monkeypatch.setattr(store, "add", add)
    scans = [make_scan(context) for _ in range(20)]
    for scan in scans:
        publish(app, scan)  # type: ignore[arg-type]
    wait_until(lambda: writer.unexpected >= 3)  # retried, not dead
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["storage"]["state"] == "error"
    assert health["storage"]["error"] == "storage_error"
    assert health["storage"]["reason"] == "unexpected RuntimeError in the storage writer"
    assert health["storage"]["pending"] == 20
    metrics = client.get("/metrics").text
    assert "scanner_agent_storage_up 0" in metrics
    unexpected = [
        line for line in metrics.splitlines() if line.startswith("scanner_agent_storage_unexp")
    ]
    assert len(unexpected) == 1
    assert int(unexpected[0].split()[1]) >= 3
    assert "12345678" not in str(health) + metrics

    broken.clear()  # the store works again
    writer.retry_now()
    wait_until(lambda: writer.pending == 0 and writer.state == "ok")
    assert raised >= 3
    assert writer.dropped == 0
    assert {s.id for s in store.recent(limit=100)} == {s.id for s in scans}
    assert client.get("/v1/health").json()["storage"] == {
        "state": "ok",
        "error": None,
        "reason": None,
        "pending": 0,
    }


def test_one_scan_the_store_cannot_take_does_not_hold_up_the_others(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    store = store_for(f"sqlite:///{tmp_path}/scans.db", "plain", tmp_path)
    service, writer = _started(store)
    try:
        poison = make_scan(context)
        real_add = store.add

        def add(items: Any) -> None:
            if any(item.scan.id == poison.id for item in items):
                raise ValueError("cannot take this one")
            real_add(items)

        monkeypatch.setattr(store, "add", add)
        service.record(poison)
        others = [make_scan(context) for _ in range(9)]
        for scan in others:
            service.record(scan)
        writer.retry_now()
        wait_until(lambda: writer.written == 9)
        assert writer.pending == 1  # kept, counted, tried again: never dropped silently
        assert writer.waiting(poison.id) is not None
        assert {s.id for s in store.recent()} == {s.id for s in others}
    finally:
        service.stop()


def _ids_in_file(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM scans")}


def test_a_database_file_deleted_while_serving_is_reported_and_recreated(
    client: TestClient, context: ParseContext
):
    """Its connections would go on writing into the deleted file: the store sees that the file
    on disk is not the one it opened, health says so, the scans wait, and they end up in a new
    file."""
    app = client.app
    scans_ = app.state.api.agent.scans  # type: ignore[attr-defined]
    store, writer = scans_.store, scans_.writer
    path = store.path
    assert path is not None
    first = make_scan(context)
    publish(app, first)  # type: ignore[arg-type]
    wait_stored(app, 1)  # type: ignore[arg-type]
    assert _ids_in_file(path) == {first.id}

    path.unlink()
    path.mkdir()  # what is there now cannot be opened: the outage lasts while the test looks
    later = [make_scan(context) for _ in range(5)]
    for scan in later:
        publish(app, scan)  # type: ignore[arg-type]
    wait_until(lambda: writer.last_error is not None and store.replaced == 1)
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["storage"]["state"] == "error"
    assert health["storage"]["error"] == "storage_replaced"
    assert health["storage"]["reason"].startswith("the database file was deleted or replaced")
    assert health["storage"]["pending"] == 5
    assert "scanner_agent_storage_replaced_total 1" in client.get("/metrics").text
    # Still served from the backlog meanwhile.
    assert client.get("/v1/scans/latest").json()["id"] == later[-1].id

    path.rmdir()  # nothing there: the store recreates the file
    writer.retry_now()
    wait_until(lambda: writer.pending == 0 and writer.state == "ok")
    assert _ids_in_file(path) == {s.id for s in later}  # the first went with the deleted file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.get("/v1/health").json()["status"] == "ok"


def test_a_database_file_deleted_while_idle_is_seen_without_a_write(
    tmp_path: Path, context: ParseContext
):
    store = store_for(f"sqlite:///{tmp_path}/scans.db", "plain", tmp_path)
    service, writer = _started(store)
    try:
        service.record(make_scan(context))
        wait_until(lambda: writer.written == 1)
        (tmp_path / "scans.db").unlink()
        wait_until(lambda: store.replaced == 1)  # the writer's idle check
        wait_until(lambda: (tmp_path / "scans.db").exists() and writer.state == "ok")
        scan = make_scan(context)
        service.record(scan)
        wait_until(lambda: writer.written == 2)
        assert _ids_in_file(tmp_path / "scans.db") == {scan.id}
    finally:
        service.stop()


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


@pytest.mark.parametrize("how", ["one", "all", "device", "retention"])
def test_erasure_is_physical_even_in_plain_mode(
    how: str, make_settings: Any, context: ParseContext
):
    """After an erasure, the member number is in no byte of any file of the data folder: not
    in the database file (`secure_delete`), not in its WAL (checkpointed and emptied)."""
    settings = make_settings(storage={"member_number": "plain"})
    clock = [datetime.now(UTC)]
    app = create_app(settings, Agent(settings, context=context))
    data = settings.data_dir
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        scans_ = app.state.api.agent.scans
        scans_.retention = Retention(24, lambda: clock[0])
        doomed = make_scan(context, VALID, "desk")  # member number 12345678
        kept = make_scan(context, OTHER, "kiosk")
        for scan in (doomed, kept):
            publish(app, scan)
        wait_stored(app, 2)
        store = scans_.store
        with store.engine.connect() as conn:  # the rows reach the database file too
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        assert _files_holding(data, b"12345678")  # the test would find it
        if how == "one":
            assert client.delete(f"/v1/scans/{doomed.id}").status_code == 204
        elif how == "all":
            assert client.delete("/v1/scans").json() == {"deleted": 2}
        elif how == "device":
            assert client.delete("/v1/scans", params={"device": "desk"}).json() == {"deleted": 1}
        else:
            clock[0] += timedelta(hours=25)
            assert scans_.purge_now() == 2
        assert client.get(f"/v1/scans/{doomed.id}").status_code == 404
        assert _files_holding(data, b"12345678") == []
        assert all(p.stat().st_size == 0 for p in data.glob("*.db-wal"))  # emptied
    assert _files_holding(data, b"12345678") == []


def test_next_never_hands_out_a_scan_past_the_retention(client: TestClient, context: ParseContext):
    app = client.app
    scans_ = app.state.api.agent.scans  # type: ignore[attr-defined]
    hub = app.state.api.hub  # type: ignore[attr-defined]
    now = datetime.now(UTC) + timedelta(days=3)  # the agent's clock, ahead of the scans'
    scans_.retention = Retention(24, lambda: now)
    answers: list[Any] = []
    fresh_ids = []
    for params in ({"timeout": 10}, {"timeout": 10, "claim": "desk-1"}):
        late = make_scan(context, received_at=now - timedelta(hours=25))
        fresh = make_scan(context, received_at=now)
        fresh_ids.append(fresh.id)
        waiter = threading.Thread(
            target=lambda p=params: answers.append(client.get("/v1/scans/next", params=p))
        )
        waiter.start()
        wait_until(lambda: hub.waiters == 1)
        publish(app, late)  # type: ignore[arg-type]
        publish(app, fresh)  # type: ignore[arg-type]
        waiter.join(10)
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["id"] for a in answers] == fresh_ids

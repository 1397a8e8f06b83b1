"""Claims in the scans service and its store, without a store, over SQLite and a real
PostgreSQL: the first client wins (also under threads racing), the same client again, release,
every read shows the claim, a claim of a scan not written yet is written with it, claims survive
a restart, erasure and retention take them away, an older table gets the columns."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    text,
)

from scanner_agent.bus import ClaimEvent, EventBus
from scanner_agent.claims import (
    UNCLAIMED_TAIL,
    AlreadyClaimed,
    Claim,
    InvalidClient,
    ScanNotFound,
    check_client,
    with_claim,
)
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.scans import ScanService
from scanner_agent.storage import Stored
from scanner_agent.storage.sql_store import public_json_of
from tests.helpers.api import OTHER, encrypted_store, make_scan
from tests.helpers.devices import wait_until

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def claims_of(bus_events: list[object]) -> list[tuple[str, str | None]]:
    return [(e.scan_id, e.claimed_by) for e in bus_events if isinstance(e, ClaimEvent)]


def drain(sub: object) -> list[object]:
    out = []
    while (event := sub.get_nowait()) is not None:  # type: ignore[attr-defined]
        out.append(event)
    return out


def shown(service: ScanService, scan_id: str) -> set[tuple[str | None, datetime | None]]:
    """The claim of the scan as every read serves it (one element when they agree)."""
    found: list[Scan] = [s for s in service.recent().scans() if s.id == scan_id]
    got = service.get(scan_id)
    assert got is not None
    found.append(got)
    latest = service.latest()
    if latest is not None and latest.id == scan_id:
        found.append(latest)
    return {(s.claimed_by, s.claimed_at) for s in found}


# --- names and JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["desk-2", "A", "kiosk.hall_1:3", "x" * 64, "0desk"])
def test_client_names_that_are_accepted(name: str):
    assert check_client(name) == name


@pytest.mark.parametrize("name", ["", "-desk", "desk 2", "x" * 65, "bureau-é", "a/b", "a\nb"])
def test_client_names_that_are_refused(name: str):
    with pytest.raises(InvalidClient) as caught:
        check_client(name)
    assert caught.value.code == "invalid_client"


def test_a_claim_spliced_into_a_scans_json_is_the_json_of_the_claimed_scan(
    context: ParseContext,
):
    scan = make_scan(context, received_at=NOW)
    plain = scan.model_dump_json()
    assert plain.endswith(UNCLAIMED_TAIL)
    claimed = scan.model_copy(update={"claimed_by": "desk-2", "claimed_at": NOW})
    assert with_claim(plain, "desk-2", NOW) == claimed.model_dump_json()
    assert with_claim(claimed.model_dump_json(), None, None) == plain  # released
    older = plain[: -len(UNCLAIMED_TAIL)] + "}"  # stored before claims existed
    assert with_claim(older, None, None) == plain
    assert with_claim(older, "desk-2", NOW) == claimed.model_dump_json()


# --- the service without a store ---------------------------------------------------------------


def test_first_client_wins_the_same_client_again_and_release(context: ParseContext):
    bus = EventBus()
    sub = bus.subscribe("t")
    now = [NOW]
    service = ScanService(bus, clock=lambda: now[0])
    scan = make_scan(context, received_at=NOW - timedelta(minutes=1))
    service.record(scan)
    assert shown(service, scan.id) == {(None, None)}

    claim = service.claim(scan.id, "desk-1")
    assert claim == Claim(scan.id, "desk-1", NOW)
    assert shown(service, scan.id) == {("desk-1", NOW)}
    now[0] = NOW + timedelta(seconds=5)
    with pytest.raises(AlreadyClaimed) as refused:
        service.claim(scan.id, "desk-2")
    assert refused.value.code == "already_claimed"
    assert refused.value.claim == Claim(scan.id, "desk-1", NOW)  # who, and since when
    assert service.claim(scan.id, "desk-1") == claim  # again: the same claim, its first time
    with pytest.raises(AlreadyClaimed):
        service.claim(scan.id, "desk-1", reclaim=False)  # /next: one scan, one request

    with pytest.raises(AlreadyClaimed):
        service.release(scan.id, "desk-2")  # not its claim: nothing changes
    assert shown(service, scan.id) == {("desk-1", NOW)}
    assert service.release(scan.id) == claim  # anyone (a supervisor) may release
    assert shown(service, scan.id) == {(None, None)}
    assert service.release(scan.id) is None  # idempotent
    assert service.claim(scan.id, "desk-2").claimed_by == "desk-2"
    assert service.release(scan.id, "desk-2") is not None

    # one event per change, none for a repeated claim or a refused one
    assert claims_of(drain(sub)) == [
        (scan.id, "desk-1"),
        (scan.id, None),
        (scan.id, "desk-2"),
        (scan.id, None),
    ]


def test_unknown_or_expired_scans_and_bad_names(context: ParseContext):
    service = ScanService(EventBus(), retention_hours=24, clock=lambda: NOW)
    old = make_scan(context, received_at=NOW - timedelta(hours=25))
    service.record(old)
    for scan_id in ("nope", old.id):
        with pytest.raises(ScanNotFound) as missing:
            service.claim(scan_id, "desk-1")
        assert missing.value.code == "scan_not_found"
        with pytest.raises(ScanNotFound):
            service.release(scan_id)
    fresh = make_scan(context, received_at=NOW)
    service.record(fresh)
    with pytest.raises(InvalidClient):
        service.claim(fresh.id, "desk 1")
    with pytest.raises(InvalidClient):
        service.release(fresh.id, "desk 1")
    assert service.get(fresh.id) == fresh  # unchanged


def test_racing_threads_one_winner_in_memory(context: ParseContext):
    service = ScanService(EventBus())
    scan = make_scan(context)
    service.record(scan)
    assert race(service, scan.id, 16) == 1


def race(service: ScanService, scan_id: str, clients: int) -> int:
    """`clients` threads claim the scan at the same moment, each for itself; how many won. Every
    loser is told the winner's name."""
    barrier = threading.Barrier(clients)
    won: list[str] = []
    told: list[str] = []
    lock = threading.Lock()

    def claim(name: str) -> None:
        barrier.wait()
        try:
            got = service.claim(scan_id, name)
        except AlreadyClaimed as exc:
            with lock:
                told.append(exc.claim.claimed_by)
        else:
            with lock:
                won.append(got.claimed_by)

    threads = [threading.Thread(target=claim, args=(f"desk-{i}",)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) + len(told) == clients
    assert set(told) <= set(won)
    return len(won)


# --- with a store (SQLite, then PostgreSQL) ----------------------------------------------------


def test_racing_threads_one_winner_in_the_backlog_and_in_the_database(
    db_url: str, tmp_path: Path, context: ParseContext
):
    store = encrypted_store(db_url, tmp_path)
    service = ScanService(EventBus(), store)  # not started: scans wait in the backlog
    waiting, written = make_scan(context), make_scan(context, OTHER)
    service.record(waiting)
    assert race(service, waiting.id, 8) == 1
    store.add([Stored(1, 1, written)])  # in the database only (another run's)
    assert race(service, written.id, 8) == 1


def test_two_agents_on_one_database_one_winner(db_url: str, tmp_path: Path, context: ParseContext):
    """Two services (two agents) over one database claim the same stored scan at once."""
    scan = make_scan(context)
    encrypted_store(db_url, tmp_path).add([Stored(1, 1, scan)])
    agents = [ScanService(EventBus(), encrypted_store(db_url, tmp_path)) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(service: ScanService, name: str) -> None:
        barrier.wait()
        try:
            outcomes.append(service.claim(scan.id, name).claimed_by)
        except AlreadyClaimed as exc:
            outcomes.append("refused, held by " + exc.claim.claimed_by)

    threads = [
        threading.Thread(target=claim, args=(agent, f"desk-{i}")) for i, agent in enumerate(agents)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winner = [o for o in outcomes if not o.startswith("refused")]
    assert len(winner) == 1
    assert outcomes.count(f"refused, held by {winner[0]}") == 1
    for agent in agents:
        assert agent.get(scan.id).claimed_by == winner[0]  # type: ignore[union-attr]
        agent.stop()


def test_a_claim_of_a_scan_not_written_yet_is_written_with_it(
    db_url: str, tmp_path: Path, context: ParseContext
):
    store = encrypted_store(db_url, tmp_path)
    now = [NOW]
    service = ScanService(EventBus(), store, clock=lambda: now[0])
    claimed, released = make_scan(context, received_at=NOW), make_scan(context, OTHER)
    service.record(claimed)
    service.record(released)
    assert service.storage().pending == 2
    service.claim(claimed.id, "desk-1")
    service.claim(released.id, "desk-2")
    service.release(released.id)
    assert shown(service, claimed.id) == {("desk-1", NOW)}  # from the backlog and the window
    service.start()
    try:
        wait_until(lambda: service.storage().pending == 0)
    finally:
        service.stop()
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, claimed_by FROM scans")).all()
    assert dict(rows) == {claimed.id: "desk-1", released.id: None}
    got = store.get(claimed.id)
    assert got is not None and (got.claimed_by, got.claimed_at) == ("desk-1", NOW)


def test_claims_survive_a_restart_and_every_read_shows_them(
    db_url: str, tmp_path: Path, context: ParseContext
):
    scans = [make_scan(context, received_at=NOW - timedelta(minutes=3 - i)) for i in range(3)]
    first = ScanService(EventBus(), encrypted_store(db_url, tmp_path), clock=lambda: NOW)
    first.start()
    try:
        for scan in scans:
            first.record(scan)
        wait_until(lambda: first.storage().pending == 0)
        first.claim(scans[0].id, "desk-1")  # written already: the database's UPDATE
        first.claim(scans[2].id, "kiosk")
        first.recent()  # the store keeps this page: a claim after it must still be seen
        first.claim(scans[1].id, "desk-2")
        first.release(scans[2].id)
        assert [s.claimed_by for s in first.recent().scans()] == [None, "desk-2", "desk-1"]
        boot = first.boot
    finally:
        first.stop()

    bus = EventBus()
    second = ScanService(bus, encrypted_store(db_url, tmp_path), clock=lambda: NOW)
    second.start()  # nothing recorded in this run: every read comes from the database
    try:
        page = second.recent()
        assert [(s.claimed_by, s.claimed_at) for s in page.scans()] == [
            (None, None),
            ("desk-2", NOW),
            ("desk-1", NOW),
        ]
        assert '"claimed_by":"desk-2"' in page.body().decode()  # the served text itself
        assert shown(second, scans[1].id) == {("desk-2", NOW)}
        assert shown(second, scans[2].id) == {(None, None)}  # latest, get and the page agree
        replayed = second.replay(boot, 0, 0, 100)[0]
        assert [r.scan().claimed_by for r in replayed] == ["desk-1", "desk-2", None]
        with pytest.raises(AlreadyClaimed):
            second.claim(scans[0].id, "desk-9")
        assert second.release(scans[0].id, "desk-1") == Claim(scans[0].id, "desk-1", NOW)
        assert second.get(scans[0].id).claimed_by is None  # type: ignore[union-attr]
    finally:
        second.stop()


def test_erasure_and_retention_take_claims_away(db_url: str, tmp_path: Path, context: ParseContext):
    store = encrypted_store(db_url, tmp_path)
    now = [NOW]
    service = ScanService(EventBus(), store, retention_hours=24, clock=lambda: now[0])
    old = make_scan(context, received_at=NOW - timedelta(hours=23))
    erased = make_scan(context, OTHER, received_at=NOW)
    store.add([Stored(1, 1, old), Stored(1, 2, erased)])
    service.claim(old.id, "desk-1")
    service.claim(erased.id, "desk-2")
    assert service.erase(erased.id)
    with pytest.raises(ScanNotFound):
        service.claim(erased.id, "desk-2")
    store.add([Stored(1, 2, erased)])  # the same scan stored again (a replay): no claim left
    assert service.claim(erased.id, "desk-3").claimed_by == "desk-3"
    now[0] = NOW + timedelta(hours=2)  # `old` is past the retention, before any purge
    with pytest.raises(ScanNotFound):
        service.claim(old.id, "desk-1")
    with pytest.raises(ScanNotFound):
        service.release(old.id)


def test_an_older_table_gets_the_claim_columns(db_url: str, tmp_path: Path, context: ParseContext):
    """A table made before claims existed (with `public_json`, its JSON without claim keys)."""
    scan = make_scan(context, received_at=NOW - timedelta(minutes=5))
    bare = scan.attestation.model_copy(update={"member_number": None})
    old_json = public_json_of(scan)[: -len(UNCLAIMED_TAIL)] + "}"
    metadata = MetaData()
    table = Table(
        "scans",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("boot", BigInteger, nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("received_at", DateTime, nullable=False),
        Column("device_id", String(64), nullable=False),
        Column("source", String(32), nullable=False),
        Column("symbology", String(8)),
        Column("status", String(16), nullable=False),
        Column("member_protection", String(16), nullable=False),
        Column("member_number", String(512)),
        Column("attestation", Text, nullable=False),
        Column("public_json", Text),
    )
    engine = create_engine(db_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(
                id=scan.id,
                boot=1,
                seq=1,
                received_at=scan.received_at.replace(tzinfo=None),
                device_id="desk",
                source="serial",
                symbology="]d1",
                status="valid",
                member_protection="plain",
                member_number="12345678",
                attestation=bare.model_dump_json(),
                public_json=old_json,
            )
        )
    engine.dispose()

    service = ScanService(EventBus(), encrypted_store(db_url, tmp_path), clock=lambda: NOW)
    assert service.recent().body().decode() == "[" + scan.model_dump_json() + "]"  # keys added
    assert service.get(scan.id) == scan
    service.claim(scan.id, "desk-1")
    assert shown(service, scan.id) == {("desk-1", NOW)}
    assert service.store is not None
    columns = {c["name"] for c in inspect(service.store.engine).get_columns("scans")}
    assert {"claimed_by", "claimed_at"} <= columns
    service.stop()

"""The scans table and its queries: one SQLModel table on SQLite or PostgreSQL.

    store = Store.from_settings(settings)     # SQLite in the data folder, or any SQLAlchemy URL
    store.add([Stored(boot, seq, scan)])      # a scan already stored (same id) is left as it is
    rows = store.page(device="desk", limit=100)  # newest first, as JSON ready to serve
    store.get(scan_id)                        # one `Scan`, member number revealed if possible

The table (`ScanRecord`) is not the public model (`Scan`). Each row keeps:

- the scan's public JSON without its member number (`public_json`), ready to serve: a page of
  scans is made of these texts with the member number spliced in, so that reading a page costs
  one query, one decryption per row returned, and no model validation;
- the member number apart, protected as configured (`storage.member_protection`), with how it
  was protected (`member_protection`);
- the attestation without its member number as JSON (`attestation`, kept for the rows written
  before `public_json` existed and for older versions of the agent);
- the `(boot, seq)` of the bus event that carried it, which is what the API's event ids are made
  of, so that a client reconnecting after a restart can be given the scans it missed;
- its claim (`claimed_by`, `claimed_at`, null when unclaimed; see `scanner_agent.claims`), apart
  from `public_json` (which is always the unclaimed scan's) and spliced into the served JSON of
  the rows that have one. `claim` and `release` change it in one conditional UPDATE, so that of
  two agents on one PostgreSQL claiming the same scan, exactly one wins.

A database made by an older version (no `public_json`, `claimed_by` or `claimed_at` column)
gets the columns and the paging indexes at start; its rows are served from their other columns.

The indicators table (`IndicatorRecord`, `indicators`): one row per `Indicator` (non-personal
counts, `scanner_agent.indicators`), written by `add` in the same transaction as the scans they
count (an indicator already stored, same id, is left as it is: a journal replayed counts once),
read grouped by `indicator_rows`, and never touched by the erasure or the retention of scans (its
own retention is `purge_indicators`). A database of an older version gains it at start. On
PostgreSQL the schema is made under an advisory lock, so that agents starting together on one
server do not trip over each other's `CREATE TABLE`.

Errors of the database are translated into `StorageError` with a stable code
(`storage_unavailable`, `storage_full` or `storage_error`).

A SQLite file deleted or replaced while the agent runs would otherwise go on taking writes into
the deleted file (its connections keep it open) while nothing reaches the file on disk: the store
remembers the identity (device, inode) of the file it opened and checks it before and after each
write (`add`) and whenever the writer is idle (`check_file`, every second). A file gone or not the
same raises `StorageError` `storage_replaced` (counted in `replaced`; the batch stays in the
writer's backlog), and the next use recreates the file (private, as at start) or opens the one
found, with its table (`_reopen`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    text,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, select

from scanner_agent.attestation import Attestation
from scanner_agent.claims import UNCLAIMED_TAIL, Claim, with_claim
from scanner_agent.config import Settings
from scanner_agent.errors import ConfigError
from scanner_agent.indicators import Indicator, IndicatorQuery
from scanner_agent.scan import Scan
from scanner_agent.storage.errors import StorageError, translate
from scanner_agent.storage.member_protection import MemberProtector, read_or_create_secret

log = logging.getLogger(__name__)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


class _UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, stored as naive UTC, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ScanRecord(SQLModel, table=True):
    """One stored scan. Not the public model: see `Store.to_scan`."""

    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_boot_seq", "boot", "seq"),
        Index("ix_scans_received_id", "received_at", "id"),
        Index("ix_scans_device_received_id", "device_id", "received_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    boot: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The run of the agent that published it (see `api` event ids)."""
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    """Its bus sequence number within that run."""
    received_at: datetime = Field(sa_column=Column(_UtcDateTime(), nullable=False, index=True))
    """UTC, stored without a time zone (the same on every database)."""
    device_id: str = Field(index=True, max_length=64)
    source: str = Field(max_length=32)
    symbology: str | None = Field(default=None, max_length=8)
    status: str = Field(max_length=16)
    member_protection: str = Field(max_length=16)
    member_number: str | None = Field(default=None, max_length=512)
    attestation: str
    """The attestation as JSON, without its member number."""
    public_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The scan as the API serves it, without its member number and unclaimed (null in rows
    written by versions before it existed)."""
    claimed_by: str | None = Field(default=None, max_length=64)
    """The client that claimed it, or null (see `Store.claim`)."""
    claimed_at: datetime | None = Field(
        default=None, sa_column=Column(_UtcDateTime(), nullable=True)
    )
    """When it was claimed (UTC), or null."""


class IndicatorRecord(SQLModel, table=True):
    """One counted event (`scanner_agent.indicators.Indicator.row()`): never personal. Texts
    are empty ('') for "none", lists are `;`-separated."""

    __tablename__ = "indicators"

    id: str = Field(primary_key=True, max_length=64)
    """Random, never the scan's id: a journal line replayed is counted once."""
    kind: str = Field(max_length=16)
    """`scan` or `unreadable`."""
    day: date = Field(sa_column=Column(Date, nullable=False, index=True))
    """In the hospital's time zone."""
    week: str = Field(max_length=10)
    workstation: str = Field(index=True, max_length=64)
    device_id: str = Field(max_length=64)
    device_kind: str = Field(max_length=32)
    source: str = Field(max_length=16)
    decision: str = Field(default="", max_length=16)
    reasons: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    roc_status: str = Field(default="", max_length=16)
    roc_reason: str = Field(default="", max_length=64)
    amc_number: str = Field(default="", max_length=32)
    errors: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    test: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    decode_ms: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    count: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))


_TABLE: Any = ScanRecord.__table__  # type: ignore[attr-defined]
_INDICATORS: Any = IndicatorRecord.__table__  # type: ignore[attr-defined]
_SCHEMA_LOCK_KEY = 0x5CA7_0015
"""The PostgreSQL advisory lock held while the schema is made (agents starting together)."""
_ADDED_COLUMNS = ("public_json", "claimed_by", "claimed_at")
"""Nullable columns added since the first version, added at start to an older table."""
_MEMBER_NULL = '"member_number":null'
_PLAIN_JSON = re.compile(r"[ !#-\[\]-~]*")
"""Printable ASCII but `"` and `\\`: a JSON string as it is."""


def splice_member(public_json: str, number: str | None) -> str:
    """The JSON of a scan with its member number put back in place of `null`.

    `member_number` is the first key of that name in a scan's JSON (the attestation's; every
    key before it is a plain value), and a key is the only place where `"member_number":` can
    appear unescaped."""
    if number is None:
        return public_json
    if _PLAIN_JSON.fullmatch(number):
        value = '"' + number + '"'
    else:
        value = json.dumps(number, ensure_ascii=False)
    return public_json.replace(_MEMBER_NULL, '"member_number":' + value, 1)


def public_json_of(scan: Scan) -> str:
    """The scan's JSON as served, without its member number, unclaimed (its claim is kept in
    its own columns)."""
    bare = scan.attestation.model_copy(update={"member_number": None})
    update = {"attestation": bare, "claimed_by": None, "claimed_at": None}
    return scan.model_copy(update=update).model_dump_json()


@dataclass(frozen=True, slots=True)
class Stored:
    """A scan with the position of its bus event, and its indicator (written with it, in the
    same transaction; kept when the scan is erased before being written)."""

    boot: int
    seq: int
    scan: Scan
    indicator: Indicator | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of scans, newest first, stopped: the last scan's time and id."""

    received_at: datetime
    id: str


class Row:
    """One scan of a page: its id, its JSON as served (member number included) and its time
    (read from the database's value only when asked: most pages never need it)."""

    __slots__ = ("_at", "id", "json")

    def __init__(self, at: Any, scan_id: str, json_text: str) -> None:
        self._at = at
        self.id = scan_id
        self.json = json_text

    @property
    def received_at(self) -> datetime:
        return _as_utc(self._at)

    def __repr__(self) -> str:
        return f"Row({self.id!r})"


def _as_utc(value: Any) -> datetime:
    """A `received_at` as the driver returns it untyped (text on SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


class Store:
    """Thread-safe access to the scans table. Every method raises `StorageError` on failure."""

    def __init__(
        self,
        url: str,
        protector: MemberProtector,
        *,
        pool_timeout_s: float = 5,
        served_kept: int = 4096,
    ) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(f"storage.url: not a database URL: {url!r}") from None
        self.url = parsed
        self.protector = protector
        self.local = parsed.get_backend_name() == "sqlite"
        """A file on this machine (SQLite in WAL mode, where readers never wait for the writer),
        not a server across the network."""
        kwargs: dict[str, Any] = {}
        self.path: Path | None = None
        """The SQLite file, None for any other database (or SQLite in memory)."""
        self._identity: tuple[int, int] | None = None
        """(device, inode) of the file the engine opened, once its schema is ready."""
        self._lost = False
        """The file was found deleted or replaced: reopen before the next use."""
        self._reopen_lock = threading.Lock()
        self.replaced = 0
        """Times the SQLite file was found deleted or replaced while in use."""
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self.path = Path(parsed.database)
                _create_private(self.path)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": pool_timeout_s}
        else:
            kwargs["pool_pre_ping"] = True  # a server may have restarted meanwhile
        if parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": max(1, int(pool_timeout_s))}
            kwargs["pool_timeout"] = pool_timeout_s
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(f"storage.url: no driver for {parsed.drivername!r}: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self.served_kept = served_kept
        self._served: dict[str, str] = {}
        """The served JSON of the rows last read (member number included), so that a page read
        again is neither read from the table nor decrypted again; erasure and retention empty
        it (`_forget_served`)."""
        self._served_lock = threading.Lock()
        self._generation = 0
        """Bumped after every write and erasure: what was read under another generation may be
        out of date, and is not kept."""
        self._pages: dict[tuple[Any, ...], list[Row]] = {}
        """The last pages read, by query, valid for the current generation only (a desk's GAP
        polls the same first page far more often than scans arrive)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        mode = settings.storage.member_number
        key = (
            None
            if mode == "plain"
            else read_or_create_secret(settings.path(settings.storage.key_file))
        )
        return cls(settings.storage_url, MemberProtector(mode, key))

    def describe(self) -> str:
        """The URL without its password, for messages."""
        return self.url.render_as_string(hide_password=True)

    # --- the SQLite file's identity ---
    def _file_identity(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def check_file(self) -> bool:
        """SQLite: raise `StorageError` `storage_replaced` when the file on disk is not the
        file the store opened (deleted, or another put in its place); reopen it when it was
        found so before. True when it was reopened now. Nothing to do for other databases."""
        if self.path is None:
            return False
        if self._lost:
            self._reopen()
            return True
        if self._identity is not None and self._file_identity() != self._identity:
            self._lose()
            raise StorageError("the database file was deleted or replaced", "storage_replaced")
        return False

    def _lose(self) -> None:
        with self._reopen_lock:
            if not self._lost:
                self._lost = True
                self.replaced += 1
                log.error("storage: the database file %s was deleted or replaced", self.path)
        self.engine.dispose()  # pooled connections hold the old file

    def _reopen(self) -> None:
        """Recreate the file (private) or open the one found, with its table."""
        assert self.path is not None
        with self._reopen_lock:
            if not self._lost:
                return
            self.engine.dispose()
            try:
                _create_private(self.path)
                self._identity = None
                self._schema_ready = False
                self.ensure_schema()
            except (OSError, StorageError) as exc:
                raise StorageError(
                    "the database file was deleted or replaced and cannot be reopened",
                    "storage_replaced",
                ) from exc
            self._lost = False
            self._forget_served()
            log.warning("storage: the database file %s reopened", self.path)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if self._lost:
            self._reopen()
        if not self._schema_ready:
            self.ensure_schema()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except SQLAlchemyError as exc:
            self._schema_ready = False  # a database restored empty gets its table back
            raise translate(exc) from exc

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A plain connection (no ORM session) for the reads that serve pages."""
        if self._lost:
            self._reopen()
        if not self._schema_ready:
            self.ensure_schema()
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            self._schema_ready = False
            raise translate(exc) from exc

    @property
    def reads_are_quick(self) -> bool:
        """A page read takes a fraction of a millisecond and cannot wait on a lock or the
        network: a local SQLite file whose schema is ready (after a failure, the next read
        may have to recreate the table, and a locked file makes that wait)."""
        return self.local and self._schema_ready

    def ensure_schema(self) -> None:
        """Create the tables; give a table of an older version its new columns and indexes (and
        a database of an older version its indicators table). On PostgreSQL, under an advisory
        lock: agents starting together on one server make it one after the other."""
        with self._schema_lock:
            try:
                with self._schema_guard():
                    self._make_schema()
            except SQLAlchemyError as exc:
                raise translate(exc) from exc
            if self._identity is None:
                self._identity = self._file_identity()
            self._schema_ready = True

    @contextmanager
    def _schema_guard(self) -> Iterator[None]:
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                conn.commit()

    def _make_schema(self) -> None:
        SQLModel.metadata.create_all(self.engine, tables=[_TABLE, _INDICATORS])
        columns = {c["name"] for c in inspect(self.engine).get_columns("scans")}
        dialect = self.engine.dialect
        # Another agent on the same server may add them at the same time.
        guard = "IF NOT EXISTS " if dialect.name == "postgresql" else ""
        for name in _ADDED_COLUMNS:
            if name not in columns:
                kind = _TABLE.c[name].type.compile(dialect=dialect)
                with self.engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE scans ADD COLUMN {guard}{name} {kind}"))
        for table in (_TABLE, _INDICATORS):
            for index in table.indexes:
                index.create(self.engine, checkfirst=True)

    def ping(self) -> None:
        with self._session() as session:
            session.exec(select(func.count()).select_from(ScanRecord).limit(1)).one()

    def close(self) -> None:
        self.engine.dispose()

    # --- rows <-> scans ---
    def to_record(self, item: Stored) -> ScanRecord:
        scan = item.scan
        bare = scan.attestation.model_copy(update={"member_number": None})
        stored, how = self.protector.protect(scan.attestation.member_number, scan.id)
        return ScanRecord(
            id=scan.id,
            boot=item.boot,
            seq=item.seq,
            received_at=scan.received_at,
            device_id=scan.device_id,
            source=scan.source,
            symbology=scan.symbology,
            status=scan.attestation.status,
            member_protection=how,
            member_number=stored,
            attestation=bare.model_dump_json(),
            public_json=public_json_of(scan),
            claimed_by=scan.claimed_by,
            claimed_at=scan.claimed_at if scan.claimed_by is not None else None,
        )

    def to_scan(self, row: ScanRecord) -> Scan:
        number = self.protector.reveal(row.member_number, row.member_protection, row.id)
        if row.public_json is not None:
            served = with_claim(splice_member(row.public_json, number), *_claim_of(row))
            return Scan.model_validate_json(served)
        attestation = Attestation.model_validate_json(row.attestation)  # an older row
        if number is not None:
            attestation = attestation.model_copy(update={"member_number": number})
        return Scan.model_validate(
            {
                "id": row.id,
                "received_at": row.received_at,
                "device_id": row.device_id,
                "source": row.source,
                "symbology": row.symbology,
                "attestation": attestation,
                "claimed_by": row.claimed_by,
                "claimed_at": row.claimed_at if row.claimed_by is not None else None,
            }
        )

    # --- writes ---
    def add(self, items: Sequence[Stored], indicators: Sequence[Indicator] = ()) -> None:
        """Store scans, their indicators and the other `indicators`, in one transaction; a scan
        (an indicator) already stored, same id, is left as it is."""
        counted = [item.indicator for item in items if item.indicator is not None]
        counted.extend(indicators)
        if not items and not counted:
            return
        self.check_file()
        with self._session() as session:
            ids = [item.scan.id for item in items]
            known = (
                set(session.exec(select(ScanRecord.id).where(col(ScanRecord.id).in_(ids))))
                if ids
                else set()
            )
            try:
                for item in items:
                    if item.scan.id not in known:
                        session.add(self.to_record(item))
                        known.add(item.scan.id)
                if counted:
                    self._add_indicators(session, counted)
                session.commit()
            finally:  # after the commit: a page read before it is out of date
                self._new_generation()
        self.check_file()  # deleted meanwhile: written into the old file, so not written

    @staticmethod
    def _add_indicators(session: Session, indicators: Sequence[Indicator]) -> None:
        """Insert the indicators whose id is not stored yet (in the session's transaction)."""
        ids = list(dict.fromkeys(i.id for i in indicators))
        known: set[str] = set()
        id_column = col(IndicatorRecord.id)
        for start in range(0, len(ids), _IN_CHUNK):
            part = ids[start : start + _IN_CHUNK]
            known.update(session.exec(select(IndicatorRecord.id).where(id_column.in_(part))))
        rows: list[dict[str, Any]] = []
        for indicator in indicators:
            if indicator.id not in known:
                known.add(indicator.id)
                rows.append(indicator.row())
        if rows:
            session.connection().execute(insert(_INDICATORS), rows)

    def stored_indicators(self, ids: Sequence[str]) -> set[str]:
        """Which of these indicator ids are in the table (a batch committed whose answer was
        lost, or a journal replayed, is both there and still waiting)."""
        found: set[str] = set()
        if not ids:
            return found
        with self._session() as session:
            id_column = col(IndicatorRecord.id)
            for start in range(0, len(ids), _IN_CHUNK):
                part = list(ids[start : start + _IN_CHUNK])
                found.update(session.exec(select(IndicatorRecord.id).where(id_column.in_(part))))
        return found

    def indicator_rows(self, query: IndicatorQuery) -> list[dict[str, Any]]:
        """The indicator rows of `query`'s period (days `start` to `end`) and filters
        (workstation, source, decision, device; test rows only with `include_test`), of every
        workstation writing to this database, grouped by `query.base_columns()` and `kind`:
        dicts of those columns (`day` a `date`, `test` a bool), `kind`, `count` (the events),
        `decode_ms_total` and `decode_ms_count` (over the measured ones)."""
        table = _INDICATORS
        groups = [table.c[name] for name in (*query.base_columns(), "kind")]
        measured = table.c.decode_ms.is_not(None)
        statement = core_select(
            *groups,
            func.sum(table.c["count"]).label("count"),
            func.sum(case((measured, table.c.decode_ms * table.c["count"]), else_=0.0)).label(
                "decode_ms_total"
            ),
            func.sum(case((measured, table.c["count"]), else_=0)).label("decode_ms_count"),
        ).where(table.c.day >= query.start, table.c.day <= query.end)
        if not query.include_test:
            statement = statement.where(table.c.test.is_(False))
        for name in ("workstation", "source", "decision", "device_id"):
            wanted = getattr(query, name)
            if wanted is not None:
                statement = statement.where(table.c[name] == wanted)
        statement = statement.group_by(*groups)
        with self._connection() as conn:
            result = conn.execute(statement).mappings().all()
        out: list[dict[str, Any]] = []
        for row in result:
            item = dict(row)
            day = item.get("day")
            if day is not None and not isinstance(day, date):
                item["day"] = date.fromisoformat(str(day))
            if "test" in item:
                item["test"] = bool(item["test"])
            item["count"] = int(item["count"] or 0)
            item["decode_ms_total"] = float(item["decode_ms_total"] or 0.0)
            item["decode_ms_count"] = int(item["decode_ms_count"] or 0)
            out.append(item)
        return out

    def purge_indicators(self, before: date) -> int:
        """Delete the indicator rows of the days before `before` (`[indicators]
        retention_days`), of every workstation; how many. Scans are not touched."""
        with self._session() as session:
            result = session.exec(delete(IndicatorRecord).where(col(IndicatorRecord.day) < before))
            session.commit()
            return int(result.rowcount or 0)

    def delete(self, scan_id: str) -> bool:
        try:
            with self._session() as session:
                result = session.exec(delete(ScanRecord).where(col(ScanRecord.id) == scan_id))
                session.commit()
                found = bool(result.rowcount)
        finally:  # after the commit: a page read meanwhile cannot keep it
            self._forget_served(scan_id)
        if found:
            self._erase_traces()
        return found

    def delete_all(self, device: str | None = None) -> int:
        try:
            with self._session() as session:
                statement = delete(ScanRecord)
                if device is not None:
                    statement = statement.where(col(ScanRecord.device_id) == device)
                result = session.exec(statement)
                session.commit()
                count = int(result.rowcount or 0)
        finally:
            self._forget_served()
        if count:
            self._erase_traces()
        return count

    def purge(self, before: datetime) -> int:
        """Erase every scan received before `before` (the retention)."""
        try:
            with self._session() as session:
                statement = delete(ScanRecord).where(col(ScanRecord.received_at) < before)
                result = session.exec(statement)
                session.commit()
                count = int(result.rowcount or 0)
        finally:
            self._forget_served()
        if count:
            self._erase_traces()
        return count

    def _erase_traces(self) -> None:
        """After an erasure, SQLite: move the WAL into the database file and empty it
        (`wal_checkpoint(TRUNCATE)`), so that neither the erased rows' old pages in the WAL nor
        the database's old pages remain (`secure_delete` zeroes what a DELETE frees, in the
        pages the checkpoint writes). A reader holding an older snapshot makes the checkpoint
        wait (`busy_timeout`), then it is tried again; raises `StorageError` when it cannot
        finish. Nothing to do on other databases (see the README on PostgreSQL)."""
        if not self.local or self.path is None:
            return
        for _ in range(_CHECKPOINT_ATTEMPTS):
            try:
                with self.engine.connect() as conn:
                    busy, _log, _done = conn.exec_driver_sql(
                        "PRAGMA wal_checkpoint(TRUNCATE)"
                    ).one()
            except SQLAlchemyError as exc:
                raise translate(exc) from exc
            if not busy:
                return
        raise StorageError("the erased scans could not yet be wiped from the WAL", "storage_error")

    # --- claims ---
    def claim(self, scan_id: str, client: str, at: datetime, cutoff: datetime) -> Claim | None:
        """Claim the scan for `client` at `at` if nobody holds it, in one conditional UPDATE
        (of several agents on one database, exactly one wins). The claim that holds the scan
        afterwards: this one, or the one that held it already (whoever it names); None when no
        scan received at or after `cutoff` has this id."""
        free = (
            col(ScanRecord.id) == scan_id,
            col(ScanRecord.received_at) >= cutoff,
            col(ScanRecord.claimed_by).is_(None),
        )
        take = update(ScanRecord).where(*free).values(claimed_by=client, claimed_at=at)
        for _ in range(_CLAIM_ATTEMPTS):
            with self._session() as session:
                taken = session.exec(take).rowcount
                now = None if taken else self._claim_row(session, scan_id)
                session.commit()
            if taken:
                self._forget_served(scan_id)
                return Claim(scan_id, client, at)
            if now is None or _as_utc(now[2]) < cutoff:
                return None
            if now[0] is not None:
                return Claim(scan_id, now[0], _as_utc(now[1]))
            # released between the two statements: try again
        raise StorageError("the claim kept changing", "storage_error")

    def release(
        self, scan_id: str, client: str | None, cutoff: datetime
    ) -> tuple[bool, Claim | None]:
        """Remove the scan's claim (only when `client` holds it, if given). Whether a scan
        received at or after `cutoff` has this id, and the claim it had (None when unclaimed;
        not removed when another client than `client` holds it)."""
        for _ in range(_CLAIM_ATTEMPTS):
            with self._session() as session:
                now = self._claim_row(session, scan_id)
                if now is None or _as_utc(now[2]) < cutoff:
                    return False, None
                if now[0] is None:
                    return True, None
                held = Claim(scan_id, now[0], _as_utc(now[1]))
                if client is not None and held.claimed_by != client:
                    return True, held
                free = update(ScanRecord).where(
                    col(ScanRecord.id) == scan_id, col(ScanRecord.claimed_by) == held.claimed_by
                )
                done = session.exec(free.values(claimed_by=None, claimed_at=None)).rowcount
                session.commit()
            if done:
                self._forget_served(scan_id)
                return True, held
            # claimed again by another client between the two statements: look again
        raise StorageError("the claim kept changing", "storage_error")

    @staticmethod
    def _claim_row(session: Session, scan_id: str) -> Any:
        statement = core_select(
            col(ScanRecord.claimed_by), col(ScanRecord.claimed_at), col(ScanRecord.received_at)
        ).where(col(ScanRecord.id) == scan_id)
        return session.exec(statement).first()  # type: ignore[call-overload]

    # --- reads ---
    def get(self, scan_id: str) -> Scan | None:
        with self._session() as session:
            row = session.get(ScanRecord, scan_id)
            return self.to_scan(row) if row else None

    def page(
        self,
        device: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        before: Position | None = None,
    ) -> list[Row]:
        """Scans newest first (by time, then id), as JSON ready to serve: those of `device`,
        received at or after `since`, and strictly after `before` in that order."""
        statement = _page_statement(device is not None, since is not None, before is not None)
        params: dict[str, Any] = {"limit": limit}
        if device is not None:
            params["device"] = device
        if since is not None:
            params["since"] = since
        if before is not None:
            params["before_at"] = before.received_at
            params["before_id"] = before.id
        key = (device, since, limit, before)
        with self._served_lock:
            generation = self._generation
            kept = self._pages.get(key)
        if kept is not None:
            return list(kept)
        with self._connection() as conn:
            positions = conn.execute(statement, params).all()
            # The texts already served, taken in one step: an erasure, a claim or the purge in
            # another thread may empty the memory meanwhile, and room made for this page's new
            # texts may push some of its older ones out; a row whose text was taken here is
            # never dropped from the page for that (a short page would end a cursor walk).
            with self._served_lock:
                served = self._served
                texts = {row_id: served[row_id] for row_id, _ in positions if row_id in served}
            missing = [row_id for row_id, _ in positions if row_id not in texts]
            rendered = self._render(conn, missing) if missing else {}
        if rendered:
            texts.update(rendered)
            with self._served_lock:
                if generation == self._generation:  # nothing was erased meanwhile
                    served = self._served
                    served.update(rendered)
                    while len(served) > self.served_kept:
                        del served[next(iter(served))]
        out: list[Row] = []
        for row_id, at in positions:
            text_ = texts.get(row_id)
            if text_ is not None:  # else erased meanwhile
                out.append(Row(at, row_id, text_))
        with self._served_lock:
            if generation == self._generation:  # nothing written or erased meanwhile
                self._pages[key] = out
                while len(self._pages) > PAGES_KEPT:
                    del self._pages[next(iter(self._pages))]
        return list(out)

    def _render(self, conn: Connection, ids: list[str]) -> dict[str, str]:
        """The served JSON of these rows: stored JSON, member number revealed and spliced in."""
        reveal = self.protector.reveal
        rows = conn.execute(_RENDER_STATEMENT, {"ids": ids}).all()
        texts: dict[str, str] = {}
        for row_id, public, how, number, claimed_by, claimed_at in rows:
            if public is None:  # a row of an older version
                scan = self.get(row_id)
                if scan is not None:
                    texts[row_id] = scan.model_dump_json()
                continue
            served = splice_member(public, reveal(number, how, row_id))
            if claimed_by is not None or not served.endswith(UNCLAIMED_TAIL):
                served = with_claim(served, claimed_by, claimed_at)  # claimed, or an old row
            texts[row_id] = served
        return texts

    def _new_generation(self) -> None:
        """Rows were written: the pages read before are out of date."""
        with self._served_lock:
            self._generation += 1
            self._pages.clear()

    def _forget_served(self, scan_id: str | None = None) -> None:
        """Erased rows leave the memory of served JSON (all of it when `scan_id` is None) and
        of pages."""
        with self._served_lock:
            self._generation += 1
            self._pages.clear()
            if scan_id is None:
                self._served.clear()
            else:
                self._served.pop(scan_id, None)

    def recent(
        self, device: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Scan]:
        """Newest first, as `Scan`s."""
        return [Scan.model_validate_json(r.json) for r in self.page(device, since, limit)]

    def after(self, boot: int, seq: int, limit: int) -> list[Stored]:
        """Scans published after the event `(boot, seq)`, oldest first."""
        statement = (
            select(ScanRecord)
            .where(tuple_(col(ScanRecord.boot), col(ScanRecord.seq)) > tuple_(boot, seq))
            .order_by(col(ScanRecord.boot), col(ScanRecord.seq))
            .limit(limit)
        )
        with self._session() as session:
            return [Stored(row.boot, row.seq, self.to_scan(row)) for row in session.exec(statement)]

    def max_boot(self) -> int:
        with self._session() as session:
            value = session.exec(select(func.max(ScanRecord.boot))).one()
            return int(value or 0)


_CLAIM_ATTEMPTS = 5
_IN_CHUNK = 500
"""Ids per `IN (...)` (SQLite's limit on bound parameters is far above)."""
_CHECKPOINT_ATTEMPTS = 5


def _claim_of(row: ScanRecord) -> tuple[str | None, datetime | None]:
    if row.claimed_by is None:
        return None, None
    return row.claimed_by, row.claimed_at


PAGES_KEPT = 64
"""Pages kept for the current generation (each holds its rows' texts, already kept anyway)."""


@functools.cache
def _page_statement(device: bool, since: bool, before: bool) -> Any:
    """The query of a page, built once for each combination of filters (parameters bound at
    execution): building a statement costs more than running it."""
    received = col(ScanRecord.received_at)
    scan_id = col(ScanRecord.id)
    statement = core_select(scan_id, type_coerce(received, String))  # time parsed by `Row`
    if device:
        statement = statement.where(col(ScanRecord.device_id) == bindparam("device"))
    if since:
        statement = statement.where(received >= bindparam("since", type_=_UtcDateTime()))
    if before:  # a row value: one range of the (received_at, id) index
        position = tuple_(bindparam("before_at", type_=_UtcDateTime()), bindparam("before_id"))
        statement = statement.where(tuple_(received, scan_id) < position)
    return statement.order_by(received.desc(), scan_id.desc()).limit(bindparam("limit"))


_RENDER_STATEMENT: Any = core_select(
    col(ScanRecord.id),
    col(ScanRecord.public_json),
    col(ScanRecord.member_protection),
    col(ScanRecord.member_number),
    col(ScanRecord.claimed_by),
    col(ScanRecord.claimed_at),
).where(col(ScanRecord.id).in_(bindparam("ids", expanding=True)))


def _create_private(path: Path) -> None:
    """Create the SQLite file for this user only (its -wal and -shm files inherit the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA secure_delete=ON")  # what a DELETE frees is zeroed
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


__all__ = [
    "IndicatorRecord",
    "Position",
    "Row",
    "ScanRecord",
    "Store",
    "Stored",
    "public_json_of",
    "splice_member",
]

"""Scan storage: one SQLModel table, retention, erasure, and the bus subscriber that fills it.

    store = Store.from_settings(settings)     # SQLite in the data folder, or any SQLAlchemy URL
    writer = StorageWriter(store, bus, boot=..., retention_hours=24)
    writer.start()                            # its own thread; subscribes to the bus
    store.recent(device="desk", limit=10)       # newest first, as public `Scan`s

The table (`ScanRecord`) is not the public model (`Scan`): it keeps the member number apart,
protected as configured (`plain`, `hashed` with a keyed HMAC, or `encrypted` with Fernet), and
the attestation without it as JSON. Each row also keeps the `(boot, seq)` of the bus event that
carried it, which is what the API's event ids are made of, so that a client reconnecting after
a restart of the agent can be given the scans it missed from the database.

The writer never holds up anyone: scans reach live clients through their own subscriptions,
and when the database is unavailable or full the writer keeps its scans in memory (bounded),
reports the error (`state`, `last_error`) and retries with a growing delay until it recovers.

Errors of the database are translated here into `StorageError` with a stable code:
`storage_unavailable`, `storage_full` or `storage_error`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    TypeDecorator,
    create_engine,
    delete,
    event,
    func,
    tuple_,
)
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, select

from scanner_agent.attestation import Attestation
from scanner_agent.bus import EventBus, ScanEvent, Subscription
from scanner_agent.config import Settings
from scanner_agent.errors import ConfigError, ScannerAgentError
from scanner_agent.scan import Scan

log = logging.getLogger(__name__)

Protection = Literal["plain", "hashed", "encrypted"]
StorageState = Literal["starting", "ok", "error", "stopped"]


class StorageError(ScannerAgentError):
    """The database could not be used. `code` is stable; the message names no personal data."""

    code = "storage_error"

    def __init__(self, message: str, code: str = "storage_error") -> None:
        super().__init__(message)
        self.code = code


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
    __table_args__ = (Index("ix_scans_boot_seq", "boot", "seq"),)

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


# --- member numbers at rest -----------------------------------------------------------------


def read_or_create_secret(path: Path) -> bytes:
    """A Fernet key kept in `path` (mode 0600), created on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        tighten_mode(path)
        key = path.read_bytes().strip()
    else:
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
        log.info("created the storage key %s (mode 0600)", path)
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(
            f"{path}: not a storage key (expected 32 url-safe base64 bytes)"
        ) from None
    return key


def tighten_mode(path: Path) -> None:
    """Secrets are for this user only: fix a file others could read, and say so."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
        path.chmod(0o600)


class MemberProtector:
    """Turns a member number into what is stored, and back when that is possible."""

    def __init__(self, mode: Protection, key: bytes | None = None) -> None:
        if mode != "plain" and key is None:
            raise ValueError(f"member_number = {mode!r} needs a key")
        self.mode = mode
        self._fernet = Fernet(key) if key else None
        self._hmac_key = (
            hashlib.sha256(b"scanner-agent member hash\0" + key).digest() if key else b""
        )

    def protect(self, number: str | None) -> str | None:
        if number is None:
            return None
        if self.mode == "plain":
            return number
        if self.mode == "hashed":
            return self.digest(number)
        assert self._fernet is not None
        return self._fernet.encrypt(number.encode()).decode("ascii")

    def digest(self, number: str) -> str:
        mac = hmac.new(self._hmac_key, number.encode(), hashlib.sha256).digest()
        return "hmac-sha256:" + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def reveal(self, stored: str | None, mode: str) -> str | None:
        """The member number of a row protected with `mode`, or None when it cannot be read."""
        if stored is None or mode == "hashed":
            return None
        if mode == "plain":
            return stored
        if self._fernet is None:
            return None
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None


# --- the store --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored scan with the position of its bus event."""

    boot: int
    seq: int
    scan: Scan


def _translate(exc: SQLAlchemyError) -> StorageError:
    text = str(getattr(exc, "orig", exc)).lower()
    if "full" in text or "no space" in text or "disk quota" in text:
        return StorageError("the database is full", "storage_full")
    if isinstance(exc, OperationalError):
        return StorageError("the database is unavailable", "storage_unavailable")
    return StorageError(f"the database refused the operation ({type(exc).__name__})")


class Store:
    """Thread-safe access to the scans table. Every method raises `StorageError` on failure."""

    def __init__(self, url: str, protector: MemberProtector, *, pool_timeout_s: float = 5) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(f"storage.url: not a database URL: {url!r}") from None
        self.url = parsed
        self.protector = protector
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _create_private(Path(parsed.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": pool_timeout_s}
        elif parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": max(1, int(pool_timeout_s))}
            kwargs["pool_timeout"] = pool_timeout_s
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(f"storage.url: no driver for {parsed.drivername!r}: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._schema_ready = False

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

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if not self._schema_ready:
            self.ensure_schema()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except SQLAlchemyError as exc:
            self._schema_ready = False  # a database restored empty gets its table back
            raise _translate(exc) from exc

    def ensure_schema(self) -> None:
        try:
            SQLModel.metadata.create_all(self.engine, tables=[ScanRecord.__table__])  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise _translate(exc) from exc
        self._schema_ready = True

    def ping(self) -> None:
        with self._session() as session:
            session.exec(select(func.count()).select_from(ScanRecord).limit(1)).one()

    def close(self) -> None:
        self.engine.dispose()

    # --- rows <-> scans ---
    def to_record(self, item: Stored) -> ScanRecord:
        scan = item.scan
        bare = scan.attestation.model_copy(update={"member_number": None})
        return ScanRecord(
            id=scan.id,
            boot=item.boot,
            seq=item.seq,
            received_at=scan.received_at,
            device_id=scan.device_id,
            source=scan.source,
            symbology=scan.symbology,
            status=scan.attestation.status,
            member_protection=self.protector.mode,
            member_number=self.protector.protect(scan.attestation.member_number),
            attestation=bare.model_dump_json(),
        )

    def to_scan(self, row: ScanRecord) -> Scan:
        attestation = Attestation.model_validate_json(row.attestation)
        number = self.protector.reveal(row.member_number, row.member_protection)
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
            }
        )

    # --- writes ---
    def add(self, items: Sequence[Stored]) -> None:
        """Store scans; a scan already stored (same id) is left as it is."""
        if not items:
            return
        with self._session() as session:
            ids = [item.scan.id for item in items]
            known = set(session.exec(select(ScanRecord.id).where(col(ScanRecord.id).in_(ids))))
            for item in items:
                if item.scan.id not in known:
                    session.add(self.to_record(item))
                    known.add(item.scan.id)
            session.commit()

    def delete(self, scan_id: str) -> bool:
        with self._session() as session:
            result = session.exec(delete(ScanRecord).where(col(ScanRecord.id) == scan_id))
            session.commit()
            return bool(result.rowcount)

    def delete_all(self, device: str | None = None) -> int:
        with self._session() as session:
            statement = delete(ScanRecord)
            if device is not None:
                statement = statement.where(col(ScanRecord.device_id) == device)
            result = session.exec(statement)
            session.commit()
            return int(result.rowcount or 0)

    def purge(self, before: datetime) -> int:
        """Erase every scan received before `before` (the retention)."""
        with self._session() as session:
            result = session.exec(delete(ScanRecord).where(col(ScanRecord.received_at) < before))
            session.commit()
            return int(result.rowcount or 0)

    # --- reads ---
    def get(self, scan_id: str) -> Scan | None:
        with self._session() as session:
            row = session.get(ScanRecord, scan_id)
            return self.to_scan(row) if row else None

    def recent(
        self, device: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Scan]:
        """Newest first."""
        statement = select(ScanRecord)
        if device is not None:
            statement = statement.where(col(ScanRecord.device_id) == device)
        if since is not None:
            statement = statement.where(col(ScanRecord.received_at) >= since)
        statement = statement.order_by(
            col(ScanRecord.received_at).desc(), col(ScanRecord.id).desc()
        ).limit(limit)
        with self._session() as session:
            return [self.to_scan(row) for row in session.exec(statement)]

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


def _create_private(path: Path) -> None:
    """Create the SQLite file for this user only (its -wal and -shm files inherit the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


# --- the bus subscriber -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorageProblem:
    code: str
    message: str
    at: datetime


class StorageWriter:
    """Writes every scan published on the bus, in its own thread; purges by retention.

    `state` is `ok` once a write (or the schema) succeeded and `error` while the database fails;
    scans wait in memory meanwhile (at most `max_pending`, the oldest dropped and counted).
    """

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        boot: int,
        retention_hours: float,
        max_pending: int = 100_000,
        purge_interval_s: float = 60,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.bus = bus
        self.boot = boot
        self.retention = timedelta(hours=retention_hours)
        self.max_pending = max_pending
        self.purge_interval_s = purge_interval_s
        self.batch = batch
        self.clock = clock
        self.state: StorageState = "starting"
        self.last_error: StorageProblem | None = None
        self.written = 0
        self.failures = 0
        self.dropped = 0
        self.purged = 0
        self._pending: deque[Stored] = deque()
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        """Held while scans are written. Erasure holds it too, so that a scan taken from the
        backlog just before it is erased cannot be written just after."""
        self._stop = threading.Event()
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._purge_at = 0.0

    # --- life ---
    def start(self) -> None:
        self._sub = self.bus.subscribe("storage", maxsize=self.max_pending)
        self._thread = threading.Thread(target=self._run, name="storage-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._sub is not None:
            self._sub.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._flush_once()
        if self._pending:
            log.warning("storage stopped with %d scan(s) not written", len(self._pending))
        self.state = "stopped"

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    @property
    def dropped_by_bus(self) -> int:
        return self._sub.dropped if self._sub else 0

    # --- erasure of what is not written yet ---
    def forget(self, scan_id: str) -> bool:
        with self._lock:
            before = len(self._pending)
            self._pending = deque(i for i in self._pending if i.scan.id != scan_id)
            return len(self._pending) != before

    def forget_all(self, device: str | None = None) -> int:
        with self._lock:
            before = len(self._pending)
            self._pending = deque(
                i for i in self._pending if device is not None and i.scan.device_id != device
            )
            return before - len(self._pending)

    # --- the loop ---
    def _run(self) -> None:
        assert self._sub is not None
        try:
            self.store.ensure_schema()
            self._ok()
        except StorageError as exc:
            self._failed(exc)
        while not self._stop.is_set():
            wait = 1.0
            if self._pending:
                wait = max(0.0, min(1.0, self._retry_at - time.monotonic()))
            event = self._sub.get(timeout=wait)
            while event is not None:
                if isinstance(event, ScanEvent):
                    self._queue(Stored(self.boot, event.seq, event.scan))
                event = self._sub.get_nowait()
            now = time.monotonic()
            if self._pending and now >= self._retry_at:
                self._flush_once()
            if now >= self._purge_at:
                self._purge_at = now + self.purge_interval_s
                try:
                    self.purge_now()
                except StorageError as exc:
                    self._failed(exc)

    def _queue(self, item: Stored) -> None:
        with self._lock:
            if len(self._pending) >= self.max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(item)

    def _flush_once(self) -> None:
        while True:
            with self.write_lock:
                with self._lock:
                    chunk = list(self._take(self.batch))
                if not chunk:
                    return
                try:
                    self.store.add(chunk)
                except StorageError as exc:
                    with self._lock:
                        self._pending.extendleft(reversed(chunk))
                    self._failed(exc)
                    return
            self.written += len(chunk)
            self._ok()

    def _take(self, n: int) -> Iterable[Stored]:
        for _ in range(min(n, len(self._pending))):
            yield self._pending.popleft()

    def purge_now(self) -> int:
        """Erase the scans older than the retention; the number erased."""
        count = self.store.purge(self.clock() - self.retention)
        self.purged += count
        if count:
            log.info("retention: erased %d scan(s) older than %s", count, self.retention)
        return count

    def _ok(self) -> None:
        if self.state == "error":
            log.info("storage recovered (%s)", self.store.describe())
        self.state = "ok"
        self._backoff = 0.0
        self._retry_at = 0.0

    def _failed(self, exc: StorageError) -> None:
        self.failures += 1
        if self.state != "error" or self.last_error is None or self.last_error.code != exc.code:
            log.error("storage failing (%s): %s", exc.code, exc)
        self.state = "error"
        self.last_error = StorageProblem(exc.code, str(exc), self.clock())
        self._backoff = min(5.0, max(0.25, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff


__all__ = [
    "MemberProtector",
    "ScanRecord",
    "StorageError",
    "StorageProblem",
    "StorageWriter",
    "Store",
    "Stored",
    "read_or_create_secret",
]

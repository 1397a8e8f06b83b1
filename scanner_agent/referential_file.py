"""The running agent's referential file: loaded at start, reloaded when it changes, the previous
one kept when a new one does not load.

    file = ReferentialFile.load(path, on_load=use)   # ConfigError: no previous one to keep
    file.referential                                 # the one in use
    file.check()          # reloads when the file's identity (mtime_ns, size, inode) changed
    file.start(5.0)       # ... every 5 s on a daemon thread, until `stop()`
    file.status(today, max_age_days)   # path, entries, updated, age, the last load error

`on_load(referential)` is called with each new referential that loads (the agent assigns it to
`ParseContext.referential`, where every decision reads it). A file that fails to load (a bad
line, two overlapping lines, the file gone) leaves the previous referential in use; its error
stands in `error` (and `/v1/health`) until a good file replaces it. The same bad file is not
read again until it changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from scanner_agent.errors import ConfigError
from scanner_agent.polling import Poller
from scanner_agent.referential import Referential

log = logging.getLogger(__name__)

Identity = tuple[int, int, int] | None
"""(mtime_ns, size, inode) of the file; None when it cannot be read."""


def file_identity(path: Path) -> Identity:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True, slots=True)
class ReferentialStatus:
    """What `/v1/health`, `/metrics` and the self-test say of the referential."""

    path: str
    entries: int
    """AMCs in the referential in use (an AMC with a history of several lines counts once)."""
    lines: int
    updated: date | None
    """The newest `updated` of its lines."""
    age_days: int | None
    """Days from `updated` to today (None when no line says)."""
    stale: bool
    """Older than `parser.referential_max_age_days`."""
    error: str | None
    """Why the file's last load failed, while the previous referential stays in use."""
    loaded_at: datetime | None
    """When the referential in use was loaded (UTC; None when it was given, not read)."""
    load_errors: int
    """Loads that failed since start."""


class ReferentialFile:
    """The referential in use, the file it comes from, and the last load's error. Thread-safe."""

    def __init__(
        self,
        path: Path,
        referential: Referential,
        *,
        on_load: Callable[[Referential], None] | None = None,
        identity: Identity | None = None,
        loaded_at: datetime | None = None,
    ) -> None:
        """`referential` was read from `path` (its `identity` then, read now when not given)."""
        self.path = path
        self._referential = referential
        self._on_load = on_load
        self._identity = identity if identity is not None else file_identity(path)
        self._error: str | None = None
        self._loaded_at = loaded_at
        self._load_errors = 0
        self._lock = threading.Lock()
        self._poller = Poller(self.check, "referential-reload", "AMC referential check failed")

    @classmethod
    def load(
        cls, path: Path, *, on_load: Callable[[Referential], None] | None = None
    ) -> ReferentialFile:
        """Read `path`; `ConfigError` when it does not load (there is no previous one to keep)."""
        identity = file_identity(path)  # before reading: a change while reading is seen next time
        referential = Referential.load(path)
        return cls(
            path, referential, on_load=on_load, identity=identity, loaded_at=datetime.now(UTC)
        )

    @property
    def referential(self) -> Referential:
        return self._referential

    @property
    def error(self) -> str | None:
        """The last load's error while it stands (None once a good file loaded)."""
        return self._error

    def check(self) -> bool:
        """Reload the file if it changed since the last load (or attempt); True when a new
        referential is now in use. A failed load keeps the previous one and records the error."""
        with self._lock:
            identity = file_identity(self.path)
            if identity == self._identity and (identity is not None or self._error is not None):
                return False
            self._identity = identity
            try:
                referential = Referential.load(self.path)
            except ConfigError as exc:
                self._load_errors += 1
                if str(exc) != self._error:
                    log.warning("AMC referential not reloaded, the previous one stays: %s", exc)
                self._error = str(exc)
                return False
            self._referential = referential
            self._error = None
            self._loaded_at = datetime.now(UTC)
            if self._on_load is not None:
                self._on_load(referential)
        log.info("AMC referential reloaded from %s: %d AMC(s)", self.path, len(referential))
        return True

    def status(self, today: date, max_age_days: int | None = None) -> ReferentialStatus:
        with self._lock:
            referential, error = self._referential, self._error
            loaded_at, load_errors = self._loaded_at, self._load_errors
        return ReferentialStatus(
            path=str(self.path),
            entries=len(referential),
            lines=referential.lines,
            updated=referential.updated,
            age_days=referential.age_days(today),
            stale=max_age_days is not None and referential.is_stale(today, max_age_days),
            error=error,
            loaded_at=loaded_at,
            load_errors=load_errors,
        )

    # --- polling ------------------------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """`check()` every `interval_s` seconds on a daemon thread (nothing when 0)."""
        self._poller.start(interval_s)

    def stop(self) -> None:
        self._poller.stop()


__all__ = ["ReferentialFile", "ReferentialStatus", "file_identity"]

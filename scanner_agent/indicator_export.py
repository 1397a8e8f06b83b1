"""The weekly export of the indicators: `indicators-<ISO week>.csv` and `.json` in
`[indicators] export_dir`, for the national supervision's weekly reports.

    export = WeeklyExport(Path("/srv/indicateurs"), read_for(scans), today=context.today)
    export.start()            # at once: the previous week, if its files are missing; then every
                              # `interval_s` (a new week begun: the week that just ended)
    export.export_week("2026-W48")   # one week now: "written", "present" or "conflict"
    export.status()           # ExportStatus: export_dir, last_export, error (for /v1/health)
    export.stop()

The files hold the week's report grouped by `EXPORT_GROUP_BY`, test attestations left out
(`docs/indicators.md` documents every column): the same data give the same bytes (rows sorted,
no generation time), so that agents sharing one database and one folder write the same files.

Each file is written atomically and never over another one: the content goes to a temporary file
in the same folder (`.indicators-2026-W48.csv.<random>.tmp`), is flushed to disk, then linked
under its final name, which fails if that name exists (a file is never replaced), then the
temporary is removed and the folder flushed. Where hard links are not supported, a rename that
never replaces an existing file is used instead (`os.rename` after checking; a second agent
racing it with a different content is the one case left). A file already there with the same
bytes: nothing is done. A different file: left as it is, the conflict logged and shown
(`export_conflict`) until a later week is exported; that week is not tried again. Any other
failure (the database, the folder): `export_failed`, tried again at the next check. While this
agent still holds indicators of the week not written to the database, the week waits (another
agent's file would lack them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from scanner_agent.indicators import (
    EXPORT_GROUP_BY,
    IndicatorQuery,
    IndicatorReport,
    previous_week,
)
from scanner_agent.safe_files import link_no_replace, sync_folder

if TYPE_CHECKING:
    from scanner_agent.scans import ScanService

log = logging.getLogger(__name__)

ExportErrorCode = Literal["export_conflict", "export_failed"]
Outcome = Literal["written", "present", "conflict"]
SUFFIXES: tuple[str, ...] = ("csv", "json")


class ExportNotReady(Exception):
    """The week cannot be exported yet (indicators of it wait to be written)."""


@dataclass(frozen=True, slots=True)
class ExportError:
    code: ExportErrorCode
    message: str
    """A sentence (file names, the error's kind; never personal data)."""


@dataclass(frozen=True, slots=True)
class ExportStatus:
    """What /v1/health says of the export."""

    export_dir: str | None
    last_export: str | None
    """The newest week whose two files are in the folder (written, or found identical)."""
    error: ExportError | None


def file_name(week: str, suffix: str) -> str:
    """`indicators-2026-W48.csv`."""
    return f"indicators-{week}.{suffix}"


def week_files(report: IndicatorReport) -> dict[str, bytes]:
    """The two files of a week's report, by suffix: the CSV (`IndicatorReport.to_csv`) and the
    JSON (`IndicatorReport.as_json`, two-space indented, keys in their order, a final newline),
    UTF-8."""
    text = json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"
    return {"csv": report.to_csv().encode("utf-8"), "json": text.encode("utf-8")}


def export_query(week: str) -> IndicatorQuery:
    """The query of a week's files: grouped by `EXPORT_GROUP_BY`, test rows left out."""
    return IndicatorQuery.week(week, EXPORT_GROUP_BY)


def write_once(path: Path, data: bytes) -> Outcome:
    """Write `data` at `path` atomically unless a file is there: `written`, `present` (the same
    bytes already there) or `conflict` (other bytes there: left as they are). Raises `OSError`;
    no partial file is ever left under `path`."""
    if path.exists():
        return "present" if _same(path, data) else "conflict"
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            link_no_replace(temporary, path)
        except FileExistsError:  # another agent sharing the folder wrote it meanwhile
            return "present" if _same(path, data) else "conflict"
        sync_folder(path.parent)
        return "written"
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _same(path: Path, data: bytes) -> bool:
    return path.read_bytes() == data


def read_for(scans: ScanService) -> Callable[[IndicatorQuery], IndicatorReport]:
    """How the agent reads a week to export: its scans service's report (the database, every
    workstation), once none of this agent's indicators of that period waits to be written
    (`ExportNotReady` meanwhile)."""

    def read(query: IndicatorQuery) -> IndicatorReport:
        writer = scans.writer
        if writer is not None and any(query.keeps(i.row()) for i in writer.pending_indicators()):
            raise ExportNotReady("indicators of the week wait to be written to the database")
        return scans.indicators(query)

    return read


class WeeklyExport:
    """Writes the previous ISO week's files at start when missing, then whenever a new week has
    begun (checked every `interval_s`, in its own thread). `today` gives the hospital's today."""

    def __init__(
        self,
        folder: Path,
        read: Callable[[IndicatorQuery], IndicatorReport],
        today: Callable[[], date],
        *,
        interval_s: float = 300,
    ) -> None:
        self.folder = folder
        self.read = read
        self.today = today
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last_export: str | None = None
        self._error: ExportError | None = None
        self._settled: str | None = None
        """The newest week done with: exported, or left in conflict (not tried again)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life ---
    def start(self) -> None:
        """Check at once (in the background), then every `interval_s`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="indicator-export", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.interval_s)

    # --- work ---
    def check(self) -> None:
        """Export the week before today's, unless done with already. Never raises."""
        week = previous_week(self.today())
        with self._lock:
            if self._settled == week:
                return
        try:
            self.export_week(week)
        except Exception as exc:  # the thread survives anything; shown in health
            log.error("indicators: the export of %s failed: %s", week, type(exc).__name__)
            self._fail(week, "export_failed", "unexpected failure; see the agent's log")

    def export_week(self, week: str) -> Outcome | None:
        """Write `week`'s two files where missing: `written` (one at least written), `present`
        (both there, identical), `conflict` (one differs: left as it is), None when it failed
        (`export_failed`, tried again at the next check)."""
        paths = {suffix: self.folder / file_name(week, suffix) for suffix in SUFFIXES}
        if all(p.exists() for p in paths.values()):
            self._done(week, "present")
            return "present"
        from scanner_agent.storage import StorageError  # noqa: PLC0415

        try:
            report = self.read(export_query(week))
        except ExportNotReady as exc:
            self._fail(week, "export_failed", str(exc))
            return None
        except StorageError as exc:
            self._fail(week, "export_failed", f"the database cannot be read ({exc.code})")
            return None
        outcomes: dict[str, Outcome] = {}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for suffix, data in week_files(report).items():
                outcomes[suffix] = write_once(paths[suffix], data)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self._fail(week, "export_failed", f"cannot write in {self.folder}: {reason}")
            return None
        conflicts = [paths[s].name for s, o in outcomes.items() if o == "conflict"]
        if conflicts:
            message = (
                f"{', '.join(conflicts)} already in {self.folder} with another content: left "
                "as it is (another agent with other data, or a file edited by hand)"
            )
            log.error("indicators: %s", message)
            with self._lock:
                self._error = ExportError("export_conflict", message)
                self._settled = week
            return "conflict"
        outcome: Outcome = "written" if "written" in outcomes.values() else "present"
        if outcome == "written":
            log.info("indicators: %s written in %s", week, self.folder)
        self._done(week, outcome)
        return outcome

    def _done(self, week: str, outcome: Outcome) -> None:
        with self._lock:
            if self._last_export is None or week > self._last_export:
                self._last_export = week
            self._settled = week
            self._error = None

    def _fail(self, week: str, code: ExportErrorCode, message: str) -> None:
        log.warning("indicators: export of %s failed (%s): %s", week, code, message)
        with self._lock:
            self._error = ExportError(code, f"{week}: {message}")

    def status(self) -> ExportStatus:
        with self._lock:
            return ExportStatus(str(self.folder), self._last_export, self._error)


__all__ = [
    "ExportError",
    "ExportNotReady",
    "ExportStatus",
    "WeeklyExport",
    "export_query",
    "file_name",
    "read_for",
    "week_files",
    "write_once",
]

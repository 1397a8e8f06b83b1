"""The watched folder (`[inputs] watch_dir`): a multifunction printer's scan-to-folder share, or
where attestations received by e-mail are saved. Each new file is decoded once complete, its
codes go through the pipeline as an upload's (source `upload`), and the file is moved to
`done/` or `failed/` inside the folder, never deleted and never read twice.

    inbox = Inbox.of(settings, agent.take_upload)   # the agent does this when watch_dir is set
    inbox.start()           # a thread lists the folder every `poll_s`
    inbox.check()           # one look now (what the thread does; tests call it directly)
    inbox.status()          # InboxStatus: watch_dir, pending, done, failed, error (/v1/health)
    inbox.stop()

The folder, as the agent keeps it:

    watch_dir/            new files, dropped here (only the files directly in it are read)
      processing/         a file being decoded (moved here first, by an atomic rename)
      done/               files whose codes include at least one well-formed attestation
      failed/             files that need a human, each with `<name>.json` beside it

Which files: regular files directly in `watch_dir`; not sub-folders, symbolic links, hidden or
temporary names (a leading `.` or `~`, as `~$x.docx`; the suffixes of `TEMPORARY_SUFFIXES`,
as `.part`, `.tmp`, `.crdownload`), nor Windows' and macOS' own files (`Thumbs.db`,
`desktop.ini`, `.DS_Store`). Any other file is read, whatever its extension: a text file ends
in `failed/` with `not_an_image`.

Complete: a file is read once its size and time of change have not moved for `settle_s` (seen
by two listings at least; an empty file waits `EMPTY_SETTLE_S` at least, since a copy may create
the file before it writes). A slow copy over SMB changes both at every block: it is not read
early. The folder is listed every `poll_s` (polling, not inotify: inotify does not see files
that other machines write on a CIFS or NFS mount, which is what a printer's scan-to-folder share
is; and polling needs no extra dependency and is the same code on Linux and Windows).

Done or failed (what a clerk must look at is in `failed/`):

    done     at least one code of the file is a well-formed attestation, and every page was read
             (its decision, even `not_covered`, is the desk's business, not the file's)
    failed   the file could not be read (the stable codes of `decoders.documents`:
             `not_an_image`, `corrupt_image`, `corrupt_pdf`, `encrypted_pdf`, `empty_file`...);
             `no_code` (no code at all); `code_unreadable` (no code read, but a place looks like
             one: scan it again, better); `no_attestation` (codes read, none a well-formed
             attestation: a QR code, a GS1 code, a damaged payload; their scans are recorded,
             refused); or a page after the first codes could not be read (the file's error code;
             the codes read before it are recorded)

`failed/<name>.json` holds `file`, `error` (`code`, `message`), `codes` (codes read),
`attestations` (well-formed ones), `unreadable`, `scan_ids`, `processed_at` and `ms`: never a
payload nor a member number. A name already in `done/` or `failed/` gets a suffix (`scan (2).pdf`):
a file is never overwritten.

Never read twice, even across a crash: a complete file is first renamed into `processing/`
(atomic, in the same folder tree; on Windows a file another program still holds open cannot be
renamed: it is reported as `move_failed` and tried again later; a rename cut between its link
and its unlink leaves two names of one file, and the one outside `processing/` is dropped).
Once its scans are recorded,
the ledger (`<data_dir>/inbox-ledger.json`, replaced atomically) holds its name in
`processing/`, its SHA-256, its outcome and where it goes; then the `.json` is written, the file
moved, and the ledger entry removed. At start (and at every look), a file in `processing/` whose
ledger entry matches its content is moved without being recorded again; one without an entry
(the agent stopped while decoding it) is decoded and recorded. The one window left is between
the scans' recording and the ledger's write (a few milliseconds).
One agent per folder.

Problems are shown, not retried in a tight loop: a folder missing, unreadable or not writable
(`watch_dir_missing`, `watch_dir_unreadable`, `watch_dir_not_writable`) is looked at again at
every listing and logged once; a file that cannot be moved (`move_failed`: permissions, the share
gone) or whose scans cannot be recorded (`record_failed`: the storage's journal refused them) is
tried again after `RETRY_S` (its name in the log, not in health: /v1/health is open and a file's
name may be a patient's); a file taken away by hand takes its problem with it; a ledger that
cannot be written: `ledger_failed`. The agent runs on whatever happens here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from decoders.base import DecodeOptions
from scanner_agent.file_decoding import decode_options, for_documents
from scanner_agent.safe_files import move_no_replace, same_file, sync_folder

if TYPE_CHECKING:
    from scanner_agent.config import Settings
    from scanner_agent.file_decoding import SymbolsRead
    from scanner_agent.scan import Scan

log = logging.getLogger(__name__)

PROCESSING, DONE, FAILED = "processing", "done", "failed"
SUBFOLDERS = (PROCESSING, DONE, FAILED)
TEMPORARY_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".download",
    ".filepart",
    ".swp",
)
"""Names of files still being written by browsers, mail clients, copy tools: never read."""
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
EMPTY_SETTLE_S = 60.0
"""The least an empty file waits before it is read (and fails as `empty_file`)."""
RETRY_S = 60.0
"""A file that could not be moved is tried again after this."""
LEDGER_NAME = "inbox-ledger.json"

InboxErrorCode = Literal[
    "watch_dir_missing",
    "watch_dir_unreadable",
    "watch_dir_not_writable",
    "move_failed",
    "record_failed",
    "ledger_failed",
]


class TakeUpload(Protocol):
    """How the inbox records a file's symbols: `Agent.take_upload`."""

    def __call__(
        self,
        symbols: Iterable[tuple[bytes, str | None]],
        *,
        decode_ms: float | None = None,
        unreadable: int = 0,
    ) -> list[Scan]: ...


@dataclass(frozen=True, slots=True)
class InboxError:
    code: InboxErrorCode
    message: str
    """A sentence naming the folder or the file (never personal data)."""


@dataclass(frozen=True, slots=True)
class InboxStatus:
    """What /v1/health says of the watched folder."""

    watch_dir: str | None
    pending: int = 0
    """Files waiting in the folder (not complete yet, or not moved yet) and in `processing/`."""
    done: int = 0
    """Files moved to `done/` since the agent started."""
    failed: int = 0
    """Files moved to `failed/` since the agent started."""
    error: InboxError | None = None

    def as_json(self) -> dict[str, Any]:
        error = self.error
        return {
            "watch_dir": self.watch_dir,
            "pending": self.pending,
            "done": self.done,
            "failed": self.failed,
            "error": None if error is None else {"code": error.code, "message": error.message},
        }


def is_candidate(name: str) -> bool:
    """Whether a file of this name in the folder is to be read (see the module's docstring)."""
    lower = name.lower()
    return not (
        lower.startswith((".", "~"))
        or lower.endswith(TEMPORARY_SUFFIXES)
        or lower.endswith("~")
        or lower in IGNORED_NAMES
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one file: the folder it goes to and, when failed, its report."""

    failed: bool
    report: dict[str, Any]

    @property
    def folder(self) -> str:
        return FAILED if self.failed else DONE


def judge(name: str, read: SymbolsRead, scans: Sequence[Scan]) -> Outcome:
    """The file's outcome from what was read and recorded (the rules of the module's docstring)."""
    attestations = sum(1 for s in scans if s.attestation.status == "valid")
    code: str | None = None
    message = ""
    if read.error is not None:
        code, message = read.error.code, read.error.message
        if scans:
            message += f" ({len(scans)} code(s) read before it were recorded)"
    elif not scans and read.unreadable:
        code = "code_unreadable"
        message = (
            f"{name}: {len(read.unreadable)} place(s) look like a code that could not be read: "
            "scan it again, better (sharper, more light)"
        )
    elif not scans:
        code, message = "no_code", f"{name}: no code found on any page"
    elif attestations == 0:
        code = "no_attestation"
        message = f"{name}: {len(scans)} code(s) read, none is a well-formed attestation"
    report = {
        "file": name,
        "error": None if code is None else {"code": code, "message": message},
        "codes": len(scans),
        "attestations": attestations,
        "unreadable": len(read.unreadable),
        "scan_ids": [s.id for s in scans],
        "processed_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "ms": read.ms,
    }
    return Outcome(code is not None, report)


class Ledger:
    """The files of `processing/` whose scans were recorded: `{name: entry}` in one JSON file,
    replaced atomically at each change (a temporary beside it, flushed, renamed over it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # kept aside, not lost: a human may look at it
            log.error("inbox: the ledger %s cannot be read (%s): set aside", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.replace(self.path.with_suffix(".unreadable"))
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, name: str) -> dict[str, Any] | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return list(self._entries)

    def put(self, name: str, entry: dict[str, Any]) -> None:
        """Raises OSError (the entry is kept in memory all the same)."""
        self._entries[name] = entry
        self._save()

    def remove(self, name: str) -> None:
        if self._entries.pop(name, None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(self._entries, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        sync_folder(self.path.parent)


def free_name(folder: Path, name: str, with_report: bool) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... the first free in `folder` (its `.json`
    free too when `with_report`)."""
    stem, suffix = os.path.splitext(name)
    number = 1
    candidate = name
    while (folder / candidate).exists() or (
        with_report and (folder / f"{candidate}.json").exists()
    ):
        number += 1
        candidate = f"{stem} ({number}){suffix}"
    return candidate


def _write_report(path: Path, report: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(temporary, path)


@dataclass(slots=True)
class _Seen:
    size: int
    mtime_ns: int
    since: float
    """When this size and time of change were first seen (the inbox's clock)."""


@dataclass(slots=True)
class _State:
    seen: dict[str, _Seen] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    """Files (by their path) not to be tried again before this time."""
    file_errors: dict[str, InboxError] = field(default_factory=dict)
    folder_error: InboxError | None = None
    ledger_error: InboxError | None = None
    pending: int = 0
    done: int = 0
    failed: int = 0


class Inbox:
    """Watches `folder`; records each complete file's symbols through `take`."""

    def __init__(
        self,
        folder: Path,
        ledger: Path,
        take: TakeUpload,
        options: DecodeOptions | None = None,
        *,
        settle_s: float = 2.0,
        poll_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.ledger_path = ledger
        self._take = take
        self.options = for_documents(options or DecodeOptions())
        self.settle_s = settle_s
        self.poll_s = poll_s
        self._clock = clock
        self._ledger: Ledger | None = None
        self._lock = threading.Lock()  # one look at a time
        self._state = _State()
        """Changed by the looking thread only; `status()` reads its published copy."""
        self._status = InboxStatus(str(folder))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, settings: Settings, take: TakeUpload) -> Inbox:
        """The inbox of `[inputs]` (watch_dir must be set), its ledger in the data folder."""
        inputs = settings.inputs
        return cls(
            settings.path(inputs.watch_dir),
            settings.data_dir / LEDGER_NAME,
            take,
            decode_options(settings),
            settle_s=inputs.settle_s,
            poll_s=inputs.poll_s,
        )

    # --- life ---
    def start(self) -> None:
        """Look at once (in the background), then every `poll_s`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the file being decoded (if any): it stays in `processing/`, unrecorded
        or in the ledger, and is finished at the next start."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the thread survives anything; the next look tries again
                log.exception("inbox: unexpected failure while looking at %s", self.folder)
            self._stop.wait(self.poll_s)

    def status(self) -> InboxStatus:
        """The latest state (published by the looking thread: never waits for a decode)."""
        return self._status

    def _publish(self) -> None:
        state = self._state
        error = state.folder_error or state.ledger_error
        if error is None and state.file_errors:
            error = next(reversed(state.file_errors.values()))  # the latest
        self._status = InboxStatus(str(self.folder), state.pending, state.done, state.failed, error)

    # --- one look ---
    def check(self) -> None:
        """List the folder once: finish what `processing/` holds, then read each complete new
        file, one by one (stops between two files once `stop()` was called)."""
        with self._lock:
            try:
                names = self._list()
                processing = self._in_processing()
            except _FolderProblem as problem:
                self._folder_problem(problem.error)
                return
            self._folder_problem(None)
            if self._ledger is None:
                self._ledger = Ledger(self.ledger_path)
            names = self._drop_twins(names, processing)
            self._forget_gone(names, processing)
            ready = self._ready(names)
            self._state.pending = len(processing) + len(names)
            self._publish()
            for path in self._leftovers(processing):
                self._finish_moved(path)
            for path in processing + [self.folder / n for n in ready]:
                if self._stop.is_set():
                    return
                if self._waiting(path):
                    continue
                claimed = self._claim(path) if path.parent == self.folder else path
                if claimed is None:
                    continue
                self._process(claimed)
                self._state.pending = max(0, self._state.pending - 1)
                self._publish()

    def _list(self) -> list[str]:
        if not self.folder.is_dir():
            raise _FolderProblem(
                "watch_dir_missing", f"{self.folder}: no such folder (or not a folder)"
            )
        try:
            with os.scandir(self.folder) as entries:
                names = sorted(
                    e.name
                    for e in entries
                    if e.is_file(follow_symlinks=False) and is_candidate(e.name)
                )
        except OSError as exc:
            raise _FolderProblem(
                "watch_dir_unreadable", f"{self.folder}: cannot be listed ({_reason(exc)})"
            ) from None
        try:
            for sub in SUBFOLDERS:
                (self.folder / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise _FolderProblem(
                "watch_dir_not_writable",
                f"{self.folder}: cannot create {sub}/ in it ({_reason(exc)})",
            ) from None
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise _FolderProblem(
                "watch_dir_not_writable",
                f"{self.folder}: this user may not move files out of it (no write permission)",
            )
        return names

    def _folder_problem(self, error: InboxError | None) -> None:
        previous = self._state.folder_error
        if error != previous:  # logged once, when it starts, changes or ends
            if error is not None:
                log.error("inbox: %s (%s)", error.message, error.code)
            elif previous is not None:
                log.info("inbox: %s is usable again", self.folder)
        self._state.folder_error = error
        self._publish()

    def _in_processing(self) -> list[Path]:
        folder = self.folder / PROCESSING
        try:
            with os.scandir(folder) as entries:
                return sorted(
                    folder / e.name
                    for e in entries
                    if e.is_file(follow_symlinks=False) and not e.name.startswith(".")
                )
        except OSError as exc:  # never taken for empty: the ledger's entries would be dropped
            raise _FolderProblem(
                "watch_dir_unreadable", f"{folder}: cannot be listed ({_reason(exc)})"
            ) from None

    def _drop_twins(self, names: list[str], processing: list[Path]) -> list[str]:
        """The names of `watch_dir` but those that are another name of a file in `processing/`
        (a crash between the link and the unlink of a claim): that name is removed, so the
        file is read once."""
        if not processing:
            return names
        kept = []
        for name in names:
            path = self.folder / name
            if any(same_file(path, other) for other in processing):
                with contextlib.suppress(OSError):  # if it stays, it is still never claimed
                    path.unlink()
                    log.info("inbox: %s was already in %s/", name, PROCESSING)
                continue
            kept.append(name)
        return kept

    def _forget_gone(self, names: list[str], processing: list[Path]) -> None:
        """Drop what was noted of files no longer there (taken away by hand): their problem is
        no longer the folder's."""
        present = {str(p) for p in processing} | {str(self.folder / n) for n in names}
        for noted in (self._state.file_errors, self._state.retry_at):
            for key in set(noted) - present:
                del noted[key]
        for gone in set(self._state.seen) - set(names):
            del self._state.seen[gone]

    def _leftovers(self, processing: list[Path]) -> list[Path]:
        """Ledger entries whose file left `processing/` (moved just before a crash)."""
        assert self._ledger is not None
        present = {p.name for p in processing}
        return [self.folder / PROCESSING / n for n in self._ledger.names() if n not in present]

    def _ready(self, names: list[str]) -> list[str]:
        """The files whose size and time of change held for `settle_s` (updates what was
        seen)."""
        now = self._clock()
        seen = self._state.seen
        ready = []
        for name in names:
            try:
                stat = (self.folder / name).stat()
            except OSError:
                continue
            before = seen.get(name)
            if before is None or (before.size, before.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                seen[name] = _Seen(stat.st_size, stat.st_mtime_ns, now)
                continue  # new or changed: wait
            settle = self.settle_s if stat.st_size else max(self.settle_s, EMPTY_SETTLE_S)
            if now - before.since >= settle:
                ready.append(name)
        return ready

    def _waiting(self, path: Path) -> bool:
        until = self._state.retry_at.get(str(path))
        return until is not None and self._clock() < until

    def _blocked(
        self, path: Path, what: str, exc: Exception, code: InboxErrorCode = "move_failed"
    ) -> None:
        """`path` could not be moved, read (`move_failed`) or recorded (`record_failed`):
        logged with its name once, shown in health without it (health is open: a file's name
        may be a patient's), tried after RETRY_S."""
        key = str(path)
        if key not in self._state.file_errors:
            log.error("inbox: %s %s (%s); tried again in %g s", path.name, what, _reason(exc),
                      RETRY_S)  # fmt: skip
        message = (
            f"a file {what} ({_reason(exc)}); tried again every {RETRY_S:g} s (its name is in "
            "the agent's log)"
        )
        self._state.file_errors[key] = InboxError(code, message)
        self._state.retry_at[key] = self._clock() + RETRY_S
        self._publish()

    def _unblocked(self, path: Path) -> None:
        self._state.file_errors.pop(str(path), None)
        self._state.retry_at.pop(str(path), None)

    def _claim(self, path: Path) -> Path | None:
        """The file renamed into `processing/` (None: gone, or cannot be moved now)."""
        folder = self.folder / PROCESSING
        while True:
            target = folder / free_name(folder, path.name, with_report=False)
            try:
                move_no_replace(path, target)
            except FileExistsError:
                continue  # taken meanwhile: the next free name
            except FileNotFoundError:
                self._state.seen.pop(path.name, None)
                return None
            except OSError as exc:
                self._blocked(path, f"cannot be moved to {PROCESSING}/", exc)
                return None
            self._state.seen.pop(path.name, None)
            self._unblocked(path)
            return target

    def _process(self, path: Path) -> None:
        """Decode and record a file of `processing/` (unless the ledger says it was), then move
        it where it goes."""
        # the decoders (Pillow, pdfium...) load with the first file, not with the agent
        from decoders.documents import MAX_FILE_BYTES  # noqa: PLC0415
        from scanner_agent.file_decoding import FileError, SymbolsRead, read_upload  # noqa: PLC0415

        assert self._ledger is not None
        name = path.name
        try:
            size = path.stat().st_size
            data = b"" if size > MAX_FILE_BYTES else path.read_bytes()
        except FileNotFoundError:
            self._forget(name)
            return
        except OSError as exc:
            self._blocked(path, "cannot be read", exc)
            return
        digest = hashlib.sha256(data).hexdigest() if size <= MAX_FILE_BYTES else f"size:{size}"
        entry = self._ledger.get(name)
        if entry is None or entry.get("sha256") != digest:
            if size > MAX_FILE_BYTES:
                message = f"{name}: {size} bytes, more than {MAX_FILE_BYTES} is not read"
                read = SymbolsRead(name, [], FileError(code="file_too_large", message=message), 0)
            else:
                read = read_upload(data, name, self.options)
            symbols = [(s.data, s.symbology) for s in read.symbols]
            try:
                scans = self._take(
                    symbols, decode_ms=read.ms if symbols else None, unreadable=len(read.unreadable)
                )
            except RuntimeError as exc:  # NotRunning: the agent stops; read at the next start
                log.warning("inbox: %s left in %s/ (%s)", name, PROCESSING, type(exc).__name__)
                return
            except Exception as exc:  # a journal on a full disk...: tried again after RETRY_S
                self._blocked(path, "cannot be recorded", exc, "record_failed")
                return
            outcome = judge(name, read, scans)
            entry = {"sha256": digest, "failed": outcome.failed, "report": outcome.report}
            self._remember(name, entry)
        self._move_out(path, entry)

    def _remember(self, name: str, entry: dict[str, Any]) -> None:
        assert self._ledger is not None
        try:
            self._ledger.put(name, entry)
        except OSError as exc:
            self._state.ledger_error = InboxError(
                "ledger_failed",
                f"{self.ledger_path}: cannot be written ({_reason(exc)}); a file left in "
                f"{PROCESSING}/ by a crash would be read again",
            )
            log.error("inbox: %s", self._state.ledger_error.message)
        else:
            self._state.ledger_error = None

    def _move_out(self, path: Path, entry: dict[str, Any]) -> None:
        """Move a recorded file of `processing/` to `done/` or `failed/` (with its report)."""
        failed = bool(entry["failed"])
        folder = self.folder / (FAILED if failed else DONE)
        target_name = entry.get("target")
        target = folder / target_name if target_name else None
        if target is not None and target.exists():
            if same_file(path, target):  # linked, not unlinked: a crash between
                with contextlib.suppress(OSError):
                    path.unlink()
                    self._finished(path, entry, target)
                    return
            target = None  # someone else's file took the name: another one
        try:
            if target is None:
                target = folder / free_name(folder, path.name, with_report=failed)
                entry = {**entry, "target": target.name}
                self._remember(path.name, entry)
            if failed:
                _write_report(folder / f"{target.name}.json", entry["report"])
            move_no_replace(path, target)
        except FileExistsError:
            self._state.retry_at[str(path)] = self._clock()  # a race for the name: next look
            return
        except OSError as exc:
            self._blocked(path, f"cannot be moved to {FAILED if failed else DONE}/", exc)
            return
        self._finished(path, entry, target)

    def _finish_moved(self, path: Path) -> None:
        """A ledger entry whose file is no longer in `processing/`: moved before a crash (its
        report written if missing) or gone; the entry is dropped either way."""
        assert self._ledger is not None
        entry = self._ledger.get(path.name) or {}
        target_name = entry.get("target")
        if target_name and entry.get("failed"):
            report = self.folder / FAILED / f"{target_name}.json"
            if (self.folder / FAILED / target_name).exists() and not report.exists():
                with contextlib.suppress(OSError):
                    _write_report(report, entry["report"])
        self._forget(path.name)

    def _forget(self, name: str) -> None:
        """Drop the ledger's entry of `name` (a ledger that cannot be written says so)."""
        assert self._ledger is not None
        try:
            self._ledger.remove(name)
        except OSError as exc:
            log.error("inbox: %s: cannot be written (%s)", self.ledger_path, _reason(exc))

    def _finished(self, path: Path, entry: dict[str, Any], target: Path) -> None:
        assert self._ledger is not None
        self._unblocked(path)
        try:
            self._ledger.remove(path.name)
        except OSError as exc:
            log.error("inbox: the ledger cannot be written (%s)", _reason(exc))
        report = entry["report"]
        failed = bool(entry["failed"])
        if failed:
            self._state.failed += 1
        else:
            self._state.done += 1
        error = report.get("error")
        log.info(
            "inbox: %s -> %s/%s: %d code(s), %d attestation(s), %d unreadable%s",
            report.get("file", path.name),
            target.parent.name,
            target.name,
            report.get("codes", 0),
            report.get("attestations", 0),
            report.get("unreadable", 0),
            f" ({error['code']})" if error else "",
        )


class _FolderProblem(Exception):
    def __init__(self, code: InboxErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = InboxError(code, message)


def _reason(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__


__all__ = [
    "EMPTY_SETTLE_S",
    "RETRY_S",
    "TEMPORARY_SUFFIXES",
    "Inbox",
    "InboxError",
    "InboxStatus",
    "Ledger",
    "Outcome",
    "free_name",
    "is_candidate",
    "judge",
    "move_no_replace",
]

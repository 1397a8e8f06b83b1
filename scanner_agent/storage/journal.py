"""The scans journal: every scan recorded but not yet committed to the database, on disk.

    journal = Journal.open(path, key)    # created 0600; the member numbers encrypted
    journal.append(Stored(boot, seq, scan, indicator))   # before the scan is published: durable
    journal.append_indicator(indicator)  # an indicator that belongs to no waiting scan
    contents = journal.read()            # what a killed run recorded and did not write:
    contents.scans, contents.indicators  #   the scans (with their indicators), the others
    journal.rewrite(backlog, indicators) # after an erasure: the erased scan is gone from disk
    journal.clear()                      # the backlog is empty: everything is in the database

The scans service publishes a scan only once it is in the journal (the writer's `put` appends
it), so a scan that any client received survives `kill -9` and a database that is down: at
start, the writer takes the journal's scans back into its backlog and writes them. The file is
emptied each time the backlog is, so it holds at most what the database has not taken yet.

One line per scan, JSON: `{"boot", "seq", "member", "scan", "indicator"}` where `scan` is the
scan's public JSON without its member number (`public_json_of`), `member` the member number sealed
with AES-GCM under the storage key (`storage.key_file`), whatever `storage.member_number` says
(the journal must give the number back to write the row as configured, and must never hold it in
clear), and `indicator` the scan's indicator (`Indicator.as_json()`; absent in the lines of
versions before issue 15, and when the scan has none). An indicator that belongs to no waiting
scan (a code seen but not read, an attestation typed and not kept, the indicator of a scan erased
before it was written) is a line of its own, `{"indicator": {...}}`: non-personal, in clear. A
torn last line (the process killed while writing it) is skipped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scanner_agent.indicators import Indicator
from scanner_agent.scan import Scan
from scanner_agent.storage.member_protection import (
    AES_GCM,
    MemberProtector,
    tighten_mode,
)
from scanner_agent.storage.sql_store import Stored, public_json_of, splice_member

log = logging.getLogger(__name__)


@dataclass(slots=True)
class JournalContents:
    """What a journal holds: its scans (each with its indicator, when it had one) and the
    indicators of their own lines, each in the order it was recorded."""

    scans: list[Stored] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.scans or self.indicators)


class Journal:
    """An append-only file of `Stored` scans. Not thread-safe: its owner (the writer) holds its
    lock around every call."""

    def __init__(self, path: Path, key: bytes, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        """Sync each appended line to the disk (survives a power cut, not only a killed
        process), at the cost of a disk flush per scan."""
        self._protector = MemberProtector("encrypted", key)
        self._file: IO[bytes] | None = None
        self.appended = 0

    @classmethod
    def open(cls, path: Path, key: bytes, *, fsync: bool = True) -> Journal:
        journal = cls(path, key, fsync=fsync)
        journal._reopen()
        return journal

    def _reopen(self) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        tighten_mode(self.path)
        self._file = os.fdopen(fd, "ab", buffering=0)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- writing ---
    def append(self, item: Stored) -> None:
        """Write `item` (raises `OSError` when the disk refuses)."""
        self._write(self._line(item))

    def append_indicator(self, indicator: Indicator) -> None:
        """Write an indicator of its own (raises `OSError` when the disk refuses)."""
        self._write(_indicator_line(indicator))

    def _write(self, line: bytes) -> None:
        if self._file is None:
            self._reopen()
        assert self._file is not None
        self._file.write(line)
        if self.fsync:
            os.fsync(self._file.fileno())
        self.appended += 1

    def rewrite(self, items: Iterable[Stored], indicators: Iterable[Indicator] = ()) -> None:
        """Replace the journal by `items` and `indicators` (what is still not written after an
        erasure): the erased scans' lines are gone from the file."""
        temporary = self.path.with_name(self.path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            for item in items:
                out.write(self._line(item))
            for indicator in indicators:
                out.write(_indicator_line(indicator))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self._reopen()

    def clear(self) -> None:
        """Empty the journal: everything it held is in the database."""
        if self._file is None:
            self._reopen()
        assert self._file is not None
        os.ftruncate(self._file.fileno(), 0)

    def _line(self, item: Stored) -> bytes:
        scan = item.scan
        member, _ = self._protector.protect(scan.attestation.member_number, scan.id)
        entry: dict[str, Any] = {
            "boot": item.boot,
            "seq": item.seq,
            "member": member,
            "scan": public_json_of(scan),
        }
        if item.indicator is not None:
            entry["indicator"] = item.indicator.as_json()
        return _encode(entry)

    # --- reading ---
    def read(self) -> JournalContents:
        """The scans and the indicators in the journal, in the order they were recorded (a
        line that cannot be read, such as one torn by a kill, is skipped and counted in the
        log)."""
        contents = JournalContents()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return contents
        bad = 0
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                raw = entry.get("indicator")
                indicator = None if raw is None else Indicator.from_row(raw)
                if "scan" not in entry:
                    if indicator is None:
                        raise KeyError("scan")
                    contents.indicators.append(indicator)
                    continue
                text = entry["scan"]
                scan_id = json.loads(text)["id"]
                number = self._protector.reveal(entry["member"], AES_GCM, scan_id)
                scan = Scan.model_validate_json(splice_member(text, number))
                stored = Stored(int(entry["boot"]), int(entry["seq"]), scan, indicator)
                contents.scans.append(stored)
            except (ValueError, KeyError, TypeError, AttributeError):
                bad += 1
        if bad:
            log.warning(
                "journal %s: %d line(s) could not be read (torn by a kill?)", self.path, bad
            )
        return contents


def _indicator_line(indicator: Indicator) -> bytes:
    return _encode({"indicator": indicator.as_json()})


def _encode(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


__all__ = ["Journal", "JournalContents"]

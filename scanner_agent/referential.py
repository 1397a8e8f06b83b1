"""The local AMC referential: which insurers are known, and whether they are connected to ROC.

A CSV file with the columns `amc_number,name,roc,updated` (lines starting with `#` are
comments). `roc` is yes/no (oui/non, true/false and 1/0 are accepted too). A hospital replaces
the shipped illustrative file with its own extract. An AMC number matches with or without its
leading zeros: `0434243085` and `434243085` are the same insurer.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scanner_agent.attestation import Roc, RocReason
from scanner_agent.errors import ConfigError

_YES = {"yes", "oui", "true", "1", "y", "o"}
_NO = {"no", "non", "false", "0", "n"}
_COLUMNS = ("amc_number", "name", "roc", "updated")


@dataclass(frozen=True, slots=True)
class AmcEntry:
    amc_number: str
    name: str
    roc: bool
    updated: date | None


def amc_key(amc_number: str) -> str:
    """The matching key of an AMC number: its digits without leading zeros."""
    return amc_number.lstrip("0") or "0"


class Referential:
    """AMC entries by number. Build it with `Referential.load(path)` or from entries."""

    __slots__ = ("_answers", "_entries", "source", "updated")

    def __init__(self, entries: list[AmcEntry] | None = None, source: str = "") -> None:
        self._entries = {amc_key(e.amc_number): e for e in entries or []}
        self.source = source
        self._answers: dict[tuple[str, str], Roc] = {}
        dates = [e.updated for e in self._entries.values() if e.updated is not None]
        self.updated: date | None = max(dates) if dates else None
        """The newest `updated` of its lines: how current the file is (None: not said)."""

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, amc_number: str) -> AmcEntry | None:
        return self._entries.get(amc_key(amc_number))

    def lookup(self, amc_number: str | None, at: date | None = None, domain: str = "MCO") -> Roc:
        """The ROC status of an AMC at `at` for the activity `domain`."""
        key = (amc_key(amc_number) if amc_number else "", domain)
        answer = self._answers.get(key)
        if answer is None:
            entry = self._entries.get(key[0])
            if entry is None:
                answer = Roc(status="unknown", domain=domain)
            elif entry.roc:
                answer = Roc(status="roc", name=entry.name, domain=domain)
            else:
                answer = Roc(
                    status="hors_roc",
                    reason=RocReason.NOT_CONNECTED,
                    name=entry.name,
                    domain=domain,
                )
            if len(self._answers) < 65_536:  # results are frozen: each is built once
                self._answers[key] = answer
        return answer

    def is_stale(self, today: date, max_age_days: int) -> bool:
        """Whether the file's `updated` date is more than `max_age_days` before `today` (never
        when no line says when it was updated)."""
        return self.updated is not None and (today - self.updated).days > max_age_days

    @classmethod
    def load(cls, path: Path) -> Referential:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConfigError(f"AMC referential not found: {path} (parser.referential)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"AMC referential {path} cannot be read: {exc}") from exc
        return cls(parse_referential(text, str(path)), source=str(path))


def parse_referential(text: str, source: str = "<referential>") -> list[AmcEntry]:
    """Parse the CSV text of a referential; a bad line raises `ConfigError` naming it."""
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return []
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    rows = list(reader)
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in _COLUMNS[:3] if c not in header]
    if missing:
        raise ConfigError(f"{source}: the header must name the columns {', '.join(_COLUMNS)}")
    index = {name: header.index(name) for name in _COLUMNS if name in header}
    entries: list[AmcEntry] = []
    for (line_no, _), row in zip(lines[1:], rows[1:], strict=True):

        def cell(name: str, row: list[str] = row) -> str:
            i = index.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        number, roc = cell("amc_number"), cell("roc").lower()
        if not number.isdigit() or not 1 <= len(number) <= 10:
            raise ConfigError(f"{source}, line {line_no}: amc_number {number!r} is not 1-10 digits")
        if roc not in _YES | _NO:
            raise ConfigError(f"{source}, line {line_no}: roc must be yes or no, not {roc!r}")
        updated_text = cell("updated")
        try:
            updated = date.fromisoformat(updated_text) if updated_text else None
        except ValueError:
            raise ConfigError(
                f"{source}, line {line_no}: updated {updated_text!r} is not a date (YYYY-MM-DD)"
            ) from None
        entries.append(AmcEntry(number, cell("name"), roc in _YES, updated))
    return entries

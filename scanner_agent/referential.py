"""The local AMC referential: which insurers are known, and whether each is connected to ROC at a
date and for an activity domain (the national guide's question: "an AMC connected to ROC at that
date, for services included in ROC at that date").

    referential = Referential.load(path)                  # ConfigError naming the file and lines
    referential.lookup("0434243085", date(2026, 3, 1), "SMR")
    # Roc(status="hors_roc", reason="domain_not_in_roc", name=..., domain="SMR", gap_codes=[...])

The file is a CSV (lines starting with `#` are comments, columns in any order):

- `amc_number` (required): 1-10 digits; leading zeros do not matter (`0434243085` = `434243085`);
- `name` (required): the insurer's name;
- `roc` (required): yes/no (oui/non, true/false, 1/0): connected to ROC at this hospital;
- `updated`: YYYY-MM-DD, when the line was checked; the newest is the file's date;
- `roc_from`, `roc_to`: YYYY-MM-DD, both days included, empty = open: the line's period;
- `domains`: `;`-separated among MCO, SMR, PSY, HAD, the activities that go through ROC
  (empty = all);
- `gap_codes`: `;`-separated codes of the insurer(s) in the GAP's own referential, to
  pre-select (for the non-ROC circuit above all);
- `test`: yes for the hospital's mirror/test AMC (the values of `roc`; empty = no).

Files with only the first four columns load as before.

How `lookup(amc, at, domain)` answers, from the line whose period [roc_from, roc_to] contains
`at`:

- `roc=no`: `hors_roc`, reason `not_connected`;
- `roc=yes` and `domain` not in `domains`: `hors_roc`, reason `domain_not_in_roc`;
- `roc=yes` otherwise: `roc`.

When no line's period contains `at` (a single `roc=yes` line with dates, or a gap in a history):

- before the first line: `not_yet_connected` when that line is `roc=yes`, else `not_connected`;
- after the last line: `connection_ended` when that line is `roc=yes`, else `not_connected`;
- between two lines: `connection_ended` when the line before is `roc=yes`, else
  `not_yet_connected` when the line after is `roc=yes`, else `not_connected`.

So a `roc=no` line answers `not_connected` whatever its dates. The name, `gap_codes` and `test`
come from the line that gave the reason (the line before for `connection_ended` and
`not_connected`, the line after for `not_yet_connected`), in `hors_roc` answers too: the GAP
codes are precisely for the non-ROC circuit. An AMC that is not in the file is `unknown`.

Several lines for one AMC are its history: allowed when their periods do not overlap. Lines
whose periods overlap (two open periods, the same period twice, one name in a period and another
in an overlapping one) or that disagree on `test` make the load fail with a `ConfigError` naming
the file and both lines: a referential is never merged silently.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scanner_agent.attestation import DOMAINS, Roc, RocReason
from scanner_agent.errors import ConfigError

_YES = {"yes", "oui", "true", "1", "y", "o"}
_NO = {"no", "non", "false", "0", "n"}
_REQUIRED = ("amc_number", "name", "roc")
COLUMNS = (
    "amc_number",
    "name",
    "roc",
    "updated",
    "roc_from",
    "roc_to",
    "domains",
    "gap_codes",
    "test",
)
"""Every column a referential may have, in the shipped file's order."""


@dataclass(frozen=True, slots=True)
class AmcEntry:
    """One line of the referential (`line`: its line number in the file, 0 when built)."""

    amc_number: str
    name: str
    roc: bool
    updated: date | None
    roc_from: date | None = None
    roc_to: date | None = None
    domains: tuple[str, ...] = ()
    """Empty: every domain."""
    gap_codes: tuple[str, ...] = ()
    test: bool = False
    line: int = 0

    def covers(self, at: date) -> bool:
        """Whether `at` is in the line's period."""
        return (self.roc_from is None or self.roc_from <= at) and (
            self.roc_to is None or at <= self.roc_to
        )

    def in_roc(self, domain: str) -> bool:
        """Whether the activity `domain` goes through ROC for this line (when connected)."""
        return not self.domains or domain.upper() in self.domains

    @property
    def period(self) -> str:
        """The period as written: `2026-01-01..2026-06-30`, `..` for an open end."""
        start = self.roc_from.isoformat() if self.roc_from else ""
        end = self.roc_to.isoformat() if self.roc_to else ""
        return f"{start}..{end}" if start or end else "always"


def amc_key(amc_number: str) -> str:
    """The matching key of an AMC number: its digits without leading zeros."""
    return amc_number.lstrip("0") or "0"


class Referential:
    """AMC lines by number, each AMC's history in date order. Build it with
    `Referential.load(path)` or from entries (`ConfigError` when lines overlap)."""

    __slots__ = ("_answers", "_history", "lines", "source", "updated")

    def __init__(self, entries: list[AmcEntry] | None = None, source: str = "") -> None:
        self._history = _histories(entries or [], source or "<referential>")
        self.source = source
        self._answers: dict[tuple[int, RocReason | None, str], Roc] = {}
        self.lines = sum(len(h) for h in self._history.values())
        """How many lines (an AMC with a history has several)."""
        dates = [e.updated for h in self._history.values() for e in h if e.updated is not None]
        self.updated: date | None = max(dates) if dates else None
        """The newest `updated` of its lines: how current the file is (None: not said)."""

    def __len__(self) -> int:
        """How many AMCs (not lines)."""
        return len(self._history)

    def __iter__(self) -> Iterator[list[AmcEntry]]:
        """Each AMC's lines, in date order."""
        return iter(self._history.values())

    def history(self, amc_number: str) -> list[AmcEntry]:
        """The AMC's lines in date order (empty when unknown)."""
        return list(self._history.get(amc_key(amc_number), ()))

    def get(self, amc_number: str, at: date | None = None) -> AmcEntry | None:
        """The line that answers for the AMC at `at` (see the module), or its latest line when
        `at` is None; None when the AMC is unknown."""
        lines = self._history.get(amc_key(amc_number))
        if not lines:
            return None
        if at is None:
            return lines[-1]
        return _answer(lines, at)[0]

    def lookup(self, amc_number: str | None, at: date | None = None, domain: str = "MCO") -> Roc:
        """The ROC status of an AMC at `at` (None: whatever the date, its latest line) for the
        activity `domain` (see the module)."""
        lines = self._history.get(amc_key(amc_number)) if amc_number else None
        if not lines:
            return _unknown(domain)
        if at is None:
            entry, reason = lines[-1], _reason_of(lines[-1], domain)
        else:
            entry, reason = _answer(lines, at)
            if reason is None:
                reason = _reason_of(entry, domain)
        key = (id(entry), reason, domain)  # entries live as long as the referential
        answer = self._answers.get(key)
        if answer is None:  # answers are frozen: each is built once
            answer = Roc(
                status="hors_roc" if reason else "roc",
                reason=reason,
                name=entry.name,
                domain=domain,
                gap_codes=list(entry.gap_codes),
                test=entry.test,
            )
            if len(self._answers) < 65_536:
                self._answers[key] = answer
        return answer

    def is_stale(self, today: date, max_age_days: int) -> bool:
        """Whether the file's `updated` date is more than `max_age_days` before `today` (never
        when no line says when it was updated)."""
        return self.updated is not None and (today - self.updated).days > max_age_days

    def age_days(self, today: date) -> int | None:
        """Days from the file's `updated` date to `today` (None when not said; 0 for a file
        dated after `today`)."""
        return None if self.updated is None else max(0, (today - self.updated).days)

    @classmethod
    def load(cls, path: Path) -> Referential:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConfigError(f"AMC referential not found: {path} (parser.referential)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"AMC referential {path} cannot be read: {exc}") from exc
        return cls(parse_referential(text, str(path)), source=str(path))


def _reason_of(entry: AmcEntry, domain: str) -> RocReason | None:
    """The reason of the line whose period holds the date (None: connected)."""
    if not entry.roc:
        return RocReason.NOT_CONNECTED
    if not entry.in_roc(domain):
        return RocReason.DOMAIN_NOT_IN_ROC
    return None


def _answer(lines: list[AmcEntry], at: date) -> tuple[AmcEntry, RocReason | None]:
    """The line that answers at `at` and, when `at` is in no line's period, the reason (None:
    the line's period holds `at`; its own reason applies)."""
    before: AmcEntry | None = None
    for entry in lines:
        if entry.covers(at):
            return entry, None
        if entry.roc_from is not None and at < entry.roc_from:
            after = entry
            break
        before = entry
    else:
        after = None
    if before is not None and (before.roc or after is None or not after.roc):
        return before, RocReason.CONNECTION_ENDED if before.roc else RocReason.NOT_CONNECTED
    assert after is not None  # `at` is before some line's period or after one
    return after, RocReason.NOT_YET_CONNECTED if after.roc else RocReason.NOT_CONNECTED


def _start(entry: AmcEntry) -> date:
    return entry.roc_from or date.min


def _histories(entries: list[AmcEntry], source: str) -> dict[str, list[AmcEntry]]:
    """Lines grouped by AMC in date order; `ConfigError` naming both lines when two overlap or
    disagree on `test`."""
    groups: dict[str, list[AmcEntry]] = {}
    for entry in entries:
        groups.setdefault(amc_key(entry.amc_number), []).append(entry)
    for lines in groups.values():
        lines.sort(key=_start)
        for a, b in itertools.pairwise(lines):
            if a.roc_to is None or a.roc_to >= _start(b):
                names = f" (names {a.name!r} and {b.name!r})" if a.name != b.name else ""
                raise ConfigError(
                    f"{source}, lines {_no(a)} and {_no(b)}: AMC {b.amc_number} has two lines "
                    f"for overlapping periods ({a.period} and {b.period}){names}; several lines "
                    "for one AMC must have periods (roc_from, roc_to) that do not overlap"
                )
        for a in lines[1:]:
            if a.test != lines[0].test:
                raise ConfigError(
                    f"{source}, lines {_no(lines[0])} and {_no(a)}: AMC {a.amc_number} is a test "
                    "AMC on one line and not on the other; `test` must be the same on every "
                    "line of an AMC"
                )
    return groups


def _no(entry: AmcEntry) -> str:
    return str(entry.line) if entry.line else "?"


def parse_referential(text: str, source: str = "<referential>") -> list[AmcEntry]:
    """Parse the CSV text of a referential; a bad line, or two lines that overlap, raise
    `ConfigError` naming them."""
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
    if any(c not in header for c in _REQUIRED):
        raise ConfigError(
            f"{source}: the header must name the columns {', '.join(_REQUIRED)} (and may name "
            f"{', '.join(COLUMNS[3:])})"
        )
    index = {name: header.index(name) for name in COLUMNS if name in header}
    entries = [
        _entry(row, index, f"{source}, line {line_no}", line_no)
        for (line_no, _), row in zip(lines[1:], rows[1:], strict=True)
    ]
    _histories(entries, source)
    return entries


def _entry(row: list[str], index: dict[str, int], where: str, line_no: int) -> AmcEntry:
    def cell(name: str) -> str:
        i = index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    number = cell("amc_number")
    if not (number.isascii() and number.isdigit()) or not 1 <= len(number) <= 10:
        raise ConfigError(f"{where}: amc_number {number!r} is not 1-10 digits")
    roc = _flag(cell("roc"), "roc", where, required=True)
    roc_from = _date(cell("roc_from"), "roc_from", where)
    roc_to = _date(cell("roc_to"), "roc_to", where)
    if roc_from and roc_to and roc_to < roc_from:
        raise ConfigError(f"{where}: roc_to {roc_to} is before roc_from {roc_from}")
    domains = _split(cell("domains"))
    unknown = [d for d in domains if d.upper() not in DOMAINS]
    if unknown:
        raise ConfigError(
            f"{where}: domains {';'.join(unknown)!r} not among {';'.join(DOMAINS)} "
            "(empty = every domain)"
        )
    return AmcEntry(
        amc_number=number,
        name=cell("name"),
        roc=roc,
        updated=_date(cell("updated"), "updated", where),
        roc_from=roc_from,
        roc_to=roc_to,
        domains=tuple(dict.fromkeys(d.upper() for d in domains)),
        gap_codes=tuple(dict.fromkeys(_split(cell("gap_codes")))),
        test=_flag(cell("test"), "test", where, required=False),
        line=line_no,
    )


def _flag(text: str, column: str, where: str, *, required: bool) -> bool:
    value = text.lower()
    if not value and not required:
        return False
    if value not in _YES | _NO:
        raise ConfigError(f"{where}: {column} must be yes or no, not {text!r}")
    return value in _YES


def _date(text: str, column: str, where: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: {column} {text!r} is not a date (YYYY-MM-DD)") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


@functools.lru_cache(maxsize=16)
def _unknown(domain: str) -> Roc:
    return Roc(status="unknown", domain=domain)


__all__ = [
    "COLUMNS",
    "AmcEntry",
    "Referential",
    "amc_key",
    "parse_referential",
]

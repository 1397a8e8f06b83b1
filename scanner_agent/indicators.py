"""The non-personal indicators of the ROC roll-out: what was scanned, where, and what came of it,
counted for the national supervision's weekly reports. Pure: no I/O, no clock.

    counter = IndicatorCounter("PC-ACCUEIL-1", "Europe/Paris", kinds={"desk": "serial"})
    row = counter.of_scan(scan, decode_ms=0.08)          # one Indicator: counted, never personal
    counter.of_unreadable("kiosk-camera", at, count=1)    # a code seen but not read
    query = IndicatorQuery.of(start=date(2026, 11, 23), end=date(2026, 11, 29),
                              group_by=("day", "decision"))
    report = aggregate(rows, query)                       # rows: Indicators or grouped rows
    report.as_json(); report.to_csv()

An `Indicator` holds the day (in the hospital's time zone) and its ISO week, the workstation,
the device (id and kind) and the source, the decision and each of its reasons, the ROC status and
its reason, the AMC number (an insurer's number is not personal data), the error codes, whether
it is a test (a test AMC of the referential, or the demo device) and the time the agent took to
decode and parse it. Never a member number, a name, a date of birth, a payload, a scan id or
even the time of day: its own `id` is random, so that a replayed journal line is counted once.

The store keeps one row per indicator and hands `aggregate` rows grouped by the columns a query
needs (`base_columns`), with their sums; `aggregate` finishes the grouping (a scan with two
reasons counts once under each when grouped by `reason`) and makes the report.

The dimension names, the measures and the CSV columns are a contract (README, "Weekly
indicators"): extended, never renamed.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from scanner_agent.decision import DEFAULT_TIMEZONE

if TYPE_CHECKING:
    from scanner_agent.config import Settings
    from scanner_agent.scan import Scan

Kind = Literal["scan", "unreadable"]

SOURCES: tuple[str, ...] = ("serial", "hid", "keyboard", "camera", "upload", "manual", "demo")
"""Where a scan came from. `demo` (the demo device's samples) is never a real flow: counted as a
test."""

_SOURCE_OF = {
    "serial": "serial",
    "hid_pos": "hid",
    "hid_keyboard": "keyboard",
    "camera": "camera",
    "upload": "upload",
    "manual": "manual",
    "demo": "demo",
}


def source_of(scan_source: str, protocol: str | None = None) -> str:
    """The indicators' source of a scan's `source`; a `replay` device counts as the protocol it
    replays (`serial`, `hid_pos`, `hid_keyboard`)."""
    if scan_source == "replay":
        return _SOURCE_OF.get(protocol or "serial", "serial")
    return _SOURCE_OF.get(scan_source, scan_source)


def iso_week(day: date) -> str:
    """`2026-W48`: the ISO week of `day` (weeks start on Monday; week 1 holds 4 January)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str) -> tuple[date, date]:
    """The Monday and the Sunday of an ISO week written `2026-W48`; ValueError otherwise."""
    text = week.strip().upper()
    try:
        year_text, week_text = text.split("-W")
        monday = date.fromisocalendar(int(year_text), int(week_text), 1)
    except ValueError:
        raise ValueError(f"{week!r} is not an ISO week (e.g. 2026-W48)") from None
    return monday, monday + timedelta(days=6)


def previous_week(today: date) -> str:
    """The ISO week before the one `today` is in."""
    return iso_week(today - timedelta(days=7))


@dataclass(frozen=True, slots=True)
class Indicator:
    """One counted event: a scan, or a code seen and not read (`kind`). Non-personal."""

    id: str
    """Random (never the scan's id): the row's key, so that a replayed journal line counts
    once."""
    kind: Kind
    day: date
    """The day it happened, in the hospital's time zone."""
    week: str
    """Its ISO week, `2026-W48`."""
    workstation: str
    device_id: str
    device_kind: str
    """The device's type (`serial`, `hid_pos`, `hid_keyboard`, `camera`, `replay`, `demo`) or
    `upload`, `manual`."""
    source: str
    """One of `SOURCES`."""
    decision: str = ""
    """`covered`, `check`, `not_covered`, `refused` (the decision for the day of the scan); empty
    for an unreadable code."""
    reasons: tuple[str, ...] = ()
    roc_status: str = ""
    """`roc`, `hors_roc`, `unknown`; empty for an unreadable code."""
    roc_reason: str = ""
    amc_number: str = ""
    errors: tuple[str, ...] = ()
    """The parse's error codes (a refused scan)."""
    test: bool = False
    """A test AMC of the referential, or the demo device: not a real flow, left out of reports
    unless asked."""
    decode_ms: float | None = None
    """Milliseconds the agent took: the image decode (camera frame, uploaded page) and the
    parse; None when not measured."""
    count: int = 1

    def row(self) -> dict[str, Any]:
        """The row as the store keeps it (lists joined with `;`)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "day": self.day,
            "week": self.week,
            "workstation": self.workstation,
            "device_id": self.device_id,
            "device_kind": self.device_kind,
            "source": self.source,
            "decision": self.decision,
            "reasons": ";".join(self.reasons),
            "roc_status": self.roc_status,
            "roc_reason": self.roc_reason,
            "amc_number": self.amc_number,
            "errors": ";".join(self.errors),
            "test": self.test,
            "decode_ms": self.decode_ms,
            "count": self.count,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Indicator:
        """The inverse of `row` (the journal's lines, the store's rows)."""
        day = row["day"]
        return cls(
            id=str(row["id"]),
            kind=row["kind"],
            day=day if isinstance(day, date) else date.fromisoformat(str(day)),
            week=str(row["week"]),
            workstation=str(row["workstation"]),
            device_id=str(row["device_id"]),
            device_kind=str(row["device_kind"]),
            source=str(row["source"]),
            decision=str(row.get("decision") or ""),
            reasons=_split(row.get("reasons")),
            roc_status=str(row.get("roc_status") or ""),
            roc_reason=str(row.get("roc_reason") or ""),
            amc_number=str(row.get("amc_number") or ""),
            errors=_split(row.get("errors")),
            test=bool(row.get("test")),
            decode_ms=None if row.get("decode_ms") is None else float(row["decode_ms"]),
            count=int(row.get("count") or 1),
        )

    def as_json(self) -> dict[str, Any]:
        """The row with JSON values (the journal)."""
        out = self.row()
        out["day"] = self.day.isoformat()
        return out


def _split(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(part for part in str(value or "").split(";") if part)


def new_indicator_id() -> str:
    return uuid.uuid4().hex


class IndicatorCounter:
    """Makes the indicator of each scan (and of each code seen but not read) for one
    workstation: its name, the hospital's time zone, and each device's kind."""

    def __init__(
        self,
        workstation: str,
        timezone: str = DEFAULT_TIMEZONE,
        kinds: Mapping[str, str] | None = None,
        protocols: Mapping[str, str] | None = None,
    ) -> None:
        self.workstation = workstation
        self.zone = ZoneInfo(timezone)
        self.kinds = dict(kinds or {})
        """Device id → device type (`serial`, `camera`…)."""
        self.protocols = dict(protocols or {})
        """Replay device id → the protocol it replays."""

    @classmethod
    def from_settings(cls, settings: Settings) -> IndicatorCounter:
        return cls(
            settings.workstation,
            settings.parser.timezone,
            kinds={d.id: d.type for d in settings.devices},
            protocols={d.id: d.protocol for d in settings.devices if d.type == "replay"},
        )

    def day_of(self, at: datetime) -> date:
        """The day of a UTC moment in the hospital's time zone."""
        moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).date()

    def kind_of(self, device_id: str, scan_source: str) -> str:
        return self.kinds.get(device_id, scan_source)

    def of_scan(self, scan: Scan, decode_ms: float | None = None) -> Indicator:
        """The indicator of a scan, judged as it was for the day it was read."""
        a = scan.attestation
        day = self.day_of(scan.received_at)
        source = source_of(scan.source, self.protocols.get(scan.device_id))
        return Indicator(
            id=new_indicator_id(),
            kind="scan",
            day=day,
            week=iso_week(day),
            workstation=self.workstation,
            device_id=scan.device_id,
            device_kind=self.kind_of(scan.device_id, scan.source),
            source=source,
            decision=a.decision,
            reasons=tuple(r.code.value for r in a.reasons),
            roc_status=a.roc.status,
            roc_reason=a.roc.reason.value if a.roc.reason else "",
            amc_number=a.amc_number or "",
            errors=tuple(a.error_codes()),
            test=a.roc.test or source == "demo",
            decode_ms=None if decode_ms is None else round(decode_ms, 3),
        )

    def of_unreadable(
        self, device_id: str, at: datetime, count: int = 1, scan_source: str | None = None
    ) -> Indicator:
        """The indicator of `count` codes seen by `device_id` at `at` and not read."""
        day = self.day_of(at)
        kind = self.kinds.get(device_id, scan_source or device_id)
        source = source_of(scan_source or kind, self.protocols.get(device_id))
        return Indicator(
            id=new_indicator_id(),
            kind="unreadable",
            day=day,
            week=iso_week(day),
            workstation=self.workstation,
            device_id=device_id,
            device_kind=kind,
            source=source,
            test=source == "demo",
            count=max(1, count),
        )


# --- the reports -------------------------------------------------------------------------------

DIMENSIONS: tuple[str, ...] = (
    "week",
    "day",
    "workstation",
    "device_id",
    "device_kind",
    "source",
    "decision",
    "reason",
    "reasons",
    "roc_status",
    "roc_reason",
    "amc_number",
    "error",
    "errors",
    "test",
)
"""What a report may be grouped by. `reason` and `error` count a scan once under each of its
reasons (error codes), so their rows add up to more than the scans; `reasons` and `errors` group
by the whole list (`;`-separated), each scan once."""

MEASURES: tuple[str, ...] = ("scans", "unreadable", "decode_ms_mean")
"""What each row counts: scans, codes seen but not read, the mean time to decode a scan (ms)."""

DEFAULT_GROUP_BY: tuple[str, ...] = ("week", "workstation", "decision")

EXPORT_GROUP_BY: tuple[str, ...] = (
    "week",
    "day",
    "workstation",
    "device_id",
    "device_kind",
    "source",
    "decision",
    "reasons",
    "roc_status",
    "roc_reason",
    "amc_number",
    "errors",
)
"""The columns of the weekly files before the measures: each scan is counted in one row."""

_EXPLODED = {"reason": "reasons", "error": "errors"}
BASE_COLUMNS: tuple[str, ...] = (*EXPORT_GROUP_BY, "test")
"""The stored columns a query may group by (`reason`, `error` come from `reasons`, `errors`)."""


class InvalidQuery(ValueError):
    """A report asked with a bad period or an unknown dimension (code `invalid_query`)."""

    code = "invalid_query"


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    """Which indicators and how grouped: days `start` to `end` (both included, hospital's time
    zone), grouped by `group_by`, test rows left out unless `include_test`, optionally one
    workstation, source, decision or device only."""

    start: date
    end: date
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    include_test: bool = False
    workstation: str | None = None
    source: str | None = None
    decision: str | None = None
    device_id: str | None = None

    @classmethod
    def of(
        cls,
        start: date,
        end: date,
        group_by: Iterable[str] | str | None = None,
        **filters: Any,
    ) -> IndicatorQuery:
        """A checked query; `InvalidQuery` for a period that ends before it starts or a
        dimension that is not one of `DIMENSIONS` (`group_by` may be `"week,decision"`)."""
        if end < start:
            raise InvalidQuery(f"the period ends ({end}) before it starts ({start})")
        if group_by is None:
            dims: tuple[str, ...] = DEFAULT_GROUP_BY
        else:
            parts = group_by.split(",") if isinstance(group_by, str) else list(group_by)
            dims = tuple(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown:
            raise InvalidQuery(
                f"cannot group by {', '.join(unknown)}: the dimensions are {', '.join(DIMENSIONS)}"
            )
        return cls(start, end, dims, **filters)

    @classmethod
    def week(
        cls, week: str, group_by: Iterable[str] | str | None = None, **filters: Any
    ) -> IndicatorQuery:
        """The query of one ISO week (`2026-W48`); `InvalidQuery` when it is not one."""
        try:
            start, end = week_bounds(week)
        except ValueError as exc:
            raise InvalidQuery(str(exc)) from None
        return cls.of(start, end, group_by, **filters)

    def base_columns(self) -> tuple[str, ...]:
        """The stored columns the store must group by for this query (`test` always: rows are
        filtered on it)."""
        wanted = {_EXPLODED.get(d, d) for d in self.group_by} | {"test"}
        return tuple(c for c in BASE_COLUMNS if c in wanted)

    def keeps(self, row: Mapping[str, Any]) -> bool:
        """Whether a stored (or grouped) row is in this query (its period and filters)."""
        day = row.get("day")
        if isinstance(day, date) and not self.start <= day <= self.end:
            return False
        if not self.include_test and row.get("test"):
            return False
        for name in ("workstation", "source", "decision", "device_id"):
            wanted = getattr(self, name)
            if wanted is not None and name in row and row[name] != wanted:
                return False
        return True

    def as_json(self) -> dict[str, Any]:
        filters = {
            name: getattr(self, name)
            for name in ("workstation", "source", "decision", "device_id")
            if getattr(self, name) is not None
        }
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "group_by": list(self.group_by),
            "include_test": self.include_test,
            "filters": filters,
        }


DECISIONS: tuple[str, ...] = ("covered", "check", "not_covered", "refused")
"""The decisions a report may be filtered on."""


def query_for(
    today: date,
    *,
    week: str | None = None,
    start: date | None = None,
    end: date | None = None,
    group_by: Iterable[str] | str | None = None,
    include_test: bool = False,
    workstation: str | None = None,
    source: str | None = None,
    decision: str | None = None,
    device_id: str | None = None,
) -> IndicatorQuery:
    """The query `GET /v1/indicators` and `scanner-agent report` ask: one ISO `week`, or the days
    `start` to `end` (both included); neither: the current ISO week (Monday to Sunday) of
    `today` (the hospital's today); `start` alone: up to `today` (or `start` itself when later);
    `end` alone: from the Monday of its week. `InvalidQuery` for a week and a period together, a
    bad week, a period inverted, an unknown dimension, source or decision."""
    if week is not None and (start is not None or end is not None):
        raise InvalidQuery("give either a week or a period (from, to), not both")
    if source is not None and source not in SOURCES:
        raise InvalidQuery(f"unknown source {source!r}: the sources are {', '.join(SOURCES)}")
    if decision is not None and decision not in DECISIONS:
        raise InvalidQuery(
            f"unknown decision {decision!r}: the decisions are {', '.join(DECISIONS)}"
        )
    filters = {
        "include_test": include_test,
        "workstation": workstation,
        "source": source,
        "decision": decision,
        "device_id": device_id,
    }
    if week is not None:
        return IndicatorQuery.week(week, group_by, **filters)
    if start is None and end is None:
        start, end = week_bounds(iso_week(today))
    elif start is None:
        assert end is not None
        start = end - timedelta(days=end.weekday())
    elif end is None:
        end = max(start, today)
    return IndicatorQuery.of(start, end, group_by, **filters)


def with_workstations(
    read: Callable[[IndicatorQuery], IndicatorReport], query: IndicatorQuery
) -> IndicatorReport:
    """`read(query)` whose `workstations` names every workstation counted, even when the query
    is not grouped by workstation (the rows a store hands `aggregate` then do not say): asked
    again, grouped by workstation only."""
    report = read(query)
    if "workstation" not in query.group_by:
        by_workstation = replace(query, group_by=("workstation",))
        report.workstations = list(read(by_workstation).workstations)
    return report


@dataclass(slots=True)
class ReportRow:
    """One group: its keys (by dimension) and its measures."""

    keys: dict[str, Any]
    scans: int = 0
    unreadable: int = 0
    decode_ms_total: float = 0.0
    decode_ms_count: int = 0

    @property
    def decode_ms_mean(self) -> float | None:
        if not self.decode_ms_count:
            return None
        return round(self.decode_ms_total / self.decode_ms_count, 3)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.keys,
            "scans": self.scans,
            "unreadable": self.unreadable,
            "decode_ms_mean": self.decode_ms_mean,
        }


@dataclass(slots=True)
class IndicatorReport:
    """The answer to an `IndicatorQuery`: its rows (sorted by their keys), the totals and the
    workstations seen."""

    query: IndicatorQuery
    rows: list[ReportRow] = field(default_factory=list)
    total: ReportRow = field(default_factory=lambda: ReportRow({}))
    workstations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """`GET /v1/indicators`: the query, `columns`, `rows`, `totals`, `workstations`."""
        return {
            **self.query.as_json(),
            "columns": [*self.query.group_by, *MEASURES],
            "rows": [row.as_json() for row in self.rows],
            "totals": self.total.as_json(),
            "workstations": list(self.workstations),
        }

    def to_csv(self) -> str:
        """CSV (RFC 4180, UTF-8, comma-separated, CRLF line ends): the group's columns, then the
        measures; an empty cell for "none", `true`/`false` for `test`, decode time with three
        decimals."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*self.query.group_by, *MEASURES])
        for row in self.rows:
            cells = [_cell(row.keys.get(d)) for d in self.query.group_by]
            mean = row.decode_ms_mean
            writer.writerow(
                [*cells, row.scans, row.unreadable, "" if mean is None else f"{mean:.3f}"]
            )
        return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def aggregate(
    rows: Iterable[Indicator | Mapping[str, Any]], query: IndicatorQuery
) -> IndicatorReport:
    """The report of `query` over `rows`: `Indicator`s, or the store's grouped rows (mappings of
    `base_columns()` with `kind`, `count` and, when measured, `decode_ms_total` and
    `decode_ms_count`; a `decode_ms` of one row stands for a total over one). Rows outside the
    query's period or filters are left out."""
    groups: dict[tuple[Any, ...], ReportRow] = {}
    total = ReportRow({})
    workstations: set[str] = set()
    for item in rows:
        row = item.row() if isinstance(item, Indicator) else item
        if not query.keeps(row):
            continue
        count = int(row.get("count") or 0)
        if "decode_ms_total" in row:
            ms_total = float(row.get("decode_ms_total") or 0.0)
            ms_count = int(row.get("decode_ms_count") or 0)
        else:
            ms = row.get("decode_ms")
            ms_total, ms_count = (0.0, 0) if ms is None else (float(ms) * count, count)
        is_scan = row.get("kind", "scan") == "scan"
        if "workstation" in row:
            workstations.add(str(row["workstation"]))
        _add(total, count, is_scan, ms_total, ms_count)
        for keys in _keys(row, query.group_by):
            group = groups.get(keys)
            if group is None:
                group = groups[keys] = ReportRow(dict(zip(query.group_by, keys, strict=True)))
            _add(group, count, is_scan, ms_total, ms_count)
    ordered = sorted(groups.items(), key=lambda kv: tuple(_sort_key(k) for k in kv[0]))
    return IndicatorReport(query, [g for _, g in ordered], total, sorted(workstations))


def _add(group: ReportRow, count: int, is_scan: bool, ms_total: float, ms_count: int) -> None:
    if is_scan:
        group.scans += count
        group.decode_ms_total += ms_total
        group.decode_ms_count += ms_count
    else:
        group.unreadable += count


def _keys(row: Mapping[str, Any], group_by: Sequence[str]) -> list[tuple[Any, ...]]:
    """The group keys of a row: one, or one per reason (error) when grouped by `reason`
    (`error`); a scan without any counts under None."""
    combos: list[tuple[Any, ...]] = [()]
    for dim in group_by:
        if dim in _EXPLODED:
            values: Sequence[Any] = _split(row.get(_EXPLODED[dim])) or (None,)
        else:
            values = (_value(row, dim),)
        combos = [(*combo, v) for combo in combos for v in values]
    return combos


def _value(row: Mapping[str, Any], dim: str) -> Any:
    value = row.get(dim)
    if dim == "test":
        return bool(value)
    if dim == "day":
        return value.isoformat() if isinstance(value, date) else value
    if dim in ("reasons", "errors"):
        joined = ";".join(_split(value))
        return joined or None
    return value if value not in ("", None) else None


def _sort_key(value: Any) -> tuple[int, Any]:
    """None after every value; booleans and texts in order."""
    if value is None:
        return (1, "")
    return (0, str(value) if not isinstance(value, bool) else str(int(value)))


__all__ = [
    "BASE_COLUMNS",
    "DECISIONS",
    "DEFAULT_GROUP_BY",
    "DIMENSIONS",
    "EXPORT_GROUP_BY",
    "MEASURES",
    "SOURCES",
    "Indicator",
    "IndicatorCounter",
    "IndicatorQuery",
    "IndicatorReport",
    "InvalidQuery",
    "ReportRow",
    "aggregate",
    "iso_week",
    "new_indicator_id",
    "previous_week",
    "query_for",
    "source_of",
    "week_bounds",
    "with_workstations",
]

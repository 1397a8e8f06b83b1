"""`GET /v1/indicators`: the non-personal indicators of the ROC roll-out, as JSON or CSV.

    GET /v1/indicators?week=2026-W48&group_by=day,decision
    GET /v1/indicators?from=2026-11-23&to=2026-11-29        (Accept: text/csv for the CSV)

The period is one ISO `week`, or the days `from` to `to` (both included, in the hospital's time
zone); by default the current ISO week, Monday to Sunday (`scanner_agent.indicators.query_for`).
The report aggregates every workstation writing to the agent's database and what this agent has
not written yet (`ScanService.indicators`); the database is read in a worker thread (a report
over months of rows is not a quick page read). Errors: 422 `invalid_query` (an unknown dimension,
source or decision, a period inverted, a bad week, a week with `from`/`to`), 422 `invalid_date`
(a date that is not YYYY-MM-DD), 503 with the storage error's code when the database cannot be
read.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.config import DEVICE_ID_PATTERN
from scanner_agent.indicators import (
    DECISIONS,
    DEFAULT_GROUP_BY,
    DIMENSIONS,
    SOURCES,
    IndicatorQuery,
    IndicatorReport,
    InvalidQuery,
    query_for,
    with_workstations,
)
from scanner_agent.storage import StorageError

router = APIRouter(
    tags=["indicators"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 422),
)

CSV_TYPE = "text/csv; charset=utf-8"
_DIMENSION = "(" + "|".join(DIMENSIONS) + ")"
GROUP_BY_PATTERN = rf"^( *{_DIMENSION} *(, *{_DIMENSION} *)*)?$"
"""Dimensions separated by commas; empty: no grouping (one row, the totals)."""
WEEK_PATTERN = r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
WORKSTATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class IndicatorTotals(BaseModel):
    """The measures of a group (or of the whole period)."""

    scans: int
    """Scans counted (a scan grouped by `reason` or `error` counts under each of them)."""
    unreadable: int
    """Codes seen by a camera and not read."""
    decode_ms_mean: float | None
    """Mean time the agent took to decode and parse a scan, in milliseconds (null: none
    measured)."""


class IndicatorRow(IndicatorTotals):
    """One group: a key per dimension of `group_by` (null: none, e.g. a scan without a reason),
    then the measures."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": ["string", "boolean", "null"]},
            "example": {
                "day": "2026-11-23",
                "decision": "covered",
                "scans": 41,
                "unreadable": 0,
                "decode_ms_mean": 0.412,
            },
        },
    )


class IndicatorsReport(BaseModel):
    """`IndicatorReport.as_json()`: the query, then the rows."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    """The first day of the period (hospital's time zone)."""
    to: date
    """The last day, included."""
    group_by: list[str]
    include_test: bool
    """Whether test attestations (a test AMC, the demo device) are counted."""
    filters: dict[str, str]
    """The filters given (`workstation`, `source`, `decision`, `device_id`)."""
    columns: list[str]
    """The dimensions of `group_by`, then `scans`, `unreadable`, `decode_ms_mean`: the keys of
    each row and the CSV's columns."""
    rows: list[IndicatorRow]
    """One per group, sorted by their keys (null last)."""
    totals: IndicatorTotals
    """The whole period, each scan once."""
    workstations: list[str]
    """The workstations counted, sorted."""


def _date_only(value: object) -> object:
    """pydantic would read `to=0` as a Unix time: the schema says YYYY-MM-DD."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is None:
        raise ValueError("expected a date YYYY-MM-DD")
    return value


def _check_group_by(text: str) -> None:
    """`InvalidQuery` unless `text` is dimensions separated by commas (or empty)."""
    if re.fullmatch(GROUP_BY_PATTERN, text) is not None:
        return
    if any(part.strip() not in DIMENSIONS for part in text.split(",")):
        raise InvalidQuery(
            f"group_by: the dimensions are {', '.join(DIMENSIONS)}, separated by commas"
        )
    raise InvalidQuery("group_by: dimensions separated by commas, e.g. week,decision")


def _wants_csv(accept: str | None) -> bool:
    """Whether `Accept` prefers `text/csv` to JSON (`text/csv` listed with a quality at least
    that of `application/json`)."""
    if not accept:
        return False
    quality: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(q, quality.get(media.lower(), 0.0))
    csv_q = quality.get("text/csv", 0.0)
    return csv_q > 0 and csv_q >= quality.get("application/json", 0.0)


def csv_filename(query: IndicatorQuery) -> str:
    """`indicators-2026-11-23-2026-11-29.csv`."""
    return f"indicators-{query.start.isoformat()}-{query.end.isoformat()}.csv"


@router.get(
    "/indicators",
    summary="The non-personal indicators of a week or a period (JSON, or CSV)",
    description="Counts of scans and of codes seen but not read, grouped by `group_by`, over "
    "every workstation writing to this agent's database. Never a member number, a name, a "
    "date of birth, a payload or a scan id. By default the current ISO week (Monday to "
    "Sunday, hospital's time zone), grouped by `week,workstation,decision`, test "
    "attestations left out. With `Accept: text/csv`: the same rows as CSV (UTF-8, comma, "
    "CRLF; the columns of `columns`). 422 `invalid_query`: an unknown dimension, source or "
    "decision, a period that ends before it starts, a bad week, a week given with `from` or "
    "`to`; 422 `invalid_date`: a date that is not YYYY-MM-DD; 503 with the storage error's "
    "code when the database cannot be read.",
    response_model=IndicatorsReport,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "day,decision,scans,unreadable,decode_ms_mean\r\n"
                    "2026-11-23,covered,41,0,0.412\r\n",
                }
            },
            "headers": {
                "Content-Disposition": {
                    "description": "With `Accept: text/csv`: `attachment; "
                    'filename="indicators-2026-11-23-2026-11-29.csv"`',
                    "schema": {"type": "string"},
                }
            },
        },
        **responses(503),
    },
)
async def indicators(
    request: Request,
    state: StateDep,
    from_: Annotated[
        date | None,
        BeforeValidator(_date_only),
        Query(
            alias="from",
            description="The first day (YYYY-MM-DD, hospital's time zone). Alone: up to today.",
        ),
    ] = None,
    to: Annotated[
        date | None,
        BeforeValidator(_date_only),
        Query(description="The last day, included. Alone: from the Monday of its week."),
    ] = None,
    week: Annotated[
        str | None,
        Query(
            max_length=16,
            json_schema_extra={"pattern": WEEK_PATTERN},  # checked here: `invalid_query`
            description="One ISO week, e.g. `2026-W48` (instead of `from`/`to`).",
        ),
    ] = None,
    group_by: Annotated[
        str | None,
        Query(
            max_length=400,
            json_schema_extra={"pattern": GROUP_BY_PATTERN},
            description="Comma-separated dimensions: "
            + ", ".join(f"`{d}`" for d in DIMENSIONS)
            + f". Default `{','.join(DEFAULT_GROUP_BY)}`; empty: the totals in one row. "
            "`reason` and `error` count a scan under each of its reasons (error codes).",
        ),
    ] = None,
    include_test: Annotated[
        bool, Query(description="Count test attestations (a test AMC, the demo device) too.")
    ] = False,
    workstation: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"pattern": WORKSTATION_PATTERN},
            description="Only this workstation.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        Query(
            max_length=16,
            json_schema_extra={"enum": list(SOURCES)},
            description="Only this source.",
        ),
    ] = None,
    decision: Annotated[
        str | None,
        Query(
            max_length=16,
            json_schema_extra={"enum": list(DECISIONS)},
            description="Only this decision.",
        ),
    ] = None,
    device_id: Annotated[
        str | None,
        Query(pattern=DEVICE_ID_PATTERN, description="Only this device (or `upload`, `manual`)."),
    ] = None,
) -> Response:
    try:
        if workstation is not None and re.fullmatch(WORKSTATION_PATTERN, workstation) is None:
            raise InvalidQuery("workstation: not a workstation name")
        if group_by is not None:
            _check_group_by(group_by)
        if week is not None and re.fullmatch(WEEK_PATTERN, week) is None:
            raise InvalidQuery("week: an ISO week, e.g. 2026-W48")
        query = query_for(
            state.agent.today(),
            week=week,
            start=from_,
            end=to,
            group_by=group_by,
            include_test=include_test,
            workstation=workstation,
            source=source,
            decision=decision,
            device_id=device_id,
        )
    except InvalidQuery as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    scans = state.scans
    try:
        # Always off the event loop: a report over months of rows takes longer than a page of
        # scans (docs/benchmarks.md, "Indicators"), even on a local SQLite file.
        report: IndicatorReport = await run_in_threadpool(
            with_workstations, scans.indicators, query
        )
    except StorageError as exc:
        raise ApiError(503, exc.code, f"the indicators cannot be read: {exc}") from exc
    if _wants_csv(request.headers.get("accept")):
        disposition = f'attachment; filename="{csv_filename(query)}"'
        return Response(
            report.to_csv().encode("utf-8"),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": disposition},
        )
    return Response(_json(report.as_json()), media_type="application/json")


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

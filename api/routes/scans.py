"""Scans: list (paged with a cursor), latest, wait for the next one, one by id, and erasure.

Every route calls the agent's scans service (`scanner_agent.scans`). Every read judges the
scans it serves for the question asked (`at`, `stay_start`, `stay_days`, `domain`; by default
today in the hospital's time zone and `parser.domain`): the service keeps what was read, the
route computes the validity, ROC status and decision from it (`api.cover`,
`ParseContext.decide`). The list is served as JSON texts joined, each judged on its text
without validating the scan again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, BeforeValidator
from starlette.concurrency import run_in_threadpool

from api.cover import CoverDep
from api.deps import ApiState, Authenticated, StateDep, done_unless_gone, store_call_error
from api.errors import ApiError, responses
from scanner_agent.claims import CLIENT_PATTERN, InvalidClient, check_client
from scanner_agent.config import DEVICE_ID_PATTERN
from scanner_agent.decision import Cover
from scanner_agent.scan import Scan
from scanner_agent.scans import CURSOR_PATTERN, InvalidCursor, ScanFilter, ScanPage
from scanner_agent.storage import StorageError

router = APIRouter(
    prefix="/scans",
    tags=["scans"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 422),
)

DeviceQuery = Annotated[
    str | None,
    Query(pattern=DEVICE_ID_PATTERN, description="Only the scans of this device (or `upload`)."),
]
ScanId = Annotated[str, Path(max_length=64)]
T = TypeVar("T")

_NEXT_PAGE_HEADERS = {
    "Link": {
        "description": 'The next page: `</v1/scans?...&cursor=...>; rel="next"` (absent on the '
        "last page)",
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "The `cursor` of the next page (absent on the last page)",
        "schema": {"type": "string"},
    },
}


class Erased(BaseModel):
    deleted: int
    """How many scans were erased (database, memory and not-yet-written ones together)."""


async def _read(state: ApiState, read: Callable[..., T], *args: Any) -> T:
    """A read of the scans service: in the event loop when it is quick (memory, or a local
    SQLite file: a fraction of a millisecond, where handing it to a worker thread would cost
    more than the read under concurrent requests), in a worker thread when it may wait on a
    database server."""
    if state.scans.reads_are_quick:
        return read(*args)
    return await run_in_threadpool(read, *args)


def _iso_only(value: object) -> object:
    """pydantic would read `since=1700000000` as a Unix time: the schema says date-time."""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*", value):
        raise ValueError("expected an ISO 8601 date-time")
    return value


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get(
    "",
    summary="Recent scans, newest first",
    response_model=list[Scan],
    responses={200: {"headers": _NEXT_PAGE_HEADERS}, **responses(503)},
)
async def list_scans(
    request: Request,
    state: StateDep,
    cover: CoverDep,
    device: DeviceQuery = None,
    since: Annotated[
        datetime | None,
        BeforeValidator(_iso_only),
        Query(description="Only scans received at or after (ISO 8601; UTC if no zone)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None,
        Query(
            max_length=100,
            json_schema_extra={"pattern": CURSOR_PATTERN},  # checked by the service: its code
            description="The next page: the cursor given by the previous page (its `Link` or "
            "`X-Next-Cursor` header). Opaque.",
        ),
    ] = None,
) -> Response:
    filters = ScanFilter(device, _utc(since))
    try:
        page: ScanPage = await _read(state, state.scans.recent, filters, limit, cursor)
    except InvalidCursor as exc:
        raise ApiError(422, exc.code, "cursor: not a cursor given by this API") from None
    except StorageError as exc:
        raise store_call_error(exc) from exc
    headers: dict[str, str] = {}
    if page.next_cursor is not None:
        query = {
            "device": device,
            "since": since.isoformat() if since else None,
            **_question_params(request.query_params),
        }
        params = {k: v for k, v in query.items() if v is not None}
        url = "/v1/scans?" + urlencode({**params, "limit": limit, "cursor": page.next_cursor})
        headers["Link"] = f'<{url}>; rel="next"'
        headers["X-Next-Cursor"] = page.next_cursor
    body = ",".join(state.agent.context.decide_scan_jsons([i.json for i in page.items], cover))
    return Response(f"[{body}]".encode(), media_type="application/json", headers=headers)


def _question_params(params: Mapping[str, str]) -> dict[str, str]:
    """The question's parameters of a request, as given (for the next page's link)."""
    return {k: params[k] for k in ("at", "stay_start", "stay_days", "domain") if k in params}


def _json(state: ApiState, scan: Scan, cover: Cover) -> Response:
    """The scan judged for `cover`, as JSON (without FastAPI validating it again)."""
    judged = state.agent.context.decide(scan.attestation, cover)
    text = scan.model_copy(update={"attestation": judged}).model_dump_json()
    return Response(text, media_type="application/json")


@router.get(
    "/latest", summary="The most recent scan", response_model=Scan, responses=responses(404, 503)
)
async def latest_scan(state: StateDep, cover: CoverDep, device: DeviceQuery = None) -> Response:
    try:
        scan = await _read(state, state.scans.latest, device)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    if scan is None:
        raise ApiError(404, "scan_not_found", "no scan yet")
    return _json(state, scan, cover)


@router.get(
    "/next",
    summary="Wait for the next scan (kiosks; desks with `claim`)",
    description="Without `claim`, every waiter gets the next scan. With `claim=CLIENT`, the next "
    "scan nobody has claimed goes to exactly one waiter, claimed for its client (`claimed_by`); "
    "the other waiters keep waiting.",
    response_model=Scan,
    responses={204: {"description": "No scan before the timeout"}},
)
async def next_scan(
    request: Request,
    state: StateDep,
    cover: CoverDep,
    timeout: Annotated[
        float, Query(ge=0, description="Seconds to wait (at most api.max_wait_s).")
    ] = 30,
    device: DeviceQuery = None,
    claim: Annotated[
        str | None,
        Query(
            max_length=200,
            json_schema_extra={"pattern": CLIENT_PATTERN, "maxLength": 64},
            description="Claim the scan for this client (a desk's name; 422 `invalid_client` "
            "when malformed): one waiter gets each scan.",
        ),
    ] = None,
) -> Response:
    if timeout > state.settings.api.max_wait_s:
        raise ApiError(
            422, "invalid_request", f"timeout: at most {state.settings.api.max_wait_s:g} seconds"
        )
    if claim is not None:
        try:
            check_client(claim)
        except InvalidClient as exc:
            raise ApiError(422, exc.code, str(exc)) from None
    try:
        scan = await _unless_gone(
            request, state, state.require_hub().next_scan(device, timeout, claim), claim
        )
    except _ClientGone:  # nobody will read the answer; a claim made for it was given back
        return Response(status_code=204)
    return Response(status_code=204) if scan is None else _json(state, scan, cover)


class _ClientGone(Exception):
    """The client of a waiting `/next` closed its connection."""


async def _unless_gone(
    request: Request,
    state: ApiState,
    waiting: Coroutine[Any, Any, Scan | None],
    claim: str | None,
) -> Scan | None:
    """What `waiting` answers; `_ClientGone` as soon as the client has closed its connection
    (a kiosk reloaded, a desk's request given up): a waiter nobody listens to must not take
    the next scan, least of all claim it. A claim made for `claim` at that very moment is
    released."""
    waiter = asyncio.ensure_future(waiting)
    try:
        if await done_unless_gone(request, waiter):
            return waiter.result()
    finally:
        waiter.cancel()  # the hub gives back a claim it was making
    with contextlib.suppress(asyncio.CancelledError):
        scan = await waiter
        if scan is not None and claim is not None and scan.claimed_by == claim:
            with contextlib.suppress(Exception):
                await run_in_threadpool(state.scans.release, scan.id, claim)
    raise _ClientGone


@router.get("/{scan_id}", summary="One scan", response_model=Scan, responses=responses(404, 503))
async def get_scan(scan_id: ScanId, state: StateDep, cover: CoverDep) -> Response:
    try:
        scan = await _read(state, state.scans.get, scan_id)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    if scan is None:
        raise ApiError(404, "scan_not_found", "no scan has this id (erased, or past the retention)")
    return _json(state, scan, cover)


@router.delete(
    "/{scan_id}",
    summary="Erase one scan",
    status_code=204,
    response_class=Response,
    responses=responses(404, 415, 503),
)
async def delete_scan(scan_id: ScanId, state: StateDep) -> Response:
    try:
        found = await run_in_threadpool(state.scans.erase, scan_id)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    if not found:
        raise ApiError(404, "scan_not_found", "no scan has this id")
    return Response(status_code=204)


@router.delete("", summary="Erase every scan (of one device)", responses=responses(415, 503))
async def delete_scans(state: StateDep, device: DeviceQuery = None) -> Erased:
    try:
        count = await run_in_threadpool(state.scans.erase_all, device)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    return Erased(deleted=count)

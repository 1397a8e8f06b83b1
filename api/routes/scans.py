"""Scans: list, latest, wait for the next one, one by id, and erasure."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator
from starlette.concurrency import run_in_threadpool

from api.deps import ApiState, Authenticated, StateDep, store_call_error
from api.errors import ApiError, responses
from scanner_agent.config import DEVICE_ID_PATTERN
from scanner_agent.scan import Scan
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


class Erased(BaseModel):
    deleted: int
    """How many scans were erased (database, memory and not-yet-written ones together)."""


def _iso_only(value: object) -> object:
    """pydantic would read `since=1700000000` as a Unix time: the schema says date-time."""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*", value):
        raise ValueError("expected an ISO 8601 date-time")
    return value


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("", summary="Recent scans, newest first", responses=responses(503))
async def list_scans(
    state: StateDep,
    device: DeviceQuery = None,
    since: Annotated[
        datetime | None,
        BeforeValidator(_iso_only),
        Query(description="Only scans received at or after (ISO 8601; UTC if no zone)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Scan]:
    since = _utc(since)
    try:
        stored = await run_in_threadpool(state.store.recent, device, since, limit)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    # Scans not written yet (or just written) are in memory too: one list, newest first.
    merged = {s.id: s for s in stored}
    for scan in state.require_hub().recent(device, since):
        merged.setdefault(scan.id, scan)
    ordered = sorted(merged.values(), key=lambda s: (s.received_at, s.id), reverse=True)
    return ordered[:limit]


def _json(scan: Scan) -> Response:
    """The scan as JSON, without FastAPI validating it again against `Scan` (it is one)."""
    return Response(scan.model_dump_json(), media_type="application/json")


@router.get(
    "/latest", summary="The most recent scan", response_model=Scan, responses=responses(404, 503)
)
async def latest_scan(state: StateDep, device: DeviceQuery = None) -> Response:
    scan = state.require_hub().latest(device)
    if scan is None:
        try:
            found = await run_in_threadpool(state.store.recent, device, None, 1)
        except StorageError as exc:
            raise store_call_error(exc) from exc
        scan = found[0] if found else None
    if scan is None:
        raise ApiError(404, "scan_not_found", "no scan yet")
    return _json(scan)


@router.get(
    "/next",
    summary="Wait for the next scan (kiosks)",
    response_model=Scan,
    responses={204: {"description": "No scan before the timeout"}},
)
async def next_scan(
    state: StateDep,
    timeout: Annotated[
        float, Query(ge=0, description="Seconds to wait (at most api.max_wait_s).")
    ] = 30,
    device: DeviceQuery = None,
) -> Response:
    if timeout > state.settings.api.max_wait_s:
        raise ApiError(
            422, "invalid_request", f"timeout: at most {state.settings.api.max_wait_s:g} seconds"
        )
    scan = await state.require_hub().next_scan(device, timeout)
    return Response(status_code=204) if scan is None else _json(scan)


@router.get("/{scan_id}", summary="One scan", response_model=Scan, responses=responses(404, 503))
async def get_scan(scan_id: ScanId, state: StateDep) -> Response:
    scan = state.require_hub().get(scan_id)
    if scan is None:
        try:
            scan = await run_in_threadpool(state.store.get, scan_id)
        except StorageError as exc:
            raise store_call_error(exc) from exc
    if scan is None:
        raise ApiError(404, "scan_not_found", "no scan has this id (erased, or past the retention)")
    return _json(scan)


def _erase_one(state: ApiState, scan_id: str) -> bool:
    writer = state.require_writer()
    with writer.write_lock:  # not written back by a write in flight
        found = state.require_hub().forget(scan_id)
        found = writer.forget(scan_id) or found
        return state.store.delete(scan_id) or found


def _erase_all(state: ApiState, device: str | None) -> int:
    writer = state.require_writer()
    with writer.write_lock:
        from_memory = state.require_hub().forget_all(device)
        pending = writer.forget_all(device)
        return max(from_memory, state.store.delete_all(device) + pending)


@router.delete(
    "/{scan_id}",
    summary="Erase one scan",
    status_code=204,
    response_class=Response,
    responses=responses(404, 415, 503),
)
async def delete_scan(scan_id: ScanId, state: StateDep) -> Response:
    try:
        found = await run_in_threadpool(_erase_one, state, scan_id)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    if not found:
        raise ApiError(404, "scan_not_found", "no scan has this id")
    return Response(status_code=204)


@router.delete("", summary="Erase every scan (of one device)", responses=responses(415, 503))
async def delete_scans(state: StateDep, device: DeviceQuery = None) -> Erased:
    try:
        count = await run_in_threadpool(_erase_all, state, device)
    except StorageError as exc:
        raise store_call_error(exc) from exc
    return Erased(deleted=count)

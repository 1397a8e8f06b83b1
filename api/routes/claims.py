"""Claims: one desk per scan. `POST /v1/scans/{id}/claim` and `DELETE /v1/scans/{id}/claim`.

Several desks and a kiosk may watch the same scanner. A desk that takes a patient's scan claims
it: the first client to claim a scan gets it (200), every other one is told who has it and since
when (409 `already_claimed`). `GET /v1/scans/next?claim=CLIENT` (in `api.routes.scans`) claims
the next scan for one waiter. Every change is announced on the event stream (`event: claim`).

The service (`ScanService.claim`, `release`) owns claims; these routes translate its errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, StateDep, store_call_error
from api.errors import ApiError, ErrorDetail, responses
from api.routes.scans import ScanId
from scanner_agent.claims import (
    CLIENT_PATTERN,
    AlreadyClaimed,
    ClaimError,
    ClaimFields,
    InvalidClient,
)
from scanner_agent.storage import StorageError

router = APIRouter(
    prefix="/scans",
    tags=["claims"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 422),
)

_CLIENT_DESCRIPTION = (
    "The client's name: a desk, a kiosk, a GAP workstation (not a person). 1 to 64 letters, "
    "digits, `.`, `_`, `:` or `-`, starting with a letter or digit; otherwise 422 "
    "`invalid_client`."
)
_CLIENT_SCHEMA: dict[str, Any] = {"pattern": CLIENT_PATTERN, "maxLength": 64}
"""Checked by the service (`check_client`), so that a bad name has its own code."""

ClientQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        json_schema_extra=_CLIENT_SCHEMA,
        description="Release only if this client holds the claim (409 `already_claimed` "
        "otherwise). Without it, whoever holds the claim loses it.",
    ),
]


class ClaimRequest(BaseModel):
    """Who claims the scan."""

    model_config = ConfigDict(extra="forbid")

    client: Annotated[str, Field(description=_CLIENT_DESCRIPTION, json_schema_extra=_CLIENT_SCHEMA)]


class Claimed(BaseModel):
    """The claim this request holds (the claim of `POST .../claim`)."""

    scan_id: str
    claimed_by: str
    """The client that holds the scan: the one that asked."""
    claimed_at: datetime
    """Since when (UTC): the first claim's time when the same client claims again."""


class ClaimConflictDetail(ErrorDetail):
    claimed_by: str
    """The client that holds the scan."""
    claimed_at: datetime
    """Since when (UTC)."""


class ClaimConflict(BaseModel):
    """409 `already_claimed`: the error object says who holds the scan and since when."""

    error: ClaimConflictDetail


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ClaimConflict,
        "description": "`already_claimed`: another client holds the scan (`claimed_by`, "
        "`claimed_at` in the error object)",
    }
}


def claim_error(exc: ClaimError) -> ApiError:
    """A claim error as the API answers it."""
    if isinstance(exc, AlreadyClaimed):
        held = exc.claim
        fields = ClaimFields(claimed_by=held.claimed_by, claimed_at=held.claimed_at)
        return ApiError(
            409,
            exc.code,
            f"this scan is already claimed by {held.claimed_by}",
            extra=fields.model_dump(mode="json"),
        )
    if isinstance(exc, InvalidClient):
        return ApiError(422, exc.code, str(exc))
    return ApiError(404, exc.code, "no scan has this id (erased, or past the retention)")


@router.post(
    "/{scan_id}/claim",
    summary="Claim a scan for one client (one desk per scan)",
    description="The first client to claim the scan gets it: 200 with the claim. The same "
    "client claiming it again gets the same claim (its first `claimed_at`). Any other client "
    "gets 409 `already_claimed`, with `claimed_by` and `claimed_at` in the error object. The "
    "scan's JSON then shows `claimed_by` and `claimed_at`, and the event stream announces the "
    "claim (`event: claim`).",
    responses={**_CONFLICT, **responses(404, 415, 503)},
)
async def claim_scan(
    scan_id: ScanId, request: Annotated[ClaimRequest, Body()], state: StateDep
) -> Claimed:
    try:
        claim = await run_in_threadpool(state.scans.claim, scan_id, request.client)
    except ClaimError as exc:
        raise claim_error(exc) from None
    except StorageError as exc:
        raise store_call_error(exc) from exc
    return Claimed(scan_id=claim.scan_id, claimed_by=claim.claimed_by, claimed_at=claim.claimed_at)


@router.delete(
    "/{scan_id}/claim",
    summary="Release a scan's claim",
    description="Whoever holds the claim loses it (a supervisor frees a desk's scan), or, with "
    "`client`, only when that client holds it. 204 also when the scan was not claimed. The "
    "event stream announces the release (`event: claim` with `claimed_by` null).",
    status_code=204,
    response_class=Response,
    responses={**_CONFLICT, **responses(404, 415, 503)},
)
async def release_scan(scan_id: ScanId, state: StateDep, client: ClientQuery = None) -> Response:
    try:
        await run_in_threadpool(state.scans.release, scan_id, client)
    except ClaimError as exc:
        raise claim_error(exc) from None
    except StorageError as exc:
        raise store_call_error(exc) from exc
    return Response(status_code=204)

"""`GET /v1/events` (server-sent events) and `POST /v1/events/ticket` (for browsers).

Each event has an id `<boot>-<seq>` (see `api.hub`); `event: scan` carries a `Scan`, `event:
device` a `DeviceStatus`. Reconnect with the `Last-Event-ID` header (or `?last_event_id=` when
opening a new EventSource with a new ticket) to get what was missed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import Authenticated, StateDep, require_token_or_ticket
from api.errors import responses

router = APIRouter(prefix="/events", tags=["events"])


class Ticket(BaseModel):
    ticket: str
    """Open `GET /v1/events?ticket=...` with it, once, before it expires."""
    expires_in: float
    """Seconds."""


@router.post(
    "/ticket",
    summary="A single-use ticket for one event stream",
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 415),
)
async def new_ticket(state: StateDep) -> Ticket:
    return Ticket(ticket=state.tickets.issue(), expires_in=state.tickets.ttl_s)


@router.get(
    "",
    summary="Scans and device changes as server-sent events",
    dependencies=[Depends(require_token_or_ticket)],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "An endless event stream",
        },
        **responses(400, 401, 403, 422),
    },
)
async def events(
    state: StateDep,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=64,
            description="Same as the Last-Event-ID header, for a new EventSource.",
        ),
    ] = None,
) -> StreamingResponse:
    hub = state.require_hub()
    stream = hub.stream(last_event_id or last_event_id_query, state.settings.api.sse_keepalive_s)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

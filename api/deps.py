"""What routes need, as typed `Depends` aliases: the agent state, the scans service, the token
checks.

@router.get("/scans/latest")
def latest(state: StateDep) -> Scan: ...
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.hub import Hub
from api.security import TicketBook, Token
from scanner_agent.agent import Agent
from scanner_agent.config import Settings
from scanner_agent.file_decoding import DecodePool
from scanner_agent.metrics import EventCounts
from scanner_agent.scans import ScanService
from scanner_agent.storage import StorageError


@dataclass
class ApiState:
    """Everything the routes share, built by `create_app` and started by its lifespan."""

    settings: Settings
    agent: Agent
    token: Token
    tickets: TicketBook
    counts: EventCounts
    port: int
    hub: Hub | None = None
    started_at: float = field(default_factory=time.time)

    @property
    def scans(self) -> ScanService:
        """The agent's scans service: every read and erasure of scans goes through it."""
        return self.agent.scans

    @cached_property
    def decode_pool(self) -> DecodePool:
        """Where uploads are decoded: `[decoder] max_concurrent_uploads` workers."""
        return DecodePool(self.settings.decoder.max_concurrent_uploads)

    def require_hub(self) -> Hub:
        if self.hub is None:
            raise ApiError(503, "not_ready", "the agent is starting")
        return self.hub


async def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]

_bearer = HTTPBearer(auto_error=False, description="The agent's token (`scanner-agent token`).")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def require_token(state: StateDep, credentials: BearerDep) -> None:
    """Every endpoint but health: `Authorization: Bearer <token>`."""
    if credentials is None:
        raise ApiError(
            401,
            "token_missing",
            "send `Authorization: Bearer <token>`",
            {"WWW-Authenticate": "Bearer"},
        )
    if not state.token.matches(credentials.credentials):
        raise ApiError(401, "token_invalid", "wrong token", {"WWW-Authenticate": "Bearer"})


async def require_token_or_ticket(
    state: StateDep,
    credentials: BearerDep,
    ticket: Annotated[
        str | None,
        Query(max_length=128, description="A ticket from `POST /v1/events/ticket` (browsers)."),
    ] = None,
) -> None:
    """The event stream: the bearer token, or a single-use ticket in the URL."""
    if ticket is not None:
        state.tickets.redeem(ticket)
        return
    await require_token(state, credentials)


def store_call_error(exc: StorageError) -> ApiError:
    return ApiError(503, exc.code, f"{exc}; scans still reach live clients")


Authenticated = [Depends(require_token)]

_QUERY_NAMES = "_scanner_agent_query_names"  # cached on each route object


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def reject_unknown_query(request: Request) -> None:
    """A misspelt parameter is an error, not ignored: `DELETE /v1/scans?devcie=x` must not
    erase every scan."""
    route = request.scope.get("route")
    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    allowed: frozenset[str] | None = getattr(route, _QUERY_NAMES, None)
    if allowed is None:
        allowed = _query_names(dependant)
        setattr(route, _QUERY_NAMES, allowed)
    for name in request.query_params:
        shown = name if name.isidentifier() and len(name) <= 32 else "(unprintable)"
        if name not in allowed:
            raise ApiError(422, "unknown_parameter", f"unknown query parameter {shown}")
        if len(request.query_params.getlist(name)) > 1:
            raise ApiError(422, "repeated_parameter", f"query parameter {shown} given twice")


DISCONNECT_POLL_S = 0.5
"""How often a long request (a decode, a long poll, a test-card step) asks whether its client is
still there."""


async def done_unless_gone(
    request: Request, waiting: asyncio.Future[Any], timeout_s: float | None = None
) -> bool:
    """Wait for `waiting`: True once it is done, False as soon as the client has closed its
    connection (asked every `DISCONNECT_POLL_S`); TimeoutError after `timeout_s`. It cancels
    nothing: what a client gone means for the work is the caller's to say."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while True:
        poll = DISCONNECT_POLL_S
        if deadline is not None:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            poll = min(left, poll)
        done, _ = await asyncio.wait({waiting}, timeout=poll)
        if done:
            return True
        if await request.is_disconnected():
            return False

"""`create_app(settings, agent=None)`: the FastAPI application, its lifespan and its guards.

    app = create_app(load_settings())
    uvicorn.run(app, host=settings.api.host, port=settings.api.port)

The lifespan subscribes the API's hub and the metrics counters to the bus, then starts the agent
(its scans service, which picks this run's `boot` id and starts writing, its pipeline and its
devices); on the way out it stops them in reverse. The agent, not the API, owns the scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from api.deps import ApiState, reject_unknown_query
from api.errors import install_error_handlers
from api.hub import Hub
from api.routes import (
    attestations,
    claims,
    decode,
    devices,
    events,
    health,
    indicators,
    metrics,
    page,
    parse,
    scans,
    selftest,
)
from api.security import Guard, TicketBook, allowed_hosts, load_token, own_origins
from scanner_agent import __version__
from scanner_agent.agent import Agent
from scanner_agent.config import Settings
from scanner_agent.metrics import EventCounts

log = logging.getLogger(__name__)

DESCRIPTION = """\
Scans of AMC tiers-payant attestations for the GAP and kiosks, on this workstation only.

Every endpoint but `/v1/health` needs `Authorization: Bearer <token>` (`scanner-agent token`).
Browsers open `/v1/events` with a single-use ticket (`POST /v1/events/ticket`). Errors are
`{"error": {"code", "message"}}`: branch on `code`.
"""


def create_app(settings: Settings, agent: Agent | None = None) -> FastAPI:
    agent = agent or Agent(settings)
    port = settings.api.port
    hosts = allowed_hosts(settings, port)
    state = ApiState(
        settings=settings,
        agent=agent,
        token=load_token(settings),
        tickets=TicketBook(settings.api.ticket_ttl_s),
        counts=EventCounts(agent.bus, protocols=agent.scans.counter.protocols),
        port=port,
    )

    app = FastAPI(
        title="scanner-agent",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        dependencies=[Depends(reject_unknown_query)],
    )
    app.state.api = state
    install_error_handlers(app)
    for module in (
        health,
        devices,
        scans,
        claims,
        events,
        parse,
        attestations,
        decode,
        selftest,
        indicators,
    ):
        app.include_router(module.router, prefix="/v1")
    app.include_router(metrics.router)
    # the operator page, at /, and the kiosk's screen, at /kiosk
    app.include_router(page.make_router(kiosk=settings.kiosk, max_wait_s=settings.api.max_wait_s))
    app.add_middleware(
        Guard,
        hosts=hosts,
        origins=own_origins(hosts) | frozenset(settings.api.allowed_origins),
        token=state.token,
        max_body_bytes=settings.api.max_body_bytes,
        max_upload_bytes=settings.api.max_upload_bytes,
    )
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ApiState = app.state.api
    settings = state.settings
    context = state.agent.context
    hub = Hub(
        state.agent.bus,
        state.agent.scans,
        replay_events=settings.api.replay_events,
        judge=lambda text: context.decide_scan_json(text, context.cover()),
    )
    hub.subscribe()
    state.counts.subscribe()
    counting = asyncio.create_task(state.counts.run(), name="metrics")
    await hub.start()
    state.hub = hub
    await run_in_threadpool(state.agent.start)
    log.info(
        "API on port %d; storage %s; %d device(s)",
        state.port,
        state.scans.storage().where,
        len(settings.devices),
    )
    try:
        yield
    finally:
        await run_in_threadpool(state.agent.stop)
        if "decode_pool" in vars(state):  # made on the first upload
            state.decode_pool.close()
        await hub.stop()
        state.counts.close()
        with contextlib.suppress(asyncio.CancelledError):
            await counting

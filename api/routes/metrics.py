"""`GET /metrics`: Prometheus text format, for the hospital's supervision."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import Authenticated, StateDep
from api.errors import responses
from api.metrics import (
    Family,
    counts_families,
    device_families,
    referential_families,
    render,
)

router = APIRouter(
    tags=["metrics"], dependencies=Authenticated, responses=responses(400, 401, 403, by_ref=True)
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    summary="Counters in the Prometheus text format",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: StateDep) -> PlainTextResponse:
    families = [*counts_families(state.counts.snapshot()), *device_families(state.agent.devices())]
    storage = state.scans.storage()
    up = Family("scanner_agent_storage_up", "gauge", "1 while the database accepts writes.")
    pending = Family("scanner_agent_storage_pending", "gauge", "Scans waiting to be written.")
    failures = Family("scanner_agent_storage_errors_total", "counter", "Failed database writes.")
    lost = Family(
        "scanner_agent_storage_dropped_total",
        "counter",
        "Scans never written: the backlog overflowed while the database failed.",
    )
    unexpected = Family(
        "scanner_agent_storage_unexpected_errors_total",
        "counter",
        "Failures of the storage writer that were not the database's (counted in errors too).",
    ).add(storage.unexpected)
    replaced = Family(
        "scanner_agent_storage_replaced_total",
        "counter",
        "Times the SQLite file was found deleted or replaced while in use (then recreated).",
    ).add(storage.replaced)
    up.add(1 if storage.state == "ok" else 0)
    pending.add(storage.pending)
    failures.add(storage.failures)
    lost.add(storage.dropped)
    dropped = Family(
        "scanner_agent_bus_dropped_total",
        "counter",
        "Events a slow subscriber lost, by subscriber.",
    )
    for sub in state.agent.bus.subscriptions():
        if sub.name in ("api", "metrics"):
            dropped.add(sub.dropped, subscriber=sub.name)
    clients = Family("scanner_agent_event_streams", "gauge", "Connected event streams.")
    clients.add(state.hub.clients if state.hub else 0)
    published = Family("scanner_agent_bus_events_total", "counter", "Events published on the bus.")
    published.add(state.agent.bus.published)
    families += [up, pending, failures, unexpected, replaced, lost, dropped, clients, published]
    families += referential_families(state.agent.referential_status())
    return PlainTextResponse(render(families), media_type=CONTENT_TYPE)

"""Long-poll and server-sent events against a real uvicorn on a free port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from scanner_agent.bus import DeviceEvent, UnreadableEvent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import DeviceStatus, Scan
from tests.helpers.api import EventReader, LiveFactory, LiveServer, make_scan, until, wait_stored


def bus_of(server: LiveServer) -> Any:
    return server.app.state.api.agent.bus


def publish(server: LiveServer, scan: Scan) -> None:
    """As the pipeline does: recorded by the scans service, which publishes it."""
    server.app.state.api.agent.scans.record(scan)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


def test_many_waiters_each_get_the_next_scan(live: LiveFactory, context: ParseContext):
    server = live()
    scan = make_scan(context)

    async def go() -> None:
        async with server.client(timeout=15) as client:
            tasks = [
                asyncio.create_task(client.get("/v1/scans/next", params={"timeout": 10}))
                for _ in range(8)
            ]
            await until(lambda: server.app.state.api.hub.waiters == 8)
            publish(server, scan)
            responses = await asyncio.gather(*tasks)
        assert [r.status_code for r in responses] == [200] * 8
        assert {r.json()["id"] for r in responses} == {scan.id}
        await until(lambda: server.app.state.api.hub.waiters == 0)  # every waiter let go of the bus

    run(go)


def test_next_filters_by_device_and_times_out(live: LiveFactory, context: ParseContext):
    server = live()
    desk, kiosk = make_scan(context, device="desk"), make_scan(context, device="kiosk")

    async def go() -> None:
        async with server.client(timeout=15) as client:
            waiting = asyncio.create_task(
                client.get("/v1/scans/next", params={"timeout": 10, "device": "kiosk"})
            )
            await until(lambda: server.app.state.api.hub.waiters == 1)
            publish(server, desk)
            publish(server, kiosk)
            assert (await waiting).json()["id"] == kiosk.id
            nothing = await client.get("/v1/scans/next", params={"timeout": 0.05})
            assert nothing.status_code == 204
            assert nothing.content == b""
            too_long = await client.get("/v1/scans/next", params={"timeout": 3600})
            assert too_long.status_code == 422

    run(go)


def test_events_stream_scans_and_device_changes(live: LiveFactory, context: ParseContext):
    server = live()
    scan = make_scan(context)
    status = DeviceStatus(id="desk", type="serial", state="connected")

    async def go() -> None:
        async with server.client(timeout=15) as client, client.stream("GET", "/v1/events") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            reader = EventReader(r)
            await reader.opened()
            publish(server, scan)
            bus_of(server).publish(DeviceEvent(status))
            first, second = await reader.next(2)
        assert first["event"] == "scan"
        assert json.loads(first["data"])["id"] == scan.id
        assert second["event"] == "device"
        assert json.loads(second["data"])["state"] == "connected"
        boot = server.app.state.api.hub.boot
        assert first["id"] == f"{boot}-1"
        assert second["id"] == f"{boot}-2"

    run(go)


def test_reconnecting_with_last_event_id_gets_what_was_missed(
    live: LiveFactory, context: ParseContext
):
    server = live()
    scans = [make_scan(context) for _ in range(4)]

    async def go() -> None:
        async with server.client(timeout=15) as client:
            async with client.stream("GET", "/v1/events") as r:
                reader = EventReader(r)
                await reader.opened()
                publish(server, scans[0])
                (seen,) = await reader.next()
            await until(lambda: server.app.state.api.hub.clients == 0)
            publish(server, scans[1])  # while disconnected
            bus_of(server).publish(DeviceEvent(DeviceStatus(id="desk", type="serial")))
            publish(server, scans[2])
            headers = {"Last-Event-ID": seen["id"]}
            async with client.stream("GET", "/v1/events", headers=headers) as r:
                reader = EventReader(r)
                missed = await reader.next(3)
                publish(server, scans[3])
                (live_event,) = await reader.next()
        assert [e["event"] for e in missed] == ["scan", "device", "scan"]
        assert [json.loads(e["data"]).get("id") for e in missed] == [
            scans[1].id,
            "desk",
            scans[2].id,
        ]
        assert json.loads(live_event["data"])["id"] == scans[3].id  # and then live, no duplicate

    run(go)


def test_code_unreadable_is_streamed_live_never_replayed_and_next_ignores_it(
    live: LiveFactory, context: ParseContext
):
    server = live()
    place = ((10, 20), (60, 20), (60, 70), (10, 70))
    at = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
    scans = [make_scan(context) for _ in range(2)]

    async def go() -> None:
        async with server.client(timeout=15) as client:
            async with client.stream("GET", "/v1/events") as r:
                reader = EventReader(r)
                await reader.opened()
                waiting = asyncio.ensure_future(client.get("/v1/scans/next", params={"timeout": 9}))
                await until(lambda: server.app.state.api.hub.waiters == 1)
                bus_of(server).publish(UnreadableEvent("cam", at, (place,)))
                publish(server, scans[0])
                unreadable, scan = await reader.next(2)
                # the waiter on /v1/scans/next was not woken by the unreadable code: the scan
                assert (await waiting).json()["id"] == scans[0].id
            assert unreadable["event"] == "code_unreadable"
            assert unreadable["id"] == f"{server.app.state.api.hub.boot}-1"
            assert json.loads(unreadable["data"]) == {
                "device_id": "cam",
                "at": "2026-03-01T09:30:15Z",
                "message": "code détecté mais illisible : rapprochez / éclairez",
                "positions": [[[10, 20], [60, 20], [60, 70], [10, 70]]],
            }
            assert scan["event"] == "scan"
            await until(lambda: server.app.state.api.hub.clients == 0)
            # missed while away: the scan is replayed, the unreadable code is not (stale advice)
            bus_of(server).publish(UnreadableEvent("cam", at))
            publish(server, scans[1])
            headers = {"Last-Event-ID": unreadable["id"]}
            async with client.stream("GET", "/v1/events", headers=headers) as r:
                reader = EventReader(r)
                missed = await reader.next(2)  # the scan already seen, then the one missed
        assert [e["event"] for e in missed] == ["scan", "scan"]
        assert [json.loads(e["data"])["id"] for e in missed] == [scans[0].id, scans[1].id]

    run(go)


def test_a_browser_opens_the_stream_with_a_single_use_ticket(live: LiveFactory):
    server = live()

    async def go() -> None:
        async with server.client(timeout=15) as client:
            ticket = (
                await client.post("/v1/events/ticket", headers={"Content-Type": "application/json"})
            ).json()["ticket"]
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as browser:
            async with browser.stream("GET", "/v1/events", params={"ticket": ticket}) as r:
                assert r.status_code == 200
                await EventReader(r).opened()
            reused = await browser.get("/v1/events", params={"ticket": ticket})
            assert reused.status_code == 401
            assert reused.json()["error"]["code"] == "ticket_invalid"
            none = await browser.get("/v1/events")
            assert none.json()["error"]["code"] == "token_missing"

    run(go)


def test_reconnecting_after_a_restart_replays_from_storage(
    live: LiveFactory, context: ParseContext
):
    first = live()
    scans = [make_scan(context) for _ in range(3)]

    async def before() -> str:
        async with first.client(timeout=15) as client, client.stream("GET", "/v1/events") as r:
            reader = EventReader(r)
            await reader.opened()
            publish(first, scans[0])
            (seen,) = await reader.next()
            for scan in scans[1:]:
                publish(first, scan)  # the client has gone before it sees these
        return seen["id"]

    last_id = asyncio.run(before())
    wait_stored(first.app, 3)
    first.__exit__(None, None, None)

    second = live()  # the same data folder, a new run of the agent
    assert second.app.state.api.hub.boot > first.app.state.api.hub.boot
    later = make_scan(context)

    async def after() -> None:
        headers = {"Last-Event-ID": last_id}
        async with (
            second.client(timeout=15) as client,
            client.stream("GET", "/v1/events", headers=headers) as r,
        ):
            reader = EventReader(r)
            replayed = await reader.next(2)
            publish(second, later)
            (now,) = await reader.next()
        assert [json.loads(e["data"])["id"] for e in replayed] == [scans[1].id, scans[2].id]
        boot = first.app.state.api.hub.boot
        assert [e["id"] for e in replayed] == [f"{boot}-2", f"{boot}-3"]  # ids kept
        assert json.loads(now["data"])["id"] == later.id
        assert now["id"].startswith(f"{second.app.state.api.hub.boot}-")

    run(after)


def test_an_unknown_last_event_id_says_the_replay_is_incomplete(live: LiveFactory):
    server = live()

    async def go() -> None:
        headers = {"Last-Event-ID": "not-an-id"}
        async with (
            server.client(timeout=15) as client,
            client.stream("GET", "/v1/events", headers=headers) as r,
        ):
            (event,) = await EventReader(r).next()
        assert event["event"] == "replay_incomplete"
        assert json.loads(event["data"])["code"] == "replay_incomplete"

    run(go)

"""Claims through the API: `POST`/`DELETE /v1/scans/{id}/claim` (200, 409 with who and when,
404, 422, 204), the claim in every scan read, `event: claim` on the stream and its replay, and
`/v1/scans/next?claim=` waiters on a real uvicorn: exactly one of them gets each scan."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.parse_context import ParseContext
from tests.helpers.api import (
    BASE,
    OTHER,
    EventReader,
    LiveFactory,
    LiveServer,
    auth,
    make_scan,
    publish,
    until,
    wait_stored,
)


def claim(client: TestClient, scan_id: str, name: Any) -> httpx.Response:
    return client.post(f"/v1/scans/{scan_id}/claim", json={"client": name})


def claims_shown(client: TestClient, scan_id: str) -> set[tuple[Any, Any]]:
    """The claim as `GET /v1/scans/{id}`, `/latest` and the list serve it (one when they agree)."""
    bodies = [client.get(f"/v1/scans/{scan_id}").json(), client.get("/v1/scans/latest").json()]
    bodies += [s for s in client.get("/v1/scans").json() if s["id"] == scan_id]
    return {(b["claimed_by"], b["claimed_at"]) for b in bodies}


def test_first_client_gets_the_scan_the_others_are_told_who_has_it(
    client: TestClient, context: ParseContext
):
    scan = make_scan(context)
    publish(client.app, scan)  # type: ignore[arg-type]
    assert claims_shown(client, scan.id) == {(None, None)}

    first = claim(client, scan.id, "desk-1")
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"scan_id", "claimed_by", "claimed_at"}
    assert (body["scan_id"], body["claimed_by"]) == (scan.id, "desk-1")
    at = body["claimed_at"]
    assert datetime.fromisoformat(at).utcoffset() is not None  # UTC, with its zone
    assert claims_shown(client, scan.id) == {("desk-1", at)}

    assert claim(client, scan.id, "desk-1").json() == body  # again: the same claim
    refused = claim(client, scan.id, "desk-2")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["claimed_by"], error["claimed_at"]) == (
        "already_claimed",
        "desk-1",
        at,
    )
    assert error["message"]

    not_yours = client.delete(f"/v1/scans/{scan.id}/claim", params={"client": "desk-2"})
    assert not_yours.status_code == 409
    assert not_yours.json()["error"]["claimed_by"] == "desk-1"
    released = client.delete(f"/v1/scans/{scan.id}/claim")
    assert (released.status_code, released.content) == (204, b"")
    assert claims_shown(client, scan.id) == {(None, None)}
    assert client.delete(f"/v1/scans/{scan.id}/claim").status_code == 204  # not claimed: fine
    assert claim(client, scan.id, "desk-2").json()["claimed_by"] == "desk-2"
    mine = client.delete(f"/v1/scans/{scan.id}/claim", params={"client": "desk-2"})
    assert mine.status_code == 204


def test_unknown_and_erased_scans_are_404(client: TestClient, context: ParseContext):
    scan = make_scan(context)
    publish(client.app, scan)  # type: ignore[arg-type]
    assert claim(client, scan.id, "desk-1").status_code == 200
    assert client.delete(f"/v1/scans/{scan.id}").status_code == 204  # erased, with its claim
    for response in (
        claim(client, scan.id, "desk-1"),
        claim(client, "nope", "desk-1"),
        client.delete(f"/v1/scans/{scan.id}/claim"),
        client.delete("/v1/scans/nope/claim"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "scan_not_found"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (("POST", {"json": {"client": "desk 1"}}), "invalid_client"),
        (("POST", {"json": {"client": ""}}), "invalid_client"),
        (("POST", {"json": {"client": "x" * 65}}), "invalid_client"),
        (("POST", {"json": {"client": "-desk"}}), "invalid_client"),
        (("POST", {"json": {}}), "invalid_request"),
        (("POST", {"json": {"client": 12}}), "invalid_request"),
        (("POST", {"json": {"client": "desk-1", "who": "x"}}), "invalid_request"),
        (("DELETE", {"params": {"client": "desk/1"}}), "invalid_client"),
    ],
)
def test_bad_claims_are_422_with_a_stable_code(
    client: TestClient, context: ParseContext, request_: tuple[str, dict[str, Any]], code: str
):
    scan = make_scan(context)
    publish(client.app, scan)  # type: ignore[arg-type]
    method, kwargs = request_
    response = client.request(method, f"/v1/scans/{scan.id}/claim", **kwargs)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert client.get(f"/v1/scans/{scan.id}").json()["claimed_by"] is None


def test_next_refuses_a_bad_client_name(client: TestClient):
    response = client.get("/v1/scans/next", params={"timeout": 0, "claim": "desk 1"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_client"


def test_a_claim_needs_a_json_body(client: TestClient, context: ParseContext):
    scan = make_scan(context)
    publish(client.app, scan)  # type: ignore[arg-type]
    url = f"/v1/scans/{scan.id}/claim"
    response = client.post(url, content=b"client=desk-1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_claims_are_kept_across_a_restart(settings: Any, context: ParseContext):
    scan = make_scan(context)
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as first:
        publish(app, scan)
        at = claim(first, scan.id, "desk-1").json()["claimed_at"]
        wait_stored(app, 1)
    again = create_app(settings, Agent(settings, context=context))
    with TestClient(again, base_url=BASE, headers=auth(again)) as second:
        assert claims_shown(second, scan.id) == {("desk-1", at)}
        assert claim(second, scan.id, "desk-2").json()["error"]["claimed_at"] == at


def test_the_schema_documents_claims(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    post = paths["/v1/scans/{scan_id}/claim"]["post"]
    assert {"200", "404", "409", "422"} <= set(post["responses"])
    assert post["summary"]
    delete = paths["/v1/scans/{scan_id}/claim"]["delete"]
    assert {"204", "404", "409"} <= set(delete["responses"])
    assert "claim" in {p["name"] for p in paths["/v1/scans/next"]["get"]["parameters"]}


# --- a real uvicorn -------------------------------------------------------------------------


def run(go: Any) -> None:
    asyncio.run(go())


def waiters(server: LiveServer) -> int:
    return int(server.app.state.api.hub.waiters)


def test_concurrent_claim_waiters_get_one_scan_each(live: LiveFactory, context: ParseContext):
    """Several desks wait on `/next?claim=` at once: a scan goes to exactly one of them, the
    others keep waiting and get 204 at their timeout; a kiosk waiting without `claim` gets it
    too. Then two scans go to two different desks, and a scan already claimed to none."""
    server = live()
    scans = server.app.state.api.agent.scans
    one, two, three = make_scan(context), make_scan(context, OTHER), make_scan(context)
    taken = make_scan(context).model_copy(
        update={"claimed_by": "desk-9", "claimed_at": one.received_at}
    )

    async def wait_all(client: httpx.AsyncClient, names: list[str]) -> list[httpx.Response]:
        tasks = [
            asyncio.create_task(
                client.get("/v1/scans/next", params={"timeout": 1.5, "claim": name})
            )
            for name in names
        ]
        return await asyncio.gather(*tasks)  # type: ignore[no-any-return]

    async def go() -> None:
        async with server.client(timeout=15) as client:
            desks = asyncio.create_task(wait_all(client, [f"desk-{i}" for i in range(4)]))
            kiosk = asyncio.create_task(client.get("/v1/scans/next", params={"timeout": 10}))
            await until(lambda: waiters(server) == 5)
            scans.record(one)
            first = await desks
            shown = await kiosk
            assert shown.status_code == 200 and shown.json()["id"] == one.id
            assert sorted(r.status_code for r in first) == [200, 204, 204, 204]
            (winner,) = [r for r in first if r.status_code == 200]
            assert winner.json()["id"] == one.id
            holder = winner.json()["claimed_by"]
            assert holder in {f"desk-{i}" for i in range(4)}
            assert str(winner.request.url).endswith(f"claim={holder}")  # its own name
            assert (await client.get(f"/v1/scans/{one.id}")).json()["claimed_by"] == holder
            await until(lambda: waiters(server) == 0)

            desks = asyncio.create_task(wait_all(client, ["desk-1", "desk-2", "desk-3"]))
            await until(lambda: waiters(server) == 3)
            scans.record(taken)  # claimed before any waiter saw it: nobody gets it
            scans.record(two)
            scans.record(three)
            second = await desks
        assert sorted(r.status_code for r in second) == [200, 200, 204]
        won = [r.json() for r in second if r.status_code == 200]
        assert {s["id"] for s in won} == {two.id, three.id}
        assert len({s["claimed_by"] for s in won}) == 2  # two different desks

    run(go)


def test_two_waiters_with_the_same_name_do_not_both_get_a_scan(
    live: LiveFactory, context: ParseContext
):
    server = live()
    scan = make_scan(context)

    async def go() -> None:
        async with server.client(timeout=15) as client:
            tasks = [
                asyncio.create_task(
                    client.get("/v1/scans/next", params={"timeout": 1.5, "claim": "desk-1"})
                )
                for _ in range(2)
            ]
            await until(lambda: waiters(server) == 2)
            server.app.state.api.agent.scans.record(scan)
            responses = await asyncio.gather(*tasks)
        assert sorted(r.status_code for r in responses) == [200, 204]

    run(go)


def test_the_stream_announces_claims_and_replays_them(live: LiveFactory, context: ParseContext):
    server = live()
    scan = make_scan(context)

    async def go() -> None:
        async with server.client(timeout=15) as client:
            async with client.stream("GET", "/v1/events") as r:
                reader = EventReader(r)
                await reader.opened()
                server.app.state.api.agent.scans.record(scan)
                claimed = await client.post(f"/v1/scans/{scan.id}/claim", json={"client": "d-1"})
                await client.delete(f"/v1/scans/{scan.id}/claim")
                events = await reader.next(3)
            assert [e["event"] for e in events] == ["scan", "claim", "claim"]
            assert json.loads(events[1]["data"]) == claimed.json()
            assert json.loads(events[2]["data"]) == {
                "scan_id": scan.id,
                "claimed_by": None,
                "claimed_at": None,
            }
            boot = server.app.state.api.hub.boot
            seqs = [int(e["id"].removeprefix(f"{boot}-")) for e in events]
            assert seqs == sorted(seqs)

            await until(lambda: server.app.state.api.hub.clients == 0)
            await client.post(f"/v1/scans/{scan.id}/claim", json={"client": "d-2"})  # missed
            headers = {"Last-Event-ID": events[0]["id"]}
            async with client.stream("GET", "/v1/events", headers=headers) as r:
                missed = await EventReader(r).next(3)
        assert [e["event"] for e in missed] == ["claim", "claim", "claim"]
        assert [json.loads(e["data"])["claimed_by"] for e in missed] == ["d-1", None, "d-2"]
        assert [e["id"] for e in missed[:2]] == [events[1]["id"], events[2]["id"]]

    run(go)


def test_a_waiter_whose_client_went_away_takes_no_scan(live: LiveFactory, context: ParseContext):
    """A kiosk reloaded (or a desk giving up) while its `/next?claim=` waits: the agent notices
    the closed connection and stops waiting, so the next scan goes to a client still there
    rather than being claimed for nobody."""
    server = live()
    scan = make_scan(context)

    async def go() -> None:
        async with server.client(timeout=30) as client:
            params = {"timeout": 25, "claim": "kiosk"}
            reloaded = asyncio.create_task(client.get("/v1/scans/next", params=params))
            await until(lambda: waiters(server) == 1)
            reloaded.cancel()  # the connection is closed under the waiting request
            with contextlib.suppress(asyncio.CancelledError):
                await reloaded
            await until(lambda: waiters(server) == 0)
            again = asyncio.create_task(client.get("/v1/scans/next", params=params))
            await until(lambda: waiters(server) == 1)
            server.app.state.api.agent.scans.record(scan)
            answer = await again
        assert answer.status_code == 200
        assert answer.json()["id"] == scan.id and answer.json()["claimed_by"] == "kiosk"

    run(go)

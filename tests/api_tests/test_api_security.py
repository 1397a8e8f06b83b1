"""The API's defences, through the real app: token, Host, Origin/CORS/PNA, content types,
sizes, tickets, and error bodies without stack traces."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.errors import ApiError
from api.security import TicketBook, load_token
from scanner_agent.cli import main
from scanner_agent.errors import ConfigError
from tests.helpers.api import BASE, GAP_ORIGIN, PORT, SettingsFactory, auth, token_of, wait_until

PROTECTED = [
    ("GET", "/v1/devices"),
    ("GET", "/v1/devices/desk"),
    ("GET", "/v1/scans"),
    ("GET", "/v1/scans/latest"),
    ("GET", "/v1/scans/next?timeout=0"),
    ("GET", "/v1/scans/abc"),
    ("GET", "/v1/events"),
    ("POST", "/v1/events/ticket"),
    ("POST", "/v1/parse"),
    ("POST", "/v1/attestations/validate"),
    ("POST", "/v1/decode"),
    ("DELETE", "/v1/scans/abc"),
    ("DELETE", "/v1/scans"),
    ("GET", "/metrics"),
]
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def code(response: object) -> str:
    value: str = response.json()["error"]["code"]  # type: ignore[attr-defined]
    return value


def send(c: TestClient, method: str, url: str, **kwargs: object) -> object:
    headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
    if method in ("POST", "PUT", "PATCH"):
        headers.setdefault("Content-Type", "application/json")
    return c.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_every_endpoint_but_health_needs_the_token(anon: TestClient, method: str, url: str):
    missing = send(anon, method, url)
    assert missing.status_code == 401  # type: ignore[attr-defined]
    assert code(missing) == "token_missing"
    wrong = send(anon, method, url, headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert code(wrong) == "token_invalid"
    basic = send(anon, method, url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert code(basic) == "token_missing"


def test_health_is_open_and_holds_no_personal_data(anon: TestClient):
    # the storage writer connects in its own thread: "starting" until it has
    wait_until(lambda: anon.get("/v1/health").json()["storage"]["state"] != "starting")
    response = anon.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["storage"]["state"] == "ok"
    assert set(body) == {
        "status",
        "version",
        "uptime_s",
        "devices",
        "storage",
        "referential",
        "roc",
        "indicators",
        "inputs",
    }
    assert set(body["indicators"]) == {"workstation", "export_dir", "last_export", "error"}
    assert body["inputs"] == {
        "watch_dir": None,
        "pending": 0,
        "done": 0,
        "failed": 0,
        "error": None,
    }


@pytest.mark.parametrize("param", ["token", "access_token", "api_key"])
def test_a_token_in_the_url_is_refused(client: TestClient, param: str):
    token = token_of(client.app)  # type: ignore[arg-type]
    for url in (f"/v1/scans?{param}={token}", f"/v1/health?{param}=x"):
        response = client.get(url)
        assert response.status_code == 400
        assert code(response) == "token_in_url"


def test_the_token_value_in_any_parameter_is_refused(client: TestClient):
    token = token_of(client.app)  # type: ignore[arg-type]
    response = client.get(f"/v1/scans?device={token}")
    assert code(response) == "token_in_url"
    assert client.get(f"/v1/events?ticket={token}").status_code == 400


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8765", "127.0.0.1:9999", "localhost", "127.0.0.1.nip.io:8765"],
)
def test_a_forged_host_is_refused(client: TestClient, host: str):
    for path in ("/v1/health", "/v1/scans"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400
        assert code(response) == "host_not_allowed"


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"])
def test_the_agents_own_names_are_accepted(client: TestClient, host: str):
    assert client.get("/v1/scans", headers={"Host": host}).status_code == 200


def test_extra_hosts_by_configuration(make_settings: SettingsFactory):
    from api.app import create_app

    app = create_app(make_settings(api={"allowed_hosts": ["scanner-pc.hopital.local"]}))
    with TestClient(app, base_url=BASE, headers=auth(app)) as c:
        ok = c.get("/v1/health", headers={"Host": f"scanner-pc.hopital.local:{PORT}"})
        assert ok.status_code == 200


@pytest.mark.parametrize("method", EVERY_METHOD)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://127.0.0.1:9999",
        "https://gap.hopital.example.evil.example",
    ],
)
def test_a_foreign_origin_is_refused_on_every_method(client: TestClient, method: str, origin: str):
    for path in ("/v1/scans", "/v1/health", "/v1/parse"):
        headers = {"Origin": origin, "Content-Type": "application/json"}
        response = client.request(method, path, headers=headers)
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers
        if method != "HEAD":
            assert code(response) == "origin_not_allowed"


def test_a_foreign_preflight_gets_no_cors_and_no_private_network(client: TestClient):
    response = client.options(
        "/v1/scans",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 403
    assert "access-control-allow-private-network" not in response.headers
    assert "access-control-allow-origin" not in response.headers


def test_the_allowed_origin_gets_cors_and_private_network_access(client: TestClient):
    response = client.options(
        "/v1/scans",
        headers={
            "Origin": GAP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == GAP_ORIGIN
    assert response.headers["access-control-allow-private-network"] == "true"
    assert "authorization" in response.headers["access-control-allow-headers"]
    get = client.get("/v1/scans", headers={"Origin": GAP_ORIGIN})
    assert get.status_code == 200
    assert get.headers["access-control-allow-origin"] == GAP_ORIGIN
    assert "Origin" in get.headers["vary"]
    refused = client.get("/v1/scans", headers={"Origin": GAP_ORIGIN, "Authorization": "Bearer x"})
    assert refused.status_code == 401  # CORS is not authentication
    assert refused.headers["access-control-allow-origin"] == GAP_ORIGIN  # the GAP sees why


def test_the_agents_own_origin_is_allowed(client: TestClient):
    response = client.get("/v1/scans", headers={"Origin": f"http://localhost:{PORT}"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == f"http://localhost:{PORT}"


def test_wildcard_origins_cannot_be_configured(make_settings: SettingsFactory):
    with pytest.raises(ConfigError, match="allowed_origins"):
        make_settings(api={"allowed_origins": ["*"]})
    with pytest.raises(ConfigError, match="allowed_origins"):
        make_settings(api={"allowed_origins": ["https://gap.example/path"]})


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "text/plain; charset=utf-8", None],
)
def test_state_changing_requests_need_json_or_multipart(
    client: TestClient, content_type: str | None
):
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/v1/parse", "/v1/events/ticket", "/v1/decode"):
        response = client.post(path, content=b'{"payload": "x"}', headers=headers)
        assert response.status_code == 415
        assert code(response) == "unsupported_media_type"
    if content_type:
        deleted = client.request("DELETE", "/v1/scans", content=b"x", headers=headers)
        assert deleted.status_code == 415


def test_oversized_bodies_are_refused(client: TestClient):
    big = b'{"payload": "' + b"A" * 70_000 + b'"}'
    response = client.post("/v1/parse", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert code(response) == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"payload": "'
        for _ in range(20):
            yield b"A" * 8192
        yield b'"}'

    chunked = client.post(
        "/v1/parse", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413


def test_oversized_uploads_are_refused(make_settings: SettingsFactory):
    from api.app import create_app

    app = create_app(make_settings(api={"max_upload_bytes": 4096}))
    with TestClient(app, base_url=BASE, headers=auth(app)) as c:
        response = c.post("/v1/decode", files={"file": ("big.png", b"\x89PNG" + b"\0" * 8000)})
        assert response.status_code == 413
        assert code(response) == "payload_too_large"


def test_errors_have_a_code_and_no_trace(client: TestClient):
    for response in (client.get("/v1/nowhere"), client.put("/v1/scans", json={})):
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message"}
        assert "Traceback" not in response.text
    assert code(client.get("/v1/nowhere")) == "not_found"
    assert code(client.put("/v1/scans", json={})) == "method_not_allowed"


def test_tickets_are_single_use_and_short_lived():
    now = [100.0]
    book = TicketBook(ttl_s=10, clock=lambda: now[0])
    ticket = book.issue()
    book.redeem(ticket)
    with pytest.raises(ApiError) as reused:
        book.redeem(ticket)
    assert reused.value.code == "ticket_invalid"
    late = book.issue()
    now[0] += 10.5
    with pytest.raises(ApiError) as expired:
        book.redeem(late)
    assert expired.value.code == "ticket_expired"
    with pytest.raises(ApiError) as unknown:
        book.redeem("made-up")
    assert unknown.value.code == "ticket_invalid"


def test_outstanding_tickets_are_bounded():
    book = TicketBook(ttl_s=10, limit=3)
    tickets = [book.issue() for _ in range(5)]
    with pytest.raises(ApiError):
        book.redeem(tickets[0])
    book.redeem(tickets[-1])


def test_a_ticket_is_refused_after_use_on_the_api(client: TestClient, anon: TestClient):
    ticket = client.post("/v1/events/ticket", headers={"Content-Type": "application/json"}).json()
    assert ticket["expires_in"] == 10
    client.app.state.api.tickets.redeem(ticket["ticket"])  # type: ignore[attr-defined]
    response = anon.get(f"/v1/events?ticket={ticket['ticket']}")
    assert response.status_code == 401
    assert code(response) == "ticket_invalid"


def test_token_file_created_private_and_env_wins(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    settings = make_settings()
    token = load_token(settings)
    path = Path(token.source)
    assert path == tmp_path / "data" / "api-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(settings).value == token.value  # the same on the next start
    path.chmod(0o644)
    load_token(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("SCANNER_AGENT_TOKEN", "an-environment-token-0123456789")
    assert load_token(settings).value == "an-environment-token-0123456789"
    monkeypatch.setenv("SCANNER_AGENT_TOKEN", "short")
    with pytest.raises(ConfigError, match="too short"):
        load_token(settings)


def test_token_command_prints_the_token(
    make_settings: SettingsFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path / "data"}"\n')
    assert main(["token", "--config", str(config)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == (tmp_path / "data" / "api-token").read_text().strip()
    assert main(["token", "--path", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "data" / "api-token")


def test_websockets_are_closed_at_once(client: TestClient):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/v1/events") as ws:
        ws.receive_text()

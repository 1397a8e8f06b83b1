"""Fixtures of the API and storage tests: settings in a temporary data folder, the real app
(through `TestClient`, or a real uvicorn on a free port), scans to publish, PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pgserver import ENV_URL, PgServer, find_bindir

from api.app import create_app
from scanner_agent.bus import ScanEvent
from scanner_agent.config import Settings, load_settings
from scanner_agent.runtime import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.service import Agent

GS = "\x1d"
VALID = (
    f"]d1AMCTP01{GS}AMC:0775627391{GS}TC:MU{GS}CSR:{GS}ADH:12345678{GS}DD:20260101{GS}DF:20261231"
)
OTHER = "AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630"
GAP_ORIGIN = "https://gap.hopital.example"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TODAY = date(2026, 3, 1)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANNER_AGENT_TOKEN", raising=False)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings over the embedded defaults, the data folder in `tmp_path`."""

    def make(**sections: dict[str, Any]) -> Settings:
        overrides: dict[str, Any] = {
            "agent": {"data_dir": str(tmp_path / "data")},
            "api": {"port": PORT, "allowed_origins": [GAP_ORIGIN]},
        }
        for name, values in sections.items():
            if isinstance(values, dict):
                overrides[name] = {**overrides.get(name, {}), **values}
            else:
                overrides[name] = values
        return load_settings(env={}, overrides=overrides)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


def token_of(app: FastAPI) -> str:
    value: str = app.state.api.token.value
    return value


def auth(app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(app)}"}


@pytest.fixture
def app(settings: Settings, context: ParseContext) -> FastAPI:
    return create_app(settings, Agent(settings, context=context))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The real app, lifespan included, with the token."""
    with TestClient(app, base_url=BASE, headers=auth(app)) as test_client:
        yield test_client


@pytest.fixture
def anon(client: TestClient) -> Iterator[TestClient]:
    """The same running app, without the token."""
    with TestClient(client.app, base_url=BASE) as test_client:
        yield test_client


def make_scan(
    context: ParseContext,
    payload: str = VALID,
    device: str = "desk",
    received_at: datetime | None = None,
) -> Scan:
    return Scan(
        received_at=received_at or datetime.now(UTC),
        device_id=device,
        source="serial",
        symbology="]d1" if payload.startswith("]d1") else None,
        attestation=context.parse(payload.encode(), TODAY),
    )


def publish(app: FastAPI, scan: Scan) -> int:
    """Publish like a device does; the event's bus sequence number."""
    return app.state.api.agent.bus.publish(ScanEvent(scan)).seq


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def wait_stored(app: FastAPI, count: int) -> None:
    wait_until(lambda: app.state.api.writer.written >= count and app.state.api.writer.pending == 0)


class LiveServer:
    """A real uvicorn serving `app` on a free port, in a thread."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=auth(self.app), **kwargs)


LiveFactory = Callable[..., LiveServer]


@pytest.fixture
def live(make_settings: SettingsFactory, context: ParseContext) -> Iterator[LiveFactory]:
    """`live(**sections)`: a started server (stopped at the end of the test)."""
    servers: list[LiveServer] = []

    def start(**sections: dict[str, Any]) -> LiveServer:
        port = free_port()
        api = {"port": port, **sections.pop("api", {})}
        settings = make_settings(api=api, **sections)
        server = LiveServer(create_app(settings, Agent(settings, context=context)), port)
        servers.append(server.__enter__())
        return server

    yield start
    for server in reversed(servers):
        server.__exit__(None, None, None)


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | str]:
    """Our own cluster (a `PgServer`), or the URL of `SCANNER_AGENT_TEST_PG_URL`."""
    import os

    external = os.environ.get(ENV_URL)
    if external:
        yield external
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(f"no PostgreSQL: install the `postgresql` package or set {ENV_URL}")
    server = PgServer(bindir)
    try:
        server.init()
        server.start()
    except (subprocess.CalledProcessError, OSError, KeyError) as exc:
        server.remove()
        pytest.skip(f"could not start a PostgreSQL server ({exc}); set {ENV_URL}")
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server: PgServer | str) -> Iterator[str]:
    url = pg_server if isinstance(pg_server, str) else pg_server.url
    yield url
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scans"))
    engine.dispose()

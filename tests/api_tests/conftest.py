"""Fixtures of the API and storage tests: settings in a temporary data folder, the real app
(through `TestClient`, or a real uvicorn on a free port), PostgreSQL. Helpers they use are in
`tests.helpers.api`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.config import Settings, load_settings
from scanner_agent.parse_context import ParseContext
from tests.helpers.api import (
    BASE,
    GAP_ORIGIN,
    PORT,
    LiveFactory,
    LiveServer,
    SettingsFactory,
    auth,
    free_port,
)
from tests.helpers.pgserver import ENV_URL, PgServer, find_bindir


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANNER_AGENT_TOKEN", raising=False)


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file, then a real PostgreSQL (the same test runs
    on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/scans.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def pg_url(pg_server: PgServer | str) -> Iterator[str]:
    url = pg_server if isinstance(pg_server, str) else pg_server.url
    yield url
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scans"))
        conn.execute(text("DROP TABLE IF EXISTS indicators"))
    engine.dispose()

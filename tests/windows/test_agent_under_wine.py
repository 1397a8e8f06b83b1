"""The whole agent under Windows CPython (run under Wine by `make test-windows`): its packages
import, `serve` starts with the demo device, answers `/v1/health` and serves the demo's scans
on `GET /v1/scans`."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.windows.conftest import WindowsAgent

pytestmark = pytest.mark.skipif(sys.platform != "win32", reason="Windows CPython only")


@pytest.mark.parametrize(
    "module",
    [
        "scanner_agent",
        "scanner_agent.cli",
        "drivers",
        "drivers.hid_keyboard",
        "drivers.rawinput",
        "decoders",
        "api",
        "api.app",
    ],
)
def test_packages_import_on_windows(module: str) -> None:
    importlib.import_module(module)


def test_demo_agent_serves_scans(windows_agent: Callable[[str], WindowsAgent]) -> None:
    agent = windows_agent('[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.5\n')

    status, health = agent.get("/v1/health", token=False)
    assert status == 200
    assert any(d["id"] == "demo" and d["type"] == "demo" for d in health["devices"]), health

    status, body = agent.get("/v1/scans", token=False)
    assert status == 401, body  # the token is needed, and the one given in the environment works

    deadline = time.monotonic() + 60
    scans: list[dict[str, object]] = []
    while time.monotonic() < deadline and not scans:
        status, scans = agent.get("/v1/scans")
        assert status == 200, scans
        time.sleep(0.5)
    assert scans, f"no demo scan in 60 s:\n{agent.log_tail()}"
    assert {scan["device_id"] for scan in scans} == {"demo"}

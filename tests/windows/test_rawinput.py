"""The Raw Input keyboard reader under Wine, for real: the whole agent (`serve`) runs in one
Windows process with a `hid_keyboard` device, a second process types an attestation with
`SendInput` (scan codes, as a US or an AZERTY scanner sends them, then Enter), and the scan is
read back from `GET /v1/scans`.

Wine attributes injected keys to its virtual keyboard, `\\\\?\\HID#VID_845E&PID_0002...` in
`GetRawInputDeviceList`: the scanner is configured by those ids. (Real Windows may give injected
input a null device handle: these tests hold under Wine, not on a desk.) A second device with
other ids gets nothing and says which keyboards Raw Input sees.

Run by a Windows CPython (`make test-windows`), never by the Linux pytest run.
"""

from __future__ import annotations

import sys

import pytest

if sys.platform != "win32":  # the folder is left out of the Linux run; named by hand, say why
    pytest.skip("Windows tests: run them under Wine (make test-windows)", allow_module_level=True)

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers.samples import VALID
from tests.helpers.scancodes import strokes_for

WINE_KEYBOARD = ("845e", "0002")  # Wine's virtual keyboard, to which SendInput is attributed
TEXT = VALID.replace(b"\x1d", b"|").decode()  # keyboard-mode scanners type GS as `|`
START_AGENT = "from scanner_agent.cli import main; raise SystemExit(main())"
START_TIMEOUT_S = 120.0  # Wine on a loaded 2-core machine: the agent takes a while to answer

# The second process: `SendInput` of the key strokes in a JSON file, one key event at a time.
TYPIST = r"""
import ctypes, json, sys, time
from ctypes import wintypes

INPUT_KEYBOARD = 1
KEYEVENTF_EXTENDEDKEY, KEYEVENTF_KEYUP, KEYEVENTF_SCANCODE = 0x1, 0x2, 0x8

class KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]

class MOUSEINPUT(ctypes.Structure):
    _fields_ = [("dx", wintypes.LONG), ("dy", wintypes.LONG), ("mouseData", wintypes.DWORD),
                ("dwFlags", wintypes.DWORD), ("time", wintypes.DWORD),
                ("dwExtraInfo", ctypes.c_size_t)]

class HARDWAREINPUT(ctypes.Structure):
    _fields_ = [("uMsg", wintypes.DWORD), ("wParamL", wintypes.WORD), ("wParamH", wintypes.WORD)]

class INPUTUNION(ctypes.Union):
    _fields_ = [("ki", KEYBDINPUT), ("mi", MOUSEINPUT), ("hi", HARDWAREINPUT)]

class INPUT(ctypes.Structure):
    _fields_ = [("type", wintypes.DWORD), ("u", INPUTUNION)]

user32 = ctypes.WinDLL("user32", use_last_error=True)
user32.SendInput.argtypes = (wintypes.UINT, ctypes.POINTER(INPUT), ctypes.c_int)
user32.SendInput.restype = wintypes.UINT
assert ctypes.sizeof(INPUT) == (40 if ctypes.sizeof(ctypes.c_void_p) == 8 else 28)

for code, e0, up in json.load(open(sys.argv[1])):
    flags = KEYEVENTF_SCANCODE | (KEYEVENTF_EXTENDEDKEY if e0 else 0)
    flags |= KEYEVENTF_KEYUP if up else 0
    event = INPUT(INPUT_KEYBOARD, INPUTUNION(ki=KEYBDINPUT(0, code, flags, 0, 0)))
    if user32.SendInput(1, ctypes.byref(event), ctypes.sizeof(INPUT)) != 1:
        raise SystemExit(f"SendInput failed: {ctypes.get_last_error()}")
    time.sleep(0.002)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Agent:
    """`scanner-agent serve` in a child process, with its own port, token and data folder."""

    def __init__(self, folder: Path, devices: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.token = secrets.token_urlsafe(24)
        config = folder / "agent.toml"
        config.write_text(
            f"[agent]\ndata_dir = '{folder / 'data'}'\n\n[api]\nport = {self.port}\n\n"
            f"[pipeline]\nreconnect_max_s = 1.0\n\n{devices}\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT_")}
        env["SCANNER_AGENT_TOKEN"] = self.token
        self.log = folder / "agent.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", START_AGENT, "serve", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=folder,
            )

    def get(self, path: str, token: bool = True) -> tuple[int, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-40:])
        except OSError:
            return "(no log)"

    def wait_for(self, what: str, found: Any, timeout: float = 60.0) -> Any:
        """The first truthy `found()`; fails with the agent's log at the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the agent stopped ({self.process.returncode}):\n{self.log_tail()}")
            try:
                value = found()
            except OSError:
                value = None
            if value:
                return value
            time.sleep(0.3)
        pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.log_tail()}")

    def device(self, device_id: str) -> dict[str, Any]:
        status, body = self.get(f"/v1/devices/{device_id}")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def scans(self, device_id: str | None = None) -> list[dict[str, Any]]:
        status, body = self.get("/v1/scans" + (f"?device={device_id}" if device_id else ""))
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture
def agent_with(tmp_path: Path) -> Iterator[Any]:
    started: list[Agent] = []

    def start(devices: str) -> Agent:
        agent = Agent(tmp_path, devices)
        started.append(agent)
        agent.wait_for(
            "/v1/health", lambda: agent.get("/v1/health", token=False)[0] == 200, START_TIMEOUT_S
        )
        return agent

    yield start
    for agent in started:
        agent.stop()


def type_with_sendinput(folder: Path, layout: Any, text: str) -> None:
    """A second process types `text` and Enter as a scanner set for `layout` would."""
    strokes = folder / f"strokes-{layout}.json"
    strokes.write_text(json.dumps(strokes_for(layout, text)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", TYPIST, str(strokes)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_a_scanner_typing_through_raw_input(agent_with: Any, tmp_path: Path, layout: str) -> None:
    vid, pid = WINE_KEYBOARD
    agent = agent_with(
        f"[[devices]]\nid = 'wedge'\ntype = 'hid_keyboard'\nvid = '{vid}'\npid = '{pid}'\n"
        f"layout = '{layout}'\n\n"
        "[[devices]]\nid = 'other'\ntype = 'hid_keyboard'\nvid = '0c2e'\npid = '0b61'\n"
    )
    agent.wait_for("wedge connected", lambda: agent.device("wedge")["state"] == "connected")
    status = agent.device("wedge")
    assert status["description"].startswith(f"Raw Input USB {vid}:{pid} "), status

    type_with_sendinput(tmp_path, layout, "]d1" + TEXT)
    (scan,) = agent.wait_for("a scan", agent.scans)
    assert scan["device_id"] == "wedge"
    assert scan["source"] == "hid_keyboard"
    assert scan["symbology"] == "]d1"
    assert scan["attestation"]["amc_number"] == "0775627391"
    assert scan["attestation"]["convention_types"] == ["MU"]

    other = agent.device("other")
    assert other["state"] == "disconnected", other
    assert other["last_error"]["code"] == "device_not_found"
    message = other["last_error"]["message"]
    assert "USB 0c2e:0b61" in message
    assert f"{vid}:{pid} \\\\?\\" in message.lower(), message  # the keyboards seen, with ids
    assert agent.scans("other") == []

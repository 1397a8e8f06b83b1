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
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.helpers.samples import VALID
from tests.helpers.scancodes import strokes_for

if TYPE_CHECKING:
    from tests.windows.conftest import WindowsAgent

WINE_KEYBOARD = ("845e", "0002")  # Wine's virtual keyboard, to which SendInput is attributed
TEXT = VALID.replace(b"\x1d", b"|").decode()  # keyboard-mode scanners type GS as `|`
FAST_RECONNECT = "[pipeline]\nreconnect_max_s = 1.0\n\n"  # a device not found is tried again soon

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
def test_a_scanner_typing_through_raw_input(
    windows_agent: Callable[[str], WindowsAgent], tmp_path: Path, layout: str
) -> None:
    vid, pid = WINE_KEYBOARD
    agent = windows_agent(
        f"{FAST_RECONNECT}"
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

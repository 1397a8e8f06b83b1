"""Scanners in keyboard mode ("keyboard wedge"): boot keyboard reports, typed with a layout.

Two backends:

- `hidapi` (default): reads the scanner's keyboard interface (usage page 0x01, usage 0x06)
  through hidapi, as 8-byte boot reports. On Linux the keystrokes still reach the desktop.
- `evdev` (Linux, optional: `pip install evdev`): reads `/dev/input/event*` with an exclusive
  grab, so that the code stops being typed into whatever window has the focus. Key events are
  turned back into boot reports, so both backends feed the same `KeyboardFramer`.
"""

from __future__ import annotations

import contextlib
import select
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from drivers._hid import (
    DeviceFactory,
    HidEnumerate,
    HidReader,
    choose,
    default_enumerate,
    default_factory,
)
from drivers.base import translate_open_error, translate_read_error
from drivers.errors import DeviceError, DeviceLost, DeviceNotFound

GENERIC_DESKTOP, KEYBOARD_USAGE = 0x01, 0x06

# Opens an input device by path: `evdev.InputDevice` (untyped), or a fake in tests.
EvdevOpener = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class HidKeyboardParams:
    """What `HidKeyboardDriver` opens. With `backend = "hidapi"`: a hidapi `path`, or the
    keyboard interface whose USB `vid` / `pid` and `serial_number` match; with `"evdev"`: the
    `/dev/input/...` `path`. `layout` is only shown in the description: the framer types the
    reports with it."""

    path: str = ""
    vid: str | None = None
    pid: str | None = None
    serial_number: str | None = None
    backend: Literal["auto", "hidapi", "evdev", "rawinput"] = "auto"
    layout: str = "us"


Backend = Literal["hidapi", "evdev", "rawinput"]


def resolve_backend(backend: str, platform: str = sys.platform) -> Backend:
    """The backend `auto` stands for on `platform`: Raw Input on Windows, hidapi elsewhere."""
    if backend == "auto":
        return "rawinput" if platform == "win32" else "hidapi"
    if backend not in ("hidapi", "evdev", "rawinput"):
        raise ValueError(f"unknown keyboard backend {backend!r}")
    return backend  # type: ignore[return-value]


class HidKeyboardDriver:
    kind = "hid_keyboard"

    def __init__(
        self,
        params: HidKeyboardParams,
        device_factory: DeviceFactory = default_factory,
        enumerate: HidEnumerate = default_enumerate,
        evdev_open: EvdevOpener | None = None,
    ) -> None:
        self.params = params
        self._enumerate = enumerate
        self._reader = HidReader(device_factory, "keyboard-mode scanner")
        self._evdev: EvdevKeyboard | None = None
        self._evdev_open = evdev_open
        self._product = ""

    @property
    def description(self) -> str:
        c = self.params
        where = self._reader.path.decode(errors="replace") or c.path
        usb = f"USB {c.vid}:{c.pid or '*'}" if c.vid else ""
        return " ".join(x for x in (self._product, usb, where, f"layout {c.layout}") if x)

    @property
    def exhausted(self) -> bool:
        return self._reader.exhausted

    def open(self) -> None:
        c = self.params
        backend = resolve_backend(c.backend)
        if backend == "rawinput":
            raise DeviceError("the Raw Input backend is not built yet (issue 18)")
        if backend == "evdev":
            if not c.path:
                raise DeviceNotFound(
                    "the evdev backend needs `path` (a /dev/input/by-id/...-event-kbd link)"
                )
            self._evdev = EvdevKeyboard(c.path, opener=self._evdev_open)
            self._evdev.open()
            return
        if c.path:
            path = c.path.encode()
        else:
            if not c.vid:
                raise DeviceNotFound("set `vid` (and `pid`) or `path` for a keyboard-mode scanner")
            entry = choose(
                self._enumerate(int(c.vid, 16), int(c.pid, 16) if c.pid else 0),
                vid=c.vid,
                pid=c.pid,
                serial_number=c.serial_number,
                usage_page=GENERIC_DESKTOP,
                usage=KEYBOARD_USAGE,
                what="keyboard-mode scanner",
            )
            path = bytes(entry["path"])
            self._product = str(entry.get("product_string") or "")
        self._reader.open(path)

    def read(self, timeout: float) -> bytes | None:
        if self._evdev is not None:
            return self._evdev.read(timeout)
        return self._reader.read(timeout)

    def close(self) -> None:
        evdev, self._evdev = self._evdev, None
        if evdev is not None:
            evdev.close()
        self._reader.close()


# Linux input key codes (linux/input-event-codes.h) back to HID usages (HID usage tables 0x07).
_KEY_TO_USAGE: dict[int, int] = {
    30: 0x04, 48: 0x05, 46: 0x06, 32: 0x07, 18: 0x08, 33: 0x09, 34: 0x0A, 35: 0x0B, 23: 0x0C,
    36: 0x0D, 37: 0x0E, 38: 0x0F, 50: 0x10, 49: 0x11, 24: 0x12, 25: 0x13, 16: 0x14, 19: 0x15,
    31: 0x16, 20: 0x17, 22: 0x18, 47: 0x19, 17: 0x1A, 45: 0x1B, 21: 0x1C, 44: 0x1D,
    2: 0x1E, 3: 0x1F, 4: 0x20, 5: 0x21, 6: 0x22, 7: 0x23, 8: 0x24, 9: 0x25, 10: 0x26, 11: 0x27,
    28: 0x28, 1: 0x29, 14: 0x2A, 15: 0x2B, 57: 0x2C, 12: 0x2D, 13: 0x2E, 26: 0x2F, 27: 0x30,
    43: 0x31, 39: 0x33, 40: 0x34, 41: 0x35, 51: 0x36, 52: 0x37, 53: 0x38, 86: 0x64,
    98: 0x54, 55: 0x55, 74: 0x56, 78: 0x57, 96: 0x58, 79: 0x59, 80: 0x5A, 81: 0x5B, 75: 0x5C,
    76: 0x5D, 77: 0x5E, 71: 0x5F, 72: 0x60, 73: 0x61, 82: 0x62, 83: 0x63,
}  # fmt: skip
_KEY_TO_MODIFIER: dict[int, int] = {
    29: 0x01, 42: 0x02, 56: 0x04, 125: 0x08, 97: 0x10, 54: 0x20, 100: 0x40, 126: 0x80,
}  # fmt: skip
EV_KEY = 0x01


class EvdevKeyboard:
    """A `/dev/input/event*` keyboard, grabbed, its key events turned into boot reports."""

    def __init__(self, path: str, opener: EvdevOpener | None = None) -> None:
        self.path = path
        self._opener = opener
        self._device: Any = None
        self._modifiers = 0
        self._keys: list[int] = []
        self._pending: list[bytes] = []

    def open(self) -> None:
        opener = self._opener
        if opener is None:
            try:
                import evdev  # noqa: PLC0415 - optional, Linux only
            except ImportError as exc:
                raise DeviceError(
                    "the evdev backend needs the evdev package: pip install evdev"
                ) from exc
            opener = evdev.InputDevice
        try:
            device = opener(self.path)
            device.grab()
        except OSError as exc:
            raise translate_open_error(exc, f"input device {self.path}") from exc
        self._device = device
        self._modifiers, self._keys, self._pending = 0, [], []

    def read(self, timeout: float) -> bytes | None:
        if self._pending:
            return self._pending.pop(0)
        device = self._device
        if device is None:
            raise DeviceLost(f"input device {self.path} is not open")
        try:
            ready, _, _ = select.select([device.fileno()], [], [], max(0.0, timeout))
            if not ready:
                return None
            for event in device.read():
                self._event(event.type, event.code, event.value)
        except (OSError, ValueError) as exc:
            raise translate_read_error(exc, f"input device {self.path}") from exc
        return self._pending.pop(0) if self._pending else None

    def _event(self, type_: int, code: int, value: int) -> None:
        """value 1: press, 0: release, 2: autorepeat (ignored)."""
        if type_ != EV_KEY or value == 2:
            return
        if code in _KEY_TO_MODIFIER:
            bit = _KEY_TO_MODIFIER[code]
            self._modifiers = self._modifiers | bit if value else self._modifiers & ~bit
            return
        usage = _KEY_TO_USAGE.get(code)
        if usage is None:
            return
        if value and usage not in self._keys:
            self._keys.append(usage)
        elif not value and usage in self._keys:
            self._keys.remove(usage)
        else:
            return
        keys = (self._keys + [0] * 6)[:6]
        self._pending.append(bytes([self._modifiers, 0, *keys]))

    def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        with contextlib.suppress(OSError):
            device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

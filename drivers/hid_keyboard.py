"""Scanners in keyboard mode ("keyboard wedge"): boot keyboard reports, typed with a layout.

Three backends (`auto`: Raw Input on Windows, hidapi elsewhere):

- `hidapi`: reads the scanner's keyboard interface (usage page 0x01, usage 0x06)
  through hidapi, as 8-byte boot reports. On Linux the keystrokes still reach the desktop.
- `evdev` (Linux, optional: `pip install evdev`): reads `/dev/input/event*` with an exclusive
  grab, so that the code stops being typed into whatever window has the focus. Key events are
  turned back into boot reports, so both backends feed the same `KeyboardFramer`.
- `rawinput` (Windows, `drivers.rawinput`): Windows opens keyboard collections exclusively, so
  hidapi reads nothing there; Raw Input tells the scanner's keys from the desk keyboard's by
  device handle, its scan codes become the same boot reports. The keys still reach the focused
  window.
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
from drivers._keys import BootReports
from drivers.base import translate_open_error, translate_read_error
from drivers.errors import DeviceError, DeviceLost, DeviceNotFound
from drivers.rawinput import (
    RawInputHub,
    RawInputKeyboard,
    RawKeyboard,
    ScannerMatch,
    default_hub,
    list_keyboards,
)

GENERIC_DESKTOP, KEYBOARD_USAGE = 0x01, 0x06

# Opens an input device by path: `evdev.InputDevice` (untyped), or a fake in tests.
EvdevOpener = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class HidKeyboardParams:
    """What `HidKeyboardDriver` opens. With `backend = "hidapi"`: a hidapi `path`, or the
    keyboard interface whose USB `vid` / `pid` and `serial_number` match; with `"evdev"`: the
    `/dev/input/...` `path`; with `"rawinput"`: every keyboard whose Raw Input device name is
    `path` or holds those USB ids. `layout` is only shown in the description: the framer types the
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
        rawinput_list: Callable[[], list[RawKeyboard]] = list_keyboards,
        rawinput_hub: RawInputHub | Callable[[], RawInputHub] = default_hub,
    ) -> None:
        self.params = params
        self._enumerate = enumerate
        self._reader = HidReader(device_factory, "keyboard-mode scanner")
        self._evdev: EvdevKeyboard | None = None
        self._evdev_open = evdev_open
        self._raw: RawInputKeyboard | None = None
        self._raw_list = rawinput_list
        self._raw_hub = rawinput_hub
        self._product = ""

    @property
    def description(self) -> str:
        c = self.params
        usb = f"USB {c.vid}:{c.pid or '*'}" if c.vid else ""
        if self._raw is not None:
            names = " + ".join(k.path for k in self._raw.keyboards) or c.path
            return " ".join(x for x in ("Raw Input", usb, names, f"layout {c.layout}") if x)
        where = self._reader.path.decode(errors="replace") or c.path
        return " ".join(x for x in (self._product, usb, where, f"layout {c.layout}") if x)

    @property
    def exhausted(self) -> bool:
        return self._reader.exhausted

    def open(self) -> None:
        c = self.params
        backend = resolve_backend(c.backend)
        if backend == "rawinput":
            match = ScannerMatch(c.vid, c.pid, c.serial_number, c.path)
            self._raw = RawInputKeyboard(match, lister=self._raw_list, hub=self._raw_hub)
            self._raw.open()
            return
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
        if self._raw is not None:
            return self._raw.read(timeout)
        if self._evdev is not None:
            return self._evdev.read(timeout)
        return self._reader.read(timeout)

    def close(self) -> None:
        raw = self._raw
        if raw is not None:
            raw.close()  # kept (not None) so that the description still names what was open
        evdev, self._evdev = self._evdev, None
        if evdev is not None:
            evdev.close()
        self._reader.close()


EV_KEY = 0x01


class EvdevKeyboard:
    """A `/dev/input/event*` keyboard, grabbed, its key events turned into boot reports."""

    def __init__(self, path: str, opener: EvdevOpener | None = None) -> None:
        self.path = path
        self._opener = opener
        self._device: Any = None
        self._reports = BootReports()
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
        self._reports.reset()
        self._pending = []

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
        report = self._reports.key(code, bool(value))
        if report is not None:
            self._pending.append(report)

    def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        with contextlib.suppress(OSError):
            device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

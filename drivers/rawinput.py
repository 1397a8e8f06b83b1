"""Keyboard-mode scanners on Windows, through the Raw Input API (issue 18).

Windows opens keyboard HID collections exclusively: hidapi cannot read their input reports (the
hidapi's author in signal11/hidapi#247, a libusb/hidapi maintainer in signal11/hidapi#454; the
symptom in signal11/hidapi#336). A message-only
window registered for Raw Input (usage page 1, usage 6, `RIDEV_INPUTSINK | RIDEV_DEVNOTIFY`)
receives `WM_INPUT` for every keyboard, with the device's handle, so that the scanner's keys are
kept and the desk keyboard's ignored. The keys still reach the focused window: Raw Input only
listens.

This module imports on every platform; its pure part is tested everywhere:

- `parse_rawinput(buffer)`: a `RAWINPUT` as `GetRawInputData` returns it → `KeyRecord(handle,
  make_code, flags)` (None for a mouse or HID record).
- `key_code(make_code, flags)`: a scan code (set 1, what `RAWKEYBOARD.MakeCode` holds, whatever
  the Windows keyboard layout) → the Linux input key code of that key, which `BootReports`
  (`drivers._keys`, shared with evdev) turns into boot keyboard reports. Set-1 make codes 1..88
  are the Linux codes 1..88; E0-prefixed keys have their own (`_E0_KEYS`).
- `ScanCodeReports`: the records of the scanner's handles → boot reports for `KeyboardFramer`.
- `parse_device_name(path)`, `ScannerMatch`: which keyboards are the configured scanner.
- `RawInputHub`: one message-only window per process (Windows lets a process register one
  target window per device class), shared by every `RawInputKeyboard`; what the window receives
  is dispatched here, so that the dispatch is tested with a fake window.

The Win32 part (`drivers._rawinput_win32`, ctypes only) is touched on Windows only.

Contract (other parts rely on it):

- `RawKeyboard(handle, path, vid, pid, serial_number)`: a keyboard Raw Input sees.
- `list_keyboards() -> list[RawKeyboard]`: every keyboard Raw Input sees (Windows only;
  `DeviceError` elsewhere).
- `parse_device_name(path) -> (vid, pid, serial_number)`: the USB ids in a Raw Input device
  name, `\\\\?\\HID#VID_0C2E&PID_0B61&MI_00#7&1a2b3c&0&0000#{884b96c3-...}`; `None` for what the
  name does not hold.
"""

from __future__ import annotations

import queue
import re
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from drivers._keys import BootReports
from drivers.errors import DeviceError, DeviceLost, DeviceNotFound


@dataclass(frozen=True, slots=True)
class RawKeyboard:
    """A keyboard as Raw Input sees it: its handle (what `WM_INPUT` records carry), its device
    name and the USB ids read from that name (lowercase hex, 4 digits; None when absent)."""

    handle: int
    path: str
    vid: str | None
    pid: str | None
    serial_number: str | None

    @property
    def usb_id(self) -> str:
        return f"{self.vid}:{self.pid}" if self.vid and self.pid else "no USB id"


# --- RAWINPUT records ---------------------------------------------------------------------------

RIM_TYPEKEYBOARD = 1
RI_KEY_BREAK, RI_KEY_E0, RI_KEY_E1 = 1, 2, 4
KEYBOARD_OVERRUN_MAKE_CODE = 0xFF
GIDC_ARRIVAL, GIDC_REMOVAL = 1, 2
POINTER_SIZE = struct.calcsize("P")

# RAWINPUTHEADER: DWORD dwType, DWORD dwSize, HANDLE hDevice, WPARAM wParam (handles and WPARAM
# are pointer-sized); RAWKEYBOARD: USHORT MakeCode, Flags, Reserved, VKey; UINT Message; ULONG
# ExtraInformation.
_HEADER = {8: struct.Struct("<IIQQ"), 4: struct.Struct("<IIII")}
_KEYBOARD = struct.Struct("<HHHHII")


class KeyRecord(NamedTuple):
    """One `RAWKEYBOARD` record: the device's handle, the scan code, `RI_KEY_*` flags."""

    handle: int
    make_code: int
    flags: int


def parse_rawinput(buffer: bytes, pointer_size: int = POINTER_SIZE) -> KeyRecord | None:
    """The keyboard record in a `RAWINPUT` buffer (`GetRawInputData(..., RID_INPUT, ...)`);
    None for a record of another type or a buffer too short to hold one."""
    header = _HEADER[pointer_size]
    if len(buffer) < header.size + _KEYBOARD.size:
        return None
    type_, _size, handle, _wparam = header.unpack_from(buffer, 0)
    if type_ != RIM_TYPEKEYBOARD:
        return None
    make_code, flags, _reserved, _vkey, _message, _extra = _KEYBOARD.unpack_from(
        buffer, header.size
    )
    return KeyRecord(handle, make_code, flags)


# E0-prefixed scan codes (set 1) → Linux input key codes (linux/input-event-codes.h).
_E0_KEYS: dict[int, int] = {
    0x1C: 96,  # KEY_KPENTER
    0x1D: 97,  # KEY_RIGHTCTRL
    0x35: 98,  # KEY_KPSLASH
    0x37: 99,  # KEY_SYSRQ (Print Screen)
    0x38: 100,  # KEY_RIGHTALT (AltGr)
    0x47: 102,  # KEY_HOME
    0x48: 103,  # KEY_UP
    0x49: 104,  # KEY_PAGEUP
    0x4B: 105,  # KEY_LEFT
    0x4D: 106,  # KEY_RIGHT
    0x4F: 107,  # KEY_END
    0x50: 108,  # KEY_DOWN
    0x51: 109,  # KEY_PAGEDOWN
    0x52: 110,  # KEY_INSERT
    0x53: 111,  # KEY_DELETE
    0x5B: 125,  # KEY_LEFTMETA
    0x5C: 126,  # KEY_RIGHTMETA
    0x5D: 127,  # KEY_COMPOSE (Menu)
}
_FAKE_SHIFTS = frozenset({0x2A, 0x36})  # E0 2A / E0 36: Windows adds them around some keys


def key_code(make_code: int, flags: int) -> int | None:
    """The Linux input key code of a set-1 scan code; None for what is no key of its own:
    E1 (Pause), the fake shifts, the overrun code, or an unknown code."""
    if flags & RI_KEY_E1 or make_code in (0, KEYBOARD_OVERRUN_MAKE_CODE):
        return None
    if flags & RI_KEY_E0:
        return None if make_code in _FAKE_SHIFTS else _E0_KEYS.get(make_code)
    return make_code if make_code <= 88 else None  # set 1 make codes 1..88 = Linux codes 1..88


def _is_noise(make_code: int, flags: int) -> bool:
    """Records Windows adds that are no key pressed: not counted as unknown."""
    return bool(
        flags & RI_KEY_E1
        or make_code in (0, KEYBOARD_OVERRUN_MAKE_CODE)
        or (flags & RI_KEY_E0 and make_code in _FAKE_SHIFTS)
    )


class ScanCodeReports:
    """The key records of `handles` (the scanner's) → boot keyboard reports, as evdev's key
    events become reports (`BootReports`). Records of any other handle (the desk keyboard, or
    the null handle of injected input) are ignored. `unknown` counts the scanner's key records
    that are no key the framer knows (ignored, never an error)."""

    def __init__(self, handles: Iterable[int]) -> None:
        self.handles = set(handles)
        self._reports = BootReports()
        self._unmapped = 0

    @property
    def unknown(self) -> int:
        return self._unmapped + self._reports.unknown

    def feed(self, record: KeyRecord) -> bytes | None:
        if record.handle not in self.handles:
            return None
        code = key_code(record.make_code, record.flags)
        if code is None:
            if not _is_noise(record.make_code, record.flags):
                self._unmapped += 1
            return None
        return self._reports.key(code, not record.flags & RI_KEY_BREAK)


# --- which keyboards are the scanner ----------------------------------------------------------

_IDS = re.compile(r"VID_([0-9A-F]{4})&PID_([0-9A-F]{4})", re.IGNORECASE)
_SERIAL = re.compile(r"[0-9A-Za-z_.-]+")


def parse_device_name(path: str) -> tuple[str | None, str | None, str | None]:
    """`(vid, pid, serial_number)` read from a Raw Input device name (lowercase hex ids).

    A name is `\\\\?\\<enumerator>#<hardware ids>#<instance id>#{<interface class>}`. The serial
    number is read only where it can be nothing else: a USB HID name whose hardware ids are
    VID and PID alone (not the `&MI_xx` interface of a composite device, not a `&COLxx`
    collection) and whose instance id holds no `&` (the ids Windows makes up itself, such as
    `7&1a2b3c&0&0000`, always do). Windows usually makes up the instance ids of HID devices,
    so most names hold no serial number: then it is None, never a guess.
    """
    found = _IDS.search(path)
    if found is None:
        return None, None, None
    vid, pid = found.group(1).lower(), found.group(2).lower()
    parts = path.split("#")
    serial = None
    if (
        len(parts) >= 4
        and parts[0].upper().endswith("HID")
        and _IDS.fullmatch(parts[1])
        and _SERIAL.fullmatch(parts[2])
    ):
        serial = parts[2]
    return vid, pid, serial


def _instance(path: str) -> str:
    """A device name without its interface class (`#{...}` at the end), case folded: a hidapi
    path (HID interface class) and a Raw Input name (keyboard class) of one collection differ
    only there."""
    head, sep, tail = path.rpartition("#")
    return (head if sep and tail.startswith("{") else path).casefold()


@dataclass(frozen=True, slots=True)
class ScannerMatch:
    """Which Raw Input keyboards are the configured scanner: the device name `path` (a Raw
    Input name, or the hidapi path of the same collection), or USB `vid` (and `pid`,
    `serial_number`). Every keyboard that matches is kept (a composite
    scanner may show several); no other keyboard ever is."""

    vid: str | None = None
    pid: str | None = None
    serial_number: str | None = None
    path: str = ""

    def matches(self, keyboard: RawKeyboard) -> bool:
        if not self.path and not (self.vid and self.pid):
            return False  # a vendor id alone could take the desk keyboard of the same vendor
        return (
            (not self.path or _instance(keyboard.path) == _instance(self.path))
            and (not self.vid or keyboard.vid == self.vid.lower())
            and (not self.pid or keyboard.pid == self.pid.lower())
            and (
                not self.serial_number
                or (keyboard.serial_number or "").casefold() == self.serial_number.casefold()
            )
        )

    def choose(self, keyboards: Iterable[RawKeyboard]) -> list[RawKeyboard]:
        """The keyboards that match; DeviceNotFound listing every keyboard seen when none."""
        if not self.path and not self.vid:
            raise DeviceNotFound("set `vid` (and `pid`) or `path` for a keyboard-mode scanner")
        if not self.path and not self.pid:
            raise DeviceNotFound(
                "set `pid` too (or `path`): through Raw Input a vendor id alone could take a desk"
                " keyboard of the same vendor, and its keys"
            )
        seen = list(keyboards)
        kept = [k for k in seen if self.matches(k)]
        if kept:
            return kept
        listed = "; ".join(f"{k.usb_id} {k.path}" for k in seen) or "none"
        hint = ""
        if self.serial_number and any(
            ScannerMatch(self.vid, self.pid, None, self.path).matches(k) for k in seen
        ):
            hint = (
                " (the names of these keyboards hold no such serial number: Windows names most"
                " HID devices by an id of its own; set `path` to the device name instead)"
            )
        raise DeviceNotFound(f"no keyboard is {self.described()}{hint}; Raw Input sees: {listed}")

    def described(self) -> str:
        parts = []
        if self.vid:
            parts.append(f"USB {self.vid.lower()}:{(self.pid or '*').lower()}")
        if self.serial_number:
            parts.append(f"serial {self.serial_number}")
        if self.path:
            parts.append(self.path)
        return " ".join(parts)


# --- one message-only window per process --------------------------------------------------------


class KeySink(Protocol):
    """What the hub dispatches to: one `RawInputKeyboard`."""

    def on_record(self, record: KeyRecord) -> None: ...

    def on_device_change(self, kind: int, handle: int, keyboard: RawKeyboard | None) -> None: ...

    def on_failure(self, error: DeviceError) -> None: ...


class InputWindow(Protocol):
    """The message-only window and its thread (`drivers._rawinput_win32.MessageWindow`)."""

    def start(
        self,
        on_input: Callable[[bytes], None],
        on_device_change: Callable[[int, int], None],
        on_stopped: Callable[[DeviceError], None],
    ) -> None:
        """Registered and receiving once it returns; DeviceError when it cannot be."""
        ...

    def stop(self) -> None: ...


class RawInputHub:
    """The process's one Raw Input window, started with its first keyboard and stopped with its
    last; it hands every key record and device change to each keyboard open on it."""

    def __init__(
        self,
        window_factory: Callable[[], InputWindow],
        name_of: Callable[[int], str | None],
        pointer_size: int = POINTER_SIZE,
    ) -> None:
        self._window_factory = window_factory
        self._name_of = name_of
        self._pointer_size = pointer_size
        self._life = threading.Lock()  # start and stop; the window thread never takes it
        self._sinks_lock = threading.Lock()
        self._sinks: list[KeySink] = []
        self._window: InputWindow | None = None
        self._dead = False  # the window's thread ended without being asked to

    def add(self, sink: KeySink) -> None:
        with self._life:
            if self._window is not None and self._dead:
                window, self._window = self._window, None
                window.stop()
            if self._window is None:
                window = self._window_factory()
                self._dead = False
                window.start(self.input, self.device_change, self._stopped)
                self._window = window
            with self._sinks_lock:
                self._sinks.append(sink)

    def remove(self, sink: KeySink) -> None:
        with self._life:
            with self._sinks_lock:
                if sink in self._sinks:
                    self._sinks.remove(sink)
                last = not self._sinks
            if last and self._window is not None:
                window, self._window = self._window, None
                window.stop()

    def _current(self) -> list[KeySink]:
        with self._sinks_lock:
            return list(self._sinks)

    def input(self, buffer: bytes) -> None:
        record = parse_rawinput(buffer, self._pointer_size)
        if record is None:
            return
        for sink in self._current():
            sink.on_record(record)

    def device_change(self, kind: int, handle: int) -> None:
        keyboard = None
        if kind == GIDC_ARRIVAL:
            name = self._name_of(handle)
            keyboard = RawKeyboard(handle, name, *parse_device_name(name)) if name else None
        for sink in self._current():
            sink.on_device_change(kind, handle, keyboard)

    def _stopped(self, error: DeviceError) -> None:
        """The window thread ended without being asked to (its message loop failed)."""
        with self._sinks_lock:
            sinks, self._sinks = self._sinks, []
            self._dead = True
        for sink in sinks:
            sink.on_failure(error)
        # each keyboard, told, is closed and opened again: on a new window


_default_hub: list[RawInputHub] = []  # the one hub, once made
_default_hub_lock = threading.Lock()


def default_hub() -> RawInputHub:
    """The process's hub on its Win32 message-only window (Windows only)."""
    if sys.platform == "win32":
        from drivers import _rawinput_win32 as win32  # noqa: PLC0415 - Windows only

        with _default_hub_lock:
            if not _default_hub:
                _default_hub.append(RawInputHub(win32.MessageWindow, win32.device_name))
            return _default_hub[0]
    raise DeviceError("Raw Input exists on Windows only")


def list_keyboards() -> list[RawKeyboard]:
    """Every keyboard Raw Input sees on this Windows session."""
    if sys.platform == "win32":
        from drivers import _rawinput_win32 as win32  # noqa: PLC0415 - Windows only

        return [
            RawKeyboard(handle, name, *parse_device_name(name))
            for handle, name in win32.keyboards()
        ]
    raise DeviceError("Raw Input exists on Windows only")


# --- the reader ---------------------------------------------------------------------------------


class RawInputKeyboard:
    """The configured scanner's keys, read through Raw Input, as boot keyboard reports.

    `open` lists the keyboards and keeps the handles that match (a scanner plugged back gets a
    new handle: the device manager reopens, and the list is read again); `read` returns one
    report or None; the removal of a kept handle (`WM_INPUT_DEVICE_CHANGE`) makes `read` raise
    DeviceLost once the reports before it are read. A matching keyboard that arrives while open
    (the other interface of a composite scanner) is kept too.
    """

    def __init__(
        self,
        match: ScannerMatch,
        lister: Callable[[], list[RawKeyboard]] = list_keyboards,
        hub: RawInputHub | Callable[[], RawInputHub] = default_hub,
    ) -> None:
        self.match = match
        self.keyboards: list[RawKeyboard] = []
        self._lister = lister
        self._hub_source = hub
        self._hub: RawInputHub | None = None
        self._reports = ScanCodeReports(())
        self._queue: queue.SimpleQueue[bytes | DeviceError] = queue.SimpleQueue()
        self._failure: DeviceError | None = None

    @property
    def unknown_keys(self) -> int:
        """Key records of the scanner that were no key a code is typed with (ignored)."""
        return self._reports.unknown

    def open(self) -> None:
        self.close()
        try:
            seen = self._lister()
        except OSError as exc:
            raise DeviceError(f"Raw Input: the keyboards cannot be listed ({exc})") from exc
        self.keyboards = self.match.choose(seen)
        self._reports = ScanCodeReports(k.handle for k in self.keyboards)
        self._queue = queue.SimpleQueue()
        self._failure = None
        hub = self._hub_source if isinstance(self._hub_source, RawInputHub) else self._hub_source()
        hub.add(self)
        self._hub = hub

    def read(self, timeout: float) -> bytes | None:
        if self._failure is not None:
            raise self._failure
        if self._hub is None:
            raise DeviceLost(f"Raw Input keyboard {self.match.described()} is not open")
        try:
            item = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if isinstance(item, DeviceError):
            self._failure = item
            raise item
        return item

    def close(self) -> None:
        hub, self._hub = self._hub, None
        if hub is not None:
            hub.remove(self)
        # what was typed and not read (half an attestation) is not kept past the close
        self._queue = queue.SimpleQueue()
        self._reports = ScanCodeReports(())

    # called on the window's thread

    def on_record(self, record: KeyRecord) -> None:
        report = self._reports.feed(record)
        if report is not None:
            self._queue.put(report)

    def on_device_change(self, kind: int, handle: int, keyboard: RawKeyboard | None) -> None:
        if kind == GIDC_REMOVAL and handle in self._reports.handles:
            self._reports.handles.discard(handle)
            self._queue.put(DeviceLost(f"keyboard {self.match.described()} unplugged"))
        elif (
            kind == GIDC_ARRIVAL
            and keyboard is not None
            and keyboard.handle not in self._reports.handles
            and self.match.matches(keyboard)
        ):
            self._reports.handles.add(keyboard.handle)
            self.keyboards.append(keyboard)

    def on_failure(self, error: DeviceError) -> None:
        self._queue.put(error)


__all__ = [
    "KeyRecord",
    "RawInputHub",
    "RawInputKeyboard",
    "RawKeyboard",
    "ScanCodeReports",
    "ScannerMatch",
    "default_hub",
    "key_code",
    "list_keyboards",
    "parse_device_name",
    "parse_rawinput",
]

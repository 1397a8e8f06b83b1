"""What this workstation has, matched against the configuration.

`scanner-agent devices` and the self-test's internal level use this. Nothing here opens a
device: discovery enumerates (`drivers.discovery`), each configured device is matched to what
was found (`serial_matches`, `hid_matches`, `camera_matches`), and whether each node may be
opened is asked of `scanner_agent.device_access`, which answers from its permissions, so that
listing never disturbs a scanner or a camera in use. (The self-test's external level really
opens the configured devices.)

    inventory = take_inventory(settings)           # every candidate, configured or not
    for entry in inventory.entries: entry.kind, entry.path, entry.configured, entry.access
    inventory.missing                              # enabled configured devices not found

On Windows, keyboard-mode scanners are read through Raw Input (`drivers.rawinput`): the
keyboards Raw Input sees are listed too (kind `raw_keyboard`, USB ids read from the device
name), each marked with the configured `hid_keyboard` devices it is. hidapi still lists the
keyboard collections there, but cannot read them (Windows opens them exclusively): a
`hid_keyboard` whose backend resolves to `rawinput` matches only Raw Input entries.

`Discovery` holds the enumerations, the permission check and the platform, to be replaced in
tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from drivers import discovery
from drivers.discovery import CameraInfo, HidInfo, SerialPortInfo
from drivers.errors import DeviceError
from drivers.hid_keyboard import resolve_backend
from drivers.rawinput import RawKeyboard, ScannerMatch
from scanner_agent.config import (
    CameraDevice,
    DeviceConfig,
    HidKeyboardDevice,
    HidPosDevice,
    SerialDevice,
    Settings,
)
from scanner_agent.device_access import Access, AccessFunction, check_access

Kind = Literal["serial", "hid_pos", "hid_keyboard", "hid_other", "raw_keyboard", "camera"]
_HID_KINDS: dict[str, Kind] = {
    "hid_pos": "hid_pos",
    "hid_keyboard": "hid_keyboard",
    "other": "hid_other",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One candidate device of this machine."""

    kind: Kind
    path: str
    description: str = ""
    vid: str | None = None
    pid: str | None = None
    serial_number: str | None = None
    by_id: str | None = None
    usage_page: int | None = None
    usage: int | None = None
    configured: tuple[str, ...] = ()
    """The ids of the configured devices this entry is."""
    access: Access = "ok"
    fix: str | None = None
    """What to do when `access` is not ok."""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "description": self.description,
            "vid": self.vid,
            "pid": self.pid,
            "serial_number": self.serial_number,
            "by_id": self.by_id,
            "usage_page": self.usage_page,
            "usage": self.usage,
            "configured": list(self.configured),
            "access": self.access,
            "fix": self.fix,
        }


@dataclass
class Inventory:
    entries: list[Entry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Enabled configured devices that match no entry (serial, HID and camera devices only)."""

    def as_json(self) -> dict[str, Any]:
        return {"devices": [e.as_json() for e in self.entries], "missing": self.missing}


def _serial_ports() -> Sequence[SerialPortInfo]:
    return discovery.serial_ports()


def _hid_devices() -> Sequence[HidInfo]:
    return discovery.hid_devices()


def _cameras() -> Sequence[CameraInfo]:
    return discovery.cameras()


def _raw_keyboards(platform: str = sys.platform) -> Sequence[RawKeyboard]:
    """The keyboards Raw Input sees (Windows only; none elsewhere, or when listing fails)."""
    if platform != "win32":
        return []
    from drivers import rawinput  # noqa: PLC0415 - its Win32 part only matters on Windows

    try:
        return rawinput.list_keyboards()
    except (DeviceError, OSError):
        return []


@dataclass
class Discovery:
    """The enumerations, the permission check and the platform, injectable for tests."""

    serial_ports: Callable[[], Sequence[SerialPortInfo]] = _serial_ports
    hid_devices: Callable[[], Sequence[HidInfo]] = _hid_devices
    cameras: Callable[[], Sequence[CameraInfo]] = _cameras
    access: AccessFunction = os.access
    exists: Callable[[str], bool] = os.path.exists
    keyboards: Callable[[], Sequence[RawKeyboard]] = _raw_keyboards
    """The keyboards Raw Input sees (`drivers.rawinput.list_keyboards` on Windows)."""
    platform: str = sys.platform
    """`sys.platform` of this workstation: which backend `auto` stands for (`resolve_backend`),
    whether Raw Input keyboards are listed."""


def _real(path: str) -> str:
    return os.path.realpath(path) if path.startswith("/dev/") else path


def _usb_match(config: Any, vid: str | None, pid: str | None, serial: str | None) -> bool:
    if not config.vid or vid is None or config.vid.lower() != vid.lower():
        return False
    if config.pid and (pid is None or config.pid.lower() != pid.lower()):
        return False
    return not (config.serial_number and config.serial_number != serial)


def serial_matches(config: SerialDevice, port: SerialPortInfo) -> bool:
    if config.port:
        return _real(config.port) in (_real(port.device), _real(port.by_id or port.device))
    return _usb_match(config, port.vid, port.pid, port.serial_number)


def hid_matches(
    config: HidPosDevice | HidKeyboardDevice, info: HidInfo, platform: str = sys.platform
) -> bool:
    """Whether hidapi's `info` is the configured device (a `hid_keyboard` only when its
    backend is hidapi on `platform`)."""
    if (
        isinstance(config, HidKeyboardDevice)
        and resolve_backend(config.backend, platform) != "hidapi"
    ):
        return False
    if config.path:
        return config.path == info.path or _real(config.path) == _real(info.path)
    if isinstance(config, HidPosDevice):
        if info.usage_page != config.usage_page:
            return False
        return not config.vid or _usb_match(config, info.vid, info.pid, info.serial_number)
    if info.kind != "hid_keyboard":
        return False
    return _usb_match(config, info.vid, info.pid, info.serial_number)


def raw_keyboard_matches(
    config: HidKeyboardDevice, keyboard: RawKeyboard, platform: str = sys.platform
) -> bool:
    """Whether a keyboard Raw Input sees is the configured device: the driver's own rule
    (`drivers.rawinput.ScannerMatch`), so that what is marked configured is what it opens."""
    if resolve_backend(config.backend, platform) != "rawinput":
        return False
    return ScannerMatch(config.vid, config.pid, config.serial_number, config.path).matches(keyboard)


def camera_matches(config: CameraDevice, info: CameraInfo) -> bool:
    source = config.source
    if isinstance(source, int) or (
        isinstance(source, str) and source.isascii() and source.isdigit()
    ):
        return info.source == f"/dev/video{int(source)}"
    return _real(source) == _real(info.source)


def take_inventory(settings: Settings, found: Discovery | None = None) -> Inventory:
    """Every candidate device, each marked with the configured devices it is."""
    found = found or Discovery()
    devices = [d for d in settings.devices if d.enabled]
    matched: set[str] = set()
    entries: list[Entry] = []

    for port in found.serial_ports():
        access, fix = check_access(port.device, "serial", found.access, found.exists)
        configured = tuple(
            d.id for d in devices if isinstance(d, SerialDevice) and serial_matches(d, port)
        )
        matched.update(configured)
        entries.append(
            Entry(
                "serial",
                port.device,
                port.description,
                port.vid,
                port.pid,
                port.serial_number,
                port.by_id,
                configured=configured,
                access=access,
                fix=fix,
            )
        )
    for info in found.hid_devices():
        access, fix = check_access(info.path, "hid", found.access, found.exists)
        configured = tuple(
            d.id
            for d in devices
            if isinstance(d, HidPosDevice | HidKeyboardDevice)
            and hid_matches(d, info, found.platform)
        )
        matched.update(configured)
        entries.append(
            Entry(
                _HID_KINDS[info.kind],
                info.path,
                " ".join(x for x in (info.manufacturer, info.product) if x),
                info.vid,
                info.pid,
                info.serial_number,
                usage_page=info.usage_page,
                usage=info.usage,
                configured=configured,
                access=access,
                fix=fix,
            )
        )
    for keyboard in found.keyboards() if found.platform == "win32" else ():
        configured = tuple(
            d.id
            for d in devices
            if isinstance(d, HidKeyboardDevice)
            and raw_keyboard_matches(d, keyboard, found.platform)
        )
        matched.update(configured)
        entries.append(
            Entry(
                "raw_keyboard",
                keyboard.path,
                "Raw Input keyboard",
                keyboard.vid,
                keyboard.pid,
                keyboard.serial_number,
                usage_page=0x01,
                usage=0x06,
                configured=configured,
            )
        )
    for camera in found.cameras():
        access, fix = check_access(camera.source, "camera", found.access, found.exists)
        configured = tuple(
            d.id for d in devices if isinstance(d, CameraDevice) and camera_matches(d, camera)
        )
        matched.update(configured)
        entries.append(
            Entry(
                "camera", camera.source, camera.name, configured=configured, access=access, fix=fix
            )
        )
    missing = [d.id for d in devices if _physical(d, found.platform) and d.id not in matched]
    return Inventory(entries, missing)


def _physical(config: DeviceConfig, platform: str = sys.platform) -> bool:
    """Devices discovery can see: not replays, demos, pyserial URLs or video files; keyboards
    read through hidapi, or through Raw Input on Windows (not evdev)."""
    if isinstance(config, SerialDevice):
        return "://" not in config.port
    if isinstance(config, HidKeyboardDevice):
        backend = resolve_backend(config.backend, platform)
        return backend == "hidapi" or (backend == "rawinput" and platform == "win32")
    if isinstance(config, CameraDevice):
        source = config.source
        return (
            isinstance(source, int)
            or (source.isascii() and source.isdigit())
            or source.startswith("/dev/video")
        )
    return isinstance(config, HidPosDevice)

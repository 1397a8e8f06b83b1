"""What the two hidapi drivers share: finding the device, opening it, reading one report.

hidapi is reached through two injectable callables, `device_factory` (default: `device()` of
`hidapi_module()`) and `enumerate` (its `enumerate`), so that tests and `replay` hand the real
driver code a device-like object that plays recorded reports.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from drivers.base import translate_open_error, translate_read_error
from drivers.errors import DeviceError, DeviceLost, DeviceNotFound, PermissionDenied

REPORT_SIZE = 64


class HidDeviceLike(Protocol):
    """The part of `hid.device` the drivers use."""

    def open_path(self, path: bytes) -> None: ...

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]: ...

    def close(self) -> None: ...


HidEnumerate = Callable[[int, int], Sequence[dict[str, Any]]]
DeviceFactory = Callable[[], HidDeviceLike]


def hidapi_module() -> Any:
    """The hidapi back-end to use. On Linux the PyPI wheel ships two: `hid` goes through libusb
    (paths `bus:address:interface`, the USB node must be writable, and it detaches the kernel
    driver, so a keyboard-mode scanner would vanish from the desktop), `hidraw` through
    `/dev/hidraw*` (the kernel keeps the device; the udev hidraw rules apply). The agent uses
    `hidraw` where it exists, `hid` elsewhere (Windows, macOS). Loaded only when a HID device is
    used."""
    if sys.platform.startswith("linux"):
        try:
            return importlib.import_module("hidraw")
        except ImportError:
            pass
    return importlib.import_module("hid")


def default_factory() -> HidDeviceLike:
    device: HidDeviceLike = hidapi_module().device()
    return device


def default_enumerate(vid: int, pid: int) -> Sequence[dict[str, Any]]:
    found: Sequence[dict[str, Any]] = hidapi_module().enumerate(vid, pid)
    return found


def choose(
    entries: Sequence[dict[str, Any]],
    *,
    vid: str | None,
    pid: str | None,
    serial_number: str | None,
    usage_page: int | None,
    usage: int | None,
    what: str,
) -> dict[str, Any]:
    """The one enumerated interface that matches; DeviceNotFound naming what was looked for."""

    def ok(entry: dict[str, Any]) -> bool:
        return (
            (vid is None or entry.get("vendor_id") == int(vid, 16))
            and (pid is None or entry.get("product_id") == int(pid, 16))
            and (serial_number is None or entry.get("serial_number") == serial_number)
            and (usage_page is None or entry.get("usage_page") == usage_page)
            and (usage is None or entry.get("usage") == usage)
        )

    matches = [e for e in entries if ok(e)]
    looked = ", ".join(
        part
        for part in (
            f"USB id {vid or '*'}:{pid or '*'}" if vid or pid else "",
            f"serial {serial_number}" if serial_number else "",
            f"usage page 0x{usage_page:02X}" if usage_page is not None else "",
            f"usage 0x{usage:02X}" if usage is not None else "",
        )
        if part
    )
    if not matches:
        raise DeviceNotFound(f"no {what} with {looked} is plugged in")
    paths = {bytes(m["path"]) for m in matches}
    if len(paths) > 1:
        raise DeviceNotFound(
            f"{len(paths)} {what}s match {looked}; set `serial_number` or `path` to choose one"
        )
    return matches[0]


class HidReader:
    """One opened hidapi device; reads one report at a time."""

    def __init__(self, factory: DeviceFactory, what: str) -> None:
        self._factory = factory
        self.what = what
        self.device: HidDeviceLike | None = None
        self.path = b""

    def open(self, path: bytes) -> HidDeviceLike:
        device = self._factory()
        try:
            device.open_path(path)
        except (OSError, ValueError) as exc:
            shown = path.decode(errors="replace")
            if shown.startswith("/dev/") and os.path.exists(shown):
                if not os.access(shown, os.R_OK | os.W_OK):
                    raise PermissionDenied(
                        f"{self.what} {shown}: permission denied; install the udev rule from "
                        "config/udev (group plugdev, mode 0660)"
                    ) from exc
            elif shown.startswith("/dev/"):
                raise DeviceNotFound(f"{self.what} {shown}: no such device") from exc
            raise translate_open_error(exc, f"{self.what} {shown}") from exc
        self.device = device
        self.path = path
        return device

    def read(self, timeout: float) -> bytes | None:
        device = self.device
        if device is None:
            raise DeviceLost(f"{self.what} is not open")
        try:
            report = device.read(REPORT_SIZE, max(1, round(timeout * 1000)))
        except (OSError, ValueError) as exc:
            raise translate_read_error(
                exc, f"{self.what} {self.path.decode(errors='replace')}"
            ) from exc
        return bytes(report) if report else None

    def close(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            with contextlib.suppress(OSError, ValueError, DeviceError):  # already gone
                device.close()

    @property
    def exhausted(self) -> bool:
        return bool(getattr(self.device, "exhausted", False))

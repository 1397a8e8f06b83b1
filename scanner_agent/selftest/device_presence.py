"""Is a configured device there, and may this user open it? Checked without opening it.

`static_checks` looks at the node the configuration names (or, for a USB id, at the
inventory of plugged-in devices) and at its permissions, and advises against keyboard
mode (`keyboard_checks`: on Windows, a keyboard collection hidapi would open fails with
`keyboard_collection_exclusive`, and keyboard mode through Raw Input warns that the keys still
reach the focused window). `open_failure` turns the error of a device that would not open into
its check (`permission_denied`, `device_busy`, `device_not_found`, `device_error`).
"""

from __future__ import annotations

import os
from typing import Any

from drivers.hid_keyboard import resolve_backend
from scanner_agent.config import (
    CameraDevice,
    DeviceConfig,
    HidKeyboardDevice,
    HidPosDevice,
    ReplayDevice,
    SerialDevice,
)
from scanner_agent.device_access import check_access, device_node, permission_facts
from scanner_agent.errors import DeviceError
from scanner_agent.selftest.options import Options
from scanner_agent.selftest.report import Check, check


def _node(config: DeviceConfig) -> str | None:
    """The device node or file a configuration names directly, if any."""
    if isinstance(config, SerialDevice):
        return config.port or None
    if isinstance(config, HidPosDevice | HidKeyboardDevice):
        return config.path or None
    if isinstance(config, CameraDevice):
        source = config.source
        if isinstance(source, int) or (source.isascii() and source.isdigit()):
            return f"/dev/video{int(source)}" if os.name == "posix" else None
        return source
    if isinstance(config, ReplayDevice):
        return config.path
    return None


def static_checks(config: DeviceConfig, options: Options, inventory: Any | None) -> list[Check]:
    """Presence, permissions and configuration advice, without opening the device."""
    checks: list[Check] = []
    node = _node(config)
    if node is not None:
        node = device_node(node)
    kind = "camera" if config.type == "camera" else ("serial" if config.type == "serial" else "hid")
    if node is not None and node.startswith("/dev/"):
        access, _ = check_access(node, kind, options.discovery.access, options.discovery.exists)
        if access == "not_found":
            checks.append(
                check(
                    "device_not_found",
                    "fail",
                    "device_not_found.node",
                    "device_not_found.node",
                    node=node,
                )
            )
        elif access == "permission_denied":
            checks.append(_permission_denied(node, kind))
        else:
            checks.append(check("device_present", "pass", "device_present.node", node=node))
    elif node is not None and "://" not in node and not os.path.exists(node):
        checks.append(check("device_not_found", "fail", "device_not_found.node", node=node))
    elif (
        node is None
        and inventory is not None
        and config.type in ("serial", "hid_pos", "hid_keyboard")
    ):
        found = [e for e in inventory.entries if config.id in e.configured]
        if not found:
            checks.append(_not_plugged_in(config))
        else:
            entry = found[0]
            if entry.access == "permission_denied":
                checks.append(_permission_denied(device_node(entry.path), kind))
            else:
                checks.append(
                    check("device_present", "pass", "device_present.inventory", node=entry.path)
                )
    checks.extend(keyboard_checks(config, options.discovery.platform, inventory))
    return checks


def keyboard_checks(
    config: DeviceConfig, platform: str, inventory: Any | None = None, *, live: bool = False
) -> list[Check]:
    """Keyboard mode, on `platform` (`sys.platform`, injectable for tests).

    On Windows, keyboard collections are opened exclusively by the system: hidapi reads nothing
    from them (the hidapi maintainers in signal11/hidapi issues #247 and #454). A
    `hid_keyboard` whose backend is hidapi there, or a `hid_pos` whose hidapi match is a
    keyboard collection (usage page 0x01, usage 0x06, from the inventory), fails with
    `keyboard_collection_exclusive`. Keyboard mode warns (`keyboard_mode`); through Raw Input it
    says that the keys still reach the focused window, and the two ways out: HID POS or USB-CDC
    mode, or the GAP field that expects the scan. A global keyboard hook is never proposed: it
    would see every key typed on the desk."""
    checks: list[Check] = []
    windows = platform == "win32"
    if isinstance(config, HidKeyboardDevice):
        backend = resolve_backend(config.backend, platform)
        if windows and backend == "hidapi":
            checks.append(
                check(
                    "keyboard_collection_exclusive",
                    "fail",
                    "keyboard_collection_exclusive.hid_keyboard",
                    "keyboard_collection_exclusive.hid_keyboard",
                    backend=config.backend,
                    device=config.id,
                )
            )
        if windows and backend == "rawinput":
            message = "keyboard_mode.live_windows" if live else "keyboard_mode.windows"
            checks.append(
                check(
                    "keyboard_mode", "warn", message, "keyboard_mode.windows", layout=config.layout
                )
            )
        else:
            message = "keyboard_mode.live" if live else "keyboard_mode"
            checks.append(check("keyboard_mode", "warn", message, layout=config.layout))
    elif windows and isinstance(config, HidPosDevice) and inventory is not None:
        for entry in inventory.entries:
            keyboard = entry.usage_page == 0x01 and entry.usage == 0x06
            if keyboard and entry.kind != "raw_keyboard" and config.id in entry.configured:
                checks.append(
                    check(
                        "keyboard_collection_exclusive",
                        "fail",
                        "keyboard_collection_exclusive.hid_pos",
                        "keyboard_collection_exclusive.hid_pos",
                        node=entry.path,
                        device=config.id,
                    )
                )
                break
    return checks


def _permission_denied(node: str, kind: str) -> Check:
    """The node may not be opened: the udev rule or the group that fixes it."""
    variant, facts = permission_facts(node, kind)
    return check(
        "permission_denied",
        "fail",
        "permission_denied.node",
        f"permission_denied.{variant}",
        **facts,
    )


def _not_plugged_in(config: DeviceConfig) -> Check:
    """No plugged-in device matches the configuration's USB id (or HID usage page)."""
    serial = getattr(config, "serial_number", None)
    facts: dict[str, str | int | float] = {}
    if isinstance(config, HidPosDevice) and not getattr(config, "vid", None):
        what = "device_not_found.usage_page"
        facts["usage_page"] = f"0x{config.usage_page:02X}"
    else:
        what = "device_not_found.usb"
        vid = getattr(config, "vid", None) or "*"
        pid = getattr(config, "pid", None) or "*"
        facts["usb_id"] = f"{vid}:{pid}"
    if serial:
        what += "_serial"
        facts["serial"] = serial
    return check("device_not_found", "fail", what, **facts)


def open_failure(exc: BaseException) -> Check:
    """The check of a device that would not open; the error's own text is the `error`
    parameter."""
    code = exc.code if isinstance(exc, DeviceError) else "device_error"
    message = str(exc) or type(exc).__name__
    if code == "permission_denied":
        return check("permission_denied", "fail", "permission_denied.error", error=message)
    if code == "device_busy":
        return check("device_busy", "fail", "device_busy.error", error=message)
    if code in ("device_not_found", "device_lost"):
        return check("device_not_found", "fail", "device_not_found.error", error=message)
    return check("device_error", "fail", "device_error.error", error_code=code, error=message)

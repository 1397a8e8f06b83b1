"""Is a configured device there, and may this user open it? Checked without opening it.

`static_checks` looks at the node the configuration names (or, for a USB id, at the
inventory of plugged-in devices) and at its permissions, and advises against keyboard
mode. `open_failure` turns the error of a device that would not open into its check
(`permission_denied`, `device_busy`, `device_not_found`, `device_error`).
"""

from __future__ import annotations

import os
from typing import Any

from scanner_agent.config import (
    CameraDevice,
    DeviceConfig,
    HidKeyboardDevice,
    HidPosDevice,
    ReplayDevice,
    SerialDevice,
)
from scanner_agent.device_access import check_access, device_node
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
        access, fix = check_access(node, kind, options.discovery.access, options.discovery.exists)
        if access == "not_found":
            checks.append(check("device_not_found", "fail", f"{node} does not exist", fix))
        elif access == "permission_denied":
            checks.append(check("permission_denied", "fail", f"this user may not open {node}", fix))
        else:
            checks.append(check("device_present", "pass", f"{node} is there and may be opened"))
    elif node is not None and "://" not in node and not os.path.exists(node):
        checks.append(check("device_not_found", "fail", f"{node} does not exist"))
    elif (
        node is None
        and inventory is not None
        and config.type in ("serial", "hid_pos", "hid_keyboard")
    ):
        found = [e for e in inventory.entries if config.id in e.configured]
        if not found:
            checks.append(
                check(
                    "device_not_found", "fail", f"no plugged-in device matches {_usb_text(config)}"
                )
            )
        else:
            entry = found[0]
            if entry.access == "permission_denied":
                checks.append(
                    check(
                        "permission_denied",
                        "fail",
                        f"this user may not open {entry.path}",
                        entry.fix,
                    )
                )
            else:
                checks.append(check("device_present", "pass", f"found as {entry.path}"))
    if isinstance(config, HidKeyboardDevice):
        checks.append(
            check(
                "keyboard_mode",
                "warn",
                f"the scanner is read in keyboard mode (layout {config.layout!r}): GS separators "
                "are lost and the keyboard layout must match",
            )
        )
    return checks


def _usb_text(config: DeviceConfig) -> str:
    vid = getattr(config, "vid", None) or "*"
    pid = getattr(config, "pid", None) or "*"
    serial = getattr(config, "serial_number", None)
    text = f"USB id {vid}:{pid}"
    if isinstance(config, HidPosDevice) and not getattr(config, "vid", None):
        text = f"usage page 0x{config.usage_page:02X}"
    return text + (f" serial {serial}" if serial else "")


def open_failure(exc: BaseException) -> Check:
    code = exc.code if isinstance(exc, DeviceError) else "device_error"
    message = str(exc) or type(exc).__name__
    if code == "permission_denied":
        return check("permission_denied", "fail", message)
    if code == "device_busy":
        return check("device_busy", "fail", message)
    if code in ("device_not_found", "device_lost"):
        return check("device_not_found", "fail", message)
    return check("device_error", "fail", f"{code}: {message}")

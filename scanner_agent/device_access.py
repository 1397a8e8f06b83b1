"""Whether this user may open a device node, and if not, what fixes it. Nothing here opens it.

The answer comes from the node's existence and permissions, so that asking never disturbs a
scanner or a camera in use. `scanner-agent devices` (through the inventory) and the self-test's
device presence check ask it.

    access, fix = check_access("/dev/ttyACM0", "serial")   # ("ok", None) when it may be opened
    if access != "ok": print(fix)                          # the udev rule or group that fixes it

`device_node` maps a hidapi libusb path (`bus:address:interface`) to the node that must be
readable (`/dev/bus/usb/BBB/DDD`); `permission_fix` words the fix for a denied node.
"""

from __future__ import annotations

import getpass
import os
import re
import stat
from collections.abc import Callable
from typing import Literal

Access = Literal["ok", "permission_denied", "not_found"]
AccessFunction = Callable[[str, int], bool]
"""`os.access`, or a stand-in for tests."""

UDEV_RULE = "config/udev/99-scanner-agent.rules"
# The group each kind of node is given by our udev rule (plugdev) or by the distribution
# (dialout for serial ports, video for cameras).
_DISTRIBUTION_GROUPS = {"serial": "dialout", "camera": "video"}

_LIBUSB_PATH = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{4}):([0-9a-f]{2})$")


def device_node(path: str) -> str:
    """The node a path is opened through. hidapi's `hid` module as PyPI ships it reaches HID
    devices through libusb on Linux: its paths are `bus:address:interface` in hex, and what
    must be readable and writable is the USB device node `/dev/bus/usb/BBB/DDD`."""
    found = _LIBUSB_PATH.match(path)
    if found is None:
        return path
    bus, address = int(found.group(1), 16), int(found.group(2), 16)
    return f"/dev/bus/usb/{bus:03d}/{address:03d}"


def check_access(
    path: str,
    kind: str,
    access: AccessFunction = os.access,
    exists: Callable[[str], bool] = os.path.exists,
) -> tuple[Access, str | None]:
    """Whether this user may open a device node, and if not, what fixes it. Paths that are not
    device nodes (COM3, a pyserial URL, a video file) are `ok`: only opening them tells."""
    path = device_node(path)
    if not path.startswith("/dev/"):
        return "ok", None
    if not exists(path):
        return "not_found", (
            f"{path} does not exist: plug the device in, or run `scanner-agent devices` to see "
            "what is there"
        )
    if access(path, os.R_OK | os.W_OK):
        return "ok", None
    return "permission_denied", permission_fix(path, kind)


def permission_facts(path: str, kind: str) -> tuple[str, dict[str, str]]:
    """What a denied node's fix is made of: `("group", ...)` when joining the node's group
    is enough, else `("udev", ...)`, or `("udev_or_group", ...)` when the distribution's group
    (`base`) may do too; the facts are `node`, `group`, `mode`, `user` (and `base`). The
    self-test words the same fix in French from them."""
    user = _user()
    try:
        st = os.stat(path)
        group = _group_name(st.st_gid)
        mode = f"{stat.S_IMODE(st.st_mode):04o}"
    except OSError:
        group, mode = "?", "?"
    facts = {"node": path, "group": group, "mode": mode, "user": user}
    if group not in ("root", "?") and _group_may_read_write(mode) and group not in _my_groups():
        return "group", facts
    base = _DISTRIBUTION_GROUPS.get(kind)
    if base:
        return "udev_or_group", {**facts, "base": base}
    return "udev", facts


def permission_fix(path: str, kind: str) -> str:
    """The udev rule and group that let this user open `path`."""
    variant, facts = permission_facts(path, kind)
    user, group, mode = facts["user"], facts["group"], facts["mode"]
    if variant == "group":
        return (
            f"{path} belongs to group {group!r} (mode {mode}) and {user} is not in it: "
            f"`sudo usermod -aG {group} {user}`, then log in again (or restart the service)"
        )
    base = facts.get("base")
    extra = f" (or add {user} to {base!r} if the node already belongs to it)" if base else ""
    return (
        f"{path} is group {group!r}, mode {mode}: install {UDEV_RULE} into /etc/udev/rules.d/ "
        "(add a line with your scanner's vendor id from `lsusb` if it is not listed), run "
        "`sudo udevadm control --reload && sudo udevadm trigger`, then "
        f"`sudo usermod -aG plugdev {user}` and log in again{extra}"
    )


def _group_may_read_write(mode: str) -> bool:
    return len(mode) == 4 and mode[2] in "67"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "$USER"


def _group_name(gid: int) -> str:
    try:
        import grp  # noqa: PLC0415 - Unix only; permission problems are a Unix matter

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return "?"


def _my_groups() -> set[str]:
    """The groups this process has (a group added since the login does not count yet)."""
    getgroups = getattr(os, "getgroups", None)
    return {_group_name(gid) for gid in getgroups()} if getgroups else set()

"""What this workstation has: serial ports, HID interfaces, cameras, as plain values.

For the self-test and for writing a configuration: each serial port with its USB id, serial
number and stable `/dev/serial/by-id` link; each HID interface with its usage page (0x8C: a
HID POS scanner; 0x01/0x06: a keyboard, perhaps a scanner in keyboard mode); each camera.
Nothing here opens a device.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from drivers._hid import HidEnumerate, hidapi_module

HID_POS_USAGE_PAGE = 0x8C


@dataclass(frozen=True, slots=True)
class SerialPortInfo:
    device: str
    vid: str | None
    pid: str | None
    serial_number: str | None
    description: str
    by_id: str | None


@dataclass(frozen=True, slots=True)
class HidInfo:
    path: str
    vid: str
    pid: str
    serial_number: str | None
    product: str
    manufacturer: str
    usage_page: int
    usage: int
    interface: int

    @property
    def kind(self) -> str:
        """`hid_pos`, `hid_keyboard` or `other`: what the agent could read it as."""
        if self.usage_page == HID_POS_USAGE_PAGE:
            return "hid_pos"
        if self.usage_page == 0x01 and self.usage == 0x06:
            return "hid_keyboard"
        return "other"


@dataclass(frozen=True, slots=True)
class CameraInfo:
    source: str
    name: str


def _by_id_links(folder: str = "/dev/serial/by-id") -> dict[str, str]:
    """Real device path → its stable by-id link."""
    links: dict[str, str] = {}
    for link in sorted(glob.glob(os.path.join(folder, "*"))):
        links[os.path.realpath(link)] = link
    return links


def serial_ports(by_id_folder: str = "/dev/serial/by-id") -> list[SerialPortInfo]:
    from serial.tools import list_ports  # noqa: PLC0415

    links = _by_id_links(by_id_folder)
    return [
        SerialPortInfo(
            device=p.device,
            vid=f"{p.vid:04x}" if p.vid is not None else None,
            pid=f"{p.pid:04x}" if p.pid is not None else None,
            serial_number=p.serial_number,
            description=p.description or "",
            by_id=links.get(os.path.realpath(p.device)),
        )
        for p in list_ports.comports()
    ]


def hid_devices(
    enumerate: HidEnumerate | None = None,
) -> list[HidInfo]:
    """Every HID interface hidapi sees (empty when hidapi cannot be loaded)."""
    if enumerate is None:
        try:
            enumerate = hidapi_module().enumerate
        except ImportError:
            return []
    out = []
    for d in enumerate(0, 0):
        path = d.get("path", b"")
        out.append(
            HidInfo(
                path=path.decode(errors="replace") if isinstance(path, bytes) else str(path),
                vid=f"{d.get('vendor_id', 0):04x}",
                pid=f"{d.get('product_id', 0):04x}",
                serial_number=d.get("serial_number") or None,
                product=d.get("product_string") or "",
                manufacturer=d.get("manufacturer_string") or "",
                usage_page=int(d.get("usage_page") or 0),
                usage=int(d.get("usage") or 0),
                interface=int(d.get("interface_number", -1)),
            )
        )
    return out


def cameras(folder: str = "/sys/class/video4linux") -> list[CameraInfo]:
    """Video capture devices (Linux: from sysfs, without opening them)."""
    out = []
    for entry in sorted(glob.glob(os.path.join(folder, "video*"))):
        name_file = os.path.join(entry, "name")
        try:
            with open(name_file, encoding="utf-8") as fh:
                name = fh.read().strip()
        except OSError:
            name = ""
        out.append(CameraInfo(source="/dev/" + os.path.basename(entry), name=name))
    return out

"""USB HID POS scanners (usage page 0x8C, "HID barcode scanner") through hidapi.

Each read returns one input report; `HidPosFramer` joins the 64-byte scanned-data reports.
When the device gives its report descriptor, the offsets of the symbology identifier, the data
and the continuation bit are read from it (`hid_pos_layout_from_descriptor`); otherwise the
layout scanner manuals describe is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._hid import (
    DeviceFactory,
    HidEnumerate,
    HidReader,
    choose,
    default_enumerate,
    default_factory,
)
from drivers.hid_pos_layout import (
    DEFAULT_HID_POS_LAYOUT,
    HidPosLayout,
    hid_pos_layout_from_descriptor,
)


@dataclass(frozen=True, slots=True)
class HidPosParams:
    """What `HidPosDriver` opens: a hidapi `path`, or, when it is empty, the one interface on
    `usage_page` whose USB `vid` / `pid` (4 hex digits) and `serial_number` match."""

    path: str = ""
    vid: str | None = None
    pid: str | None = None
    serial_number: str | None = None
    usage_page: int = 0x8C


class HidPosDriver:
    kind = "hid_pos"

    def __init__(
        self,
        params: HidPosParams,
        device_factory: DeviceFactory = default_factory,
        enumerate: HidEnumerate = default_enumerate,
    ) -> None:
        self.params = params
        self._enumerate = enumerate
        self._reader = HidReader(device_factory, "HID POS scanner")
        self.layout: HidPosLayout = DEFAULT_HID_POS_LAYOUT
        self.descriptor: bytes | None = None
        """The report descriptor read at open, when the device gave it (recordings keep it)."""
        self._product = ""

    @property
    def description(self) -> str:
        c = self.params
        where = self._reader.path.decode(errors="replace") or c.path
        usb = f"USB {c.vid}:{c.pid or '*'}" if c.vid else f"usage page 0x{c.usage_page:02X}"
        return " ".join(x for x in (self._product, usb, where) if x)

    @property
    def exhausted(self) -> bool:
        return self._reader.exhausted

    def open(self) -> None:
        c = self.params
        if c.path:
            path = c.path.encode()
        else:
            entry = choose(
                self._enumerate(int(c.vid, 16) if c.vid else 0, int(c.pid, 16) if c.pid else 0),
                vid=c.vid,
                pid=c.pid,
                serial_number=c.serial_number,
                usage_page=c.usage_page,
                usage=None,
                what="HID POS scanner",
            )
            path = bytes(entry["path"])
            self._product = str(entry.get("product_string") or "")
        device = self._reader.open(path)
        self.layout = DEFAULT_HID_POS_LAYOUT
        self.descriptor = None
        get_descriptor = getattr(device, "get_report_descriptor", None)
        if get_descriptor is not None:
            try:
                descriptor = get_descriptor()
            except (OSError, ValueError):  # older hidapi or the OS refused: keep the default
                descriptor = None
            if descriptor:
                self.descriptor = bytes(descriptor)
                self.layout = hid_pos_layout_from_descriptor(descriptor) or DEFAULT_HID_POS_LAYOUT

    def read(self, timeout: float) -> bytes | None:
        return self._reader.read(timeout)

    def close(self) -> None:
        self._reader.close()

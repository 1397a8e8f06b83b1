"""Serial scanners (USB-CDC "virtual COM", RS-232) through pyserial.

The port is a name (`/dev/ttyACM0`, `COM3`), a `/dev/serial/by-id/...` link (resolved at each
open, so a scanner plugged back on another ttyACM is found again), a pyserial URL (`loop://`,
`rfc2217://...`), or empty: then the port whose USB vendor/product id (and serial number)
match the configuration is looked up with `serial.tools.list_ports` at each open.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import serial
from serial.tools import list_ports

from drivers.base import translate_open_error, translate_read_error
from drivers.errors import DeviceLost, DeviceNotFound

_PARITY = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}
_STOPBITS = {
    1: serial.STOPBITS_ONE,
    1.5: serial.STOPBITS_ONE_POINT_FIVE,
    2: serial.STOPBITS_TWO,
}


@dataclass(frozen=True, slots=True)
class SerialParams:
    """What `SerialDriver` opens: a `port` (name, by-id link or pyserial URL), or, when it is
    empty, the port whose USB `vid` / `pid` (4 hex digits) and `serial_number` match."""

    port: str = ""
    vid: str | None = None
    pid: str | None = None
    serial_number: str | None = None
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1


def find_port(vid: str, pid: str | None = None, serial_number: str | None = None) -> str:
    """The device name of the serial port with this USB id; DeviceNotFound when none (or the
    choice is ambiguous: two identical scanners need `serial_number`)."""
    want_vid = int(vid, 16)
    want_pid = int(pid, 16) if pid else None
    matches = [
        p.device
        for p in list_ports.comports()
        if p.vid == want_vid
        and (want_pid is None or p.pid == want_pid)
        and (serial_number is None or p.serial_number == serial_number)
    ]
    usb_id = f"{vid}:{pid or '*'}" + (f" serial {serial_number}" if serial_number else "")
    if not matches:
        raise DeviceNotFound(f"no serial port with USB id {usb_id} is plugged in")
    if len(matches) > 1:
        raise DeviceNotFound(
            f"{len(matches)} serial ports have USB id {usb_id} ({', '.join(sorted(matches))}); "
            "set `serial_number` or `port` to choose one"
        )
    found: str = matches[0]
    return found


class SerialDriver:
    """Reads raw bytes from a serial port; the framer cuts them into codes."""

    kind = "serial"

    def __init__(self, params: SerialParams) -> None:
        self.params = params
        self._port: Any = None
        self._name = params.port or f"USB {params.vid}:{params.pid or '*'}"
        self._timeout: float | None = None

    @property
    def description(self) -> str:
        c = self.params
        return f"{self._name} {c.baudrate} {c.bytesize}{c.parity}{c.stopbits:g}"

    @property
    def exhausted(self) -> bool:
        return False

    def open(self) -> None:
        c = self.params
        name = c.port or find_port(c.vid or "", c.pid, c.serial_number)
        try:
            port = serial.serial_for_url(
                name,
                baudrate=c.baudrate,
                bytesize=c.bytesize,
                parity=_PARITY[c.parity],
                stopbits=_STOPBITS[c.stopbits],
                timeout=0.2,
                exclusive=True,
                do_not_open=True,
            )
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise translate_open_error(exc, f"serial port {name}") from exc
        self._port = port
        self._timeout = 0.2
        self._name = name

    def read(self, timeout: float) -> bytes | None:
        port = self._port
        if port is None:
            raise DeviceLost(f"serial port {self._name} is not open")
        timeout = max(0.0, timeout)
        try:
            if timeout != self._timeout:
                port.timeout = timeout
                self._timeout = timeout
            first: bytes = port.read(1)
            if not first:
                return None
            waiting = port.in_waiting
            return first + port.read(waiting) if waiting else first
        except (serial.SerialException, OSError, TypeError) as exc:
            # TypeError: pyserial's posix read after the fd went away mid-call
            raise translate_read_error(exc, f"serial port {self._name}") from exc

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):  # already gone
                port.close()

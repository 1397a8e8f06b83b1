"""Recordings of what a device sent, and their replay through the same code as the device.

A recording is JSON lines. An optional first line describes it (for HID POS, with the device's
report descriptor, so that a replay reads reports at the offsets the device declared); every
other line is one chunk (raw bytes from a serial line) or one report (HID POS, HID keyboard),
with the seconds since the recording started:

    {"recording": 1, "protocol": "hid_pos", "device_type": "hid_pos", "started": "2026-...",
     "descriptor": "058c0902a101..."}
    {"t": 0.000, "hex": "02381d5d6431414d435450..."}
    {"t": 0.004, "hex": "0210..."}

`scanner-agent record DEVICE --out FILE` writes one from a real device, so a hospital can send
a misbehaving scanner's traffic to support. A `replay` device plays it back at `speed` (2.0:
twice as fast), once or in a `loop`: serial chunks go through the configured byte framer, HID
reports through the real `HidPosDriver` / `HidKeyboardDriver` (a recorded device stands in for
`hid.device()`), so a replay exercises the same code paths as the device did. Note that idle
framing (`suffix = "none"`) sees gaps divided by `speed`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from drivers.errors import DeviceError, DeviceLost, DeviceNotFound
from drivers.hid_keyboard import HidKeyboardDriver, HidKeyboardParams
from drivers.hid_pos import HidPosDriver, HidPosParams

FORMAT_VERSION = 1
RecordedProtocol = Literal["serial", "hid_pos", "hid_keyboard"]
PROTOCOLS: tuple[RecordedProtocol, ...] = ("serial", "hid_pos", "hid_keyboard")


class RecordingError(DeviceError):
    code = "bad_recording"


@dataclass(frozen=True, slots=True)
class Recording:
    protocol: str | None
    chunks: tuple[tuple[float, bytes], ...]
    descriptor: bytes | None = None
    """A HID POS device's report descriptor, when the recorder could read it."""


def read_recording(path: str | Path) -> Recording:
    """Parse a recording; `RecordingError` naming the line for anything malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise DeviceNotFound(f"recording {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"recording {path} cannot be read: {exc}") from exc
    protocol: str | None = None
    descriptor: bytes | None = None
    chunks: list[tuple[float, bytes]] = []
    last = 0.0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"recording {path}, line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise RecordingError(f"{where}: expected an object")
        if "hex" not in item:
            if "recording" in item:
                protocol = item.get("protocol")
                try:
                    descriptor = bytes.fromhex(item["descriptor"]) if "descriptor" in item else None
                except (TypeError, ValueError) as exc:
                    raise RecordingError(f'{where}: "descriptor" is not hexadecimal') from exc
                continue
            raise RecordingError(f'{where}: no "hex" key')
        t = item.get("t")
        if not isinstance(t, int | float) or isinstance(t, bool) or t < 0:
            raise RecordingError(f'{where}: "t" must be a number of seconds, 0 or more')
        if t < last:
            raise RecordingError(f'{where}: "t" goes back in time ({t} after {last})')
        try:
            data = bytes.fromhex(str(item["hex"]))
        except ValueError as exc:
            raise RecordingError(f'{where}: "hex" is not hexadecimal') from exc
        chunks.append((float(t), data))
        last = float(t)
    return Recording(protocol, tuple(chunks), descriptor)


class RecordingWriter:
    """Writes a recording line by line (flushed, so that Ctrl-C loses nothing)."""

    def __init__(
        self,
        out: IO[str],
        protocol: str,
        device_id: str,
        device_type: str,
        descriptor: bytes | None = None,
    ) -> None:
        self._out = out
        self.count = 0
        header: dict[str, Any] = {
            "recording": FORMAT_VERSION,
            "protocol": protocol,
            "device_id": device_id,
            "device_type": device_type,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if descriptor:
            header["descriptor"] = descriptor.hex()
        out.write(json.dumps(header) + "\n")
        out.flush()

    def write(self, t: float, chunk: bytes) -> None:
        self._out.write(json.dumps({"t": round(t, 6), "hex": chunk.hex()}) + "\n")
        self._out.flush()
        self.count += 1


class TimedChunks:
    """Hands out recorded chunks when their time comes (`t / speed` after the first read)."""

    def __init__(
        self,
        chunks: Sequence[tuple[float, bytes]],
        speed: float = 1.0,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.chunks = list(chunks)
        self.speed = speed
        self.loop = loop
        self._clock = clock
        self._sleep = sleep
        self._index = 0
        self._start: float | None = None
        self.exhausted = not self.chunks

    def next(self, timeout: float) -> bytes | None:
        if self.exhausted:
            self._sleep(min(timeout, 0.05))
            return None
        now = self._clock()
        if self._start is None:
            self._start = now
        if self._index >= len(self.chunks):
            if not self.loop:
                self.exhausted = True
                return None
            # start again, one second (of recording time) after the last chunk
            self._start += (self.chunks[-1][0] + 1.0) / self.speed
            self._index = 0
        t, data = self.chunks[self._index]
        due = self._start + t / self.speed
        wait = due - now
        if wait > timeout:
            self._sleep(max(0.0, timeout))
            return None
        if wait > 0:
            self._sleep(wait)
        self._index += 1
        if self._index >= len(self.chunks) and not self.loop:
            self.exhausted = True
        return data


class RecordedHidDevice:
    """A stand-in for `hid.device()` that plays recorded reports (and an optional descriptor)."""

    def __init__(self, timed: TimedChunks, descriptor: Sequence[int] | None = None) -> None:
        self._timed = timed
        self._descriptor = list(descriptor) if descriptor else None
        self.opened = False
        self.path = b""

    @property
    def exhausted(self) -> bool:
        return self._timed.exhausted

    def open_path(self, path: bytes) -> None:
        self.opened = True
        self.path = path

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]:
        if not self.opened:
            raise OSError("read error: device not open")
        data = self._timed.next(timeout_ms / 1000)
        return list(data[:max_length]) if data else []

    def get_report_descriptor(self) -> list[int]:
        if self._descriptor is None:
            raise OSError("no report descriptor")
        return list(self._descriptor)

    def close(self) -> None:
        self.opened = False


@dataclass(frozen=True, slots=True)
class ReplayParams:
    """What `ReplayDriver` plays: the recording at `path`, of `protocol` traffic, at `speed`
    (2.0: twice as fast), once or in a `loop`. `layout` is shown in a replayed keyboard's
    description (the framer types the reports with it)."""

    path: str
    protocol: RecordedProtocol = "serial"
    speed: float = 1.0
    loop: bool = False
    layout: str = "us"


class ReplayDriver:
    """Plays a recording as the device it came from would have sent it."""

    kind = "replay"

    def __init__(self, params: ReplayParams) -> None:
        self.params = params
        self.recording: Recording | None = None
        self.protocol: RecordedProtocol = params.protocol
        self._timed: TimedChunks | None = None
        self._inner: HidPosDriver | HidKeyboardDriver | None = None

    @property
    def description(self) -> str:
        return f"replay of {self.params.path} ({self.protocol}, speed {self.params.speed:g})"

    @property
    def exhausted(self) -> bool:
        return self._timed is not None and self._timed.exhausted

    @property
    def inner(self) -> HidPosDriver | HidKeyboardDriver | None:
        """The HID driver replayed reports go through (None for serial recordings)."""
        return self._inner

    def open(self) -> None:
        c = self.params
        recording = read_recording(c.path)
        if recording.protocol and recording.protocol != self.protocol:
            raise RecordingError(
                f"recording {c.path} holds {recording.protocol} traffic but the device says "
                f"protocol = {self.protocol!r}"
            )
        self.recording = recording
        self._timed = TimedChunks(recording.chunks, c.speed, c.loop)
        self._inner = None
        if self.protocol in ("hid_pos", "hid_keyboard"):
            device = RecordedHidDevice(self._timed, recording.descriptor)
            inner = self._hid_driver(device)
            inner.open()
            self._inner = inner

    def _hid_driver(self, device: RecordedHidDevice) -> HidPosDriver | HidKeyboardDriver:
        c = self.params
        path = f"replay:{c.path}"
        if self.protocol == "hid_pos":
            return HidPosDriver(HidPosParams(path=path), device_factory=lambda: device)
        params = HidKeyboardParams(path=path, layout=c.layout)
        return HidKeyboardDriver(params, device_factory=lambda: device)

    def read(self, timeout: float) -> bytes | None:
        if self._timed is None:
            raise DeviceLost(f"replay of {self.params.path} is not open")
        if self._inner is not None:
            return self._inner.read(timeout)
        return self._timed.next(timeout)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        self._inner = None
        self._timed = None

"""Shared helpers of the device tests: HID reports, typed keys, pty scanners, waiting on the bus."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scanner_agent.agent import Agent
from scanner_agent.bus import DeviceEvent, Event, ScanEvent, Subscription
from scanner_agent.config import Settings
from scanner_agent.devices import DriverFactory, build_driver
from scanner_agent.framing import keyboard_reports, keymaps
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from tests.helpers.samples import TODAY


def hid_pos_reports(
    data: bytes, aim: bytes = b"]d1", report_id: int = 2, capacity: int = 56
) -> list[bytes]:
    """A code as a HID POS scanner sends it: 64-byte reports, continuation bit in byte 63."""
    chunks = [data[i : i + capacity] for i in range(0, len(data), capacity)] or [b""]
    out = []
    for index, chunk in enumerate(chunks):
        report = bytearray(64)
        report[0] = report_id
        report[1] = len(chunk)
        report[2:5] = aim.ljust(3, b"\x00")[:3]
        report[5 : 5 + len(chunk)] = chunk
        report[63] = 0x01 if index < len(chunks) - 1 else 0x00
        out.append(bytes(report))
    return out


def typed_reports(text: str, layout: keymaps.LayoutName, enter: bool = True) -> list[bytes]:
    """Boot keyboard reports a scanner set for `layout` sends to type `text` (+ Enter)."""
    presses = keymaps.keys_for(layout, text + ("\r" if enter else ""))
    return keyboard_reports(presses)


def replay_recording(path: Path, protocol: str, chunks: list[bytes], step: float = 0.002) -> str:
    """A `scanner-agent record` file of `chunks` (raw bytes or reports) `step` seconds apart,
    for a `replay` device; its path."""
    import json

    lines = [json.dumps({"recording": 1, "protocol": protocol})]
    lines += [json.dumps({"t": i * step, "hex": c.hex()}) for i, c in enumerate(chunks)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def wait_for(
    sub: Subscription,
    predicate: Callable[[Event], bool],
    timeout: float = 10.0,
    seen: list[Event] | None = None,
) -> Event:
    """The first event matching `predicate` (others are kept in `seen`); fails at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            shown = [type(e).__name__ for e in (seen or [])]
            raise AssertionError(f"no matching event within {timeout} s (saw {shown})")
        event = sub.get(timeout=remaining)
        if event is None:
            continue
        if predicate(event):
            return event
        if seen is not None:
            seen.append(event)


def next_scan(sub: Subscription, timeout: float = 10.0) -> Scan:
    event = wait_for(sub, lambda e: isinstance(e, ScanEvent), timeout)
    assert isinstance(event, ScanEvent)
    return event.scan


def wait_state(sub: Subscription, device_id: str, state: str, timeout: float = 10.0) -> DeviceEvent:
    event = wait_for(
        sub,
        lambda e: (
            isinstance(e, DeviceEvent) and e.status.id == device_id and e.status.state == state
        ),
        timeout,
    )
    assert isinstance(event, DeviceEvent)
    return event


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; fails at the timeout (never asserts on timing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def scans_in(events: Iterable[Event]) -> list[Scan]:
    return [e.scan for e in events if isinstance(e, ScanEvent)]


# A HID POS report descriptor in the shape of the usage tables: report ID 2, a length byte,
# the three symbology identifier bytes, 56 bytes of decoded data, two vendor bytes, then the
# continuation bit, on usage page 0x8C.
POS_DESCRIPTOR = bytes(
    [0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01,  # usage page POS, usage (scanner), collection
     0x09, 0x12, 0xA1, 0x02,  # usage scanned data report, logical collection
     0x85, 0x02,  # report ID 2
     0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08,  # logical 0..255, 8 bits
     0x95, 0x01, 0x05, 0x01, 0x09, 0x3B, 0x81, 0x02,  # 1 byte: byte count (generic desktop)
     0x05, 0x8C,
     0x95, 0x03, 0x09, 0xFB, 0x09, 0xFC, 0x09, 0xFD, 0x81, 0x02,  # AIM bytes
     0x95, 0x38, 0x09, 0xFE, 0x82, 0x02, 0x01,  # 56 bytes decoded data (buffered bytes)
     0x95, 0x02, 0x06, 0x66, 0xFF, 0x09, 0x01, 0x09, 0x02, 0x81, 0x02,  # 2 vendor bytes
     0x05, 0x8C, 0x75, 0x01, 0x95, 0x01, 0x25, 0x01, 0x09, 0xFF, 0x81, 0x02,  # continued bit
     0x95, 0x07, 0x81, 0x03,  # padding
     0xC0, 0xC0]
)  # fmt: skip


# An older reader: report ID 3, no symbology identifier bytes, data right after the length
# byte, 60 data bytes, the continuation bit in bit 1 of the last byte.
OLD_READER_DESCRIPTOR = bytes(
    [0x05, 0x8C, 0x09, 0x02, 0xA1, 0x01, 0x85, 0x03,
     0x75, 0x08, 0x95, 0x01, 0x09, 0x3B, 0x81, 0x02,
     0x95, 0x3C, 0x09, 0xFE, 0x82, 0x02, 0x01,
     0x75, 0x01, 0x95, 0x01, 0x81, 0x03,  # one padding bit
     0x95, 0x01, 0x09, 0xFF, 0x81, 0x02,
     0x95, 0x06, 0x81, 0x03, 0xC0]
)  # fmt: skip


class PtyScanner:
    """A scanner on a pseudo-terminal, reached through a stable link as /dev/serial/by-id."""

    def __init__(self, folder: Path, name: str = "usb-Test_Scanner-if00") -> None:
        self.link = folder / name
        self.master = -1
        self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, self.link)  # re-pointed atomically, as udev does

    def unplug(self) -> None:
        for fd in (self.slave, self.master):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def write(self, data: bytes) -> None:
        os.write(self.master, data)


class AgentRunner:
    """Starts agents on device configurations (reconnecting fast), each with a subscription
    made before it starts; `stop_all()` at the end of the test."""

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.agents: list[Agent] = []

    def make(
        self,
        devices: Iterable[dict[str, Any]],
        driver_factory: DriverFactory = build_driver,
        **pipeline: Any,
    ) -> Agent:
        settings = Settings.model_validate(
            {
                "devices": list(devices),
                "pipeline": {"reconnect_min_s": 0.05, "reconnect_max_s": 0.2, **pipeline},
            }
        )
        return Agent(
            settings,
            context=self.context,
            driver_factory=driver_factory,
            today=lambda: TODAY,
            storage=False,
        )

    def start(
        self,
        devices: Iterable[dict[str, Any]],
        driver_factory: DriverFactory = build_driver,
        **pipeline: Any,
    ) -> tuple[Agent, Subscription]:
        agent = self.make(devices, driver_factory, **pipeline)
        sub = agent.bus.subscribe("test", maxsize=10_000)
        agent.start()
        self.agents.append(agent)
        return agent, sub

    def stop_all(self) -> None:
        for agent in self.agents:
            agent.stop()


def damaged_datamatrix(payload: bytes, module_px: int = 6) -> Any:
    """The Data Matrix of `payload` with its middle blanked, its L finder and timing edges
    kept: the decoders locate it and read nothing (`Reading.unreadable`)."""
    import numpy as np  # OpenCV and numpy only where a camera test uses them

    from tests.helpers import synthetic

    code = np.array(synthetic.datamatrix(payload, module_px))
    h, w = code.shape
    code[h // 4 : h - h // 4, w // 4 : w - w // 4] = 255
    return code


def camera_video(path: Path, scenes: list[tuple[Any, int]], fps: float = 30) -> Path:
    """A MJPG AVI (which OpenCV opens like a camera) of 640x480 white frames, each scene
    `(symbol image or None, frames)` showing that grey symbol in the middle. Written beside
    `path` and renamed into place, so that a camera waiting for the file never opens half of
    it."""
    import cv2
    import numpy as np  # OpenCV and numpy only where a camera test uses them

    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for symbol, count in scenes:
        frame = np.full((480, 640), 255, np.uint8)
        if symbol is not None:
            h, w = symbol.shape
            y, x = (480 - h) // 2, (640 - w) // 3
            frame[y : y + h, x : x + w] = symbol
        image = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        for _ in range(count):
            writer.write(image)
    writer.release()
    partial.replace(path)
    return path

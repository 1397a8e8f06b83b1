"""Reading a device for the external and interactive levels, as the agent would.

`read_device` opens the device's driver, reads for a while (or until `done`), frames
what arrives with the device's own framer and parses it through a private pipeline; it
returns what was `Observed`: the raw bytes of a serial port, the scans, what no suffix
ended, the bytes skipped, timings and the device's status with its diagnostics. The
checks of traffic, camera and test card judge that record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scanner_agent.bus import EventBus
from scanner_agent.config import DeviceConfig, ReplayDevice
from scanner_agent.devices import DriverSetup
from scanner_agent.framing import Frame
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import DeviceStates, Incoming, Pipeline
from scanner_agent.scan import DeviceStatus, Scan
from scanner_agent.selftest.options import Options


@dataclass
class Observed:
    """What one device sent during the test."""

    raw: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    scans: list[tuple[Frame, Scan]] = field(default_factory=list)
    unterminated: list[Frame] = field(default_factory=list)
    skipped: int = 0
    elapsed_s: float = 0.0
    first_code_s: float | None = None
    complete_s: float | None = None
    status: DeviceStatus | None = None


def protocol_of(config: DeviceConfig) -> str:
    return config.protocol if isinstance(config, ReplayDevice) else config.type


def read_device(
    config: DeviceConfig,
    setup: DriverSetup,
    context: ParseContext,
    options: Options,
    seconds: float,
    done: Callable[[list[tuple[Frame, Scan]]], bool] = lambda scans: False,
    opened: Callable[[], None] = lambda: None,
) -> Observed:
    """Open, read for `seconds` (or until `done`), frame and parse as the agent would."""
    bus = EventBus()
    states = DeviceStates(bus, [DeviceStatus(id=config.id, type=config.type)])
    pipeline = Pipeline(context, bus, states, duplicate_window_s=0, today=options.today)
    layout = setup.layout
    seen = Observed()
    driver = setup.driver
    monotonic = options.monotonic
    driver.open()  # DeviceError goes to the caller
    try:
        opened()
        framer = setup.make_framer()
        start = monotonic()
        deadline = start + seconds

        def take(frames: Sequence[Frame]) -> None:
            for frame in frames:
                seen.skipped += frame.skipped
                scan = pipeline.process(Incoming(config.id, setup.source, frame, layout))
                if scan is not None:
                    seen.scans.append((frame, scan))
                    if seen.first_code_s is None:
                        seen.first_code_s = monotonic() - start

        while True:
            now = monotonic()
            if now >= deadline or driver.exhausted:
                break
            timeout = min(0.1, deadline - now)
            held = framer.deadline()
            if held is not None:
                timeout = max(0.0, min(timeout, held - now))
            chunk = driver.read(timeout)
            now = monotonic()
            if chunk is not None:
                seen.chunks += 1
                if isinstance(chunk, bytes | bytearray) and protocol_of(config) == "serial":
                    seen.raw += chunk
                take(framer.feed(chunk, now))
            else:
                take(framer.poll(now))
            if seen.scans and done(seen.scans):
                seen.complete_s = monotonic() - start
                break
        seen.elapsed_s = monotonic() - start
        leftover = framer.flush(monotonic())
        if (
            protocol_of(config) in ("serial", "hid_keyboard")
            and getattr(config, "suffix", "none") != "none"
        ):
            seen.unterminated = leftover  # bytes the configured suffix never ended
        else:
            take(leftover)
    finally:
        with contextlib.suppress(Exception):
            driver.close()
    seen.status = states.get(config.id)
    return seen

"""Shared helpers of the device tests: sample payloads, HID reports, waiting on the bus."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from drivers import keymaps
from scanner_agent.bus import DeviceEvent, Event, ScanEvent, Subscription
from scanner_agent.framing import keyboard_reports
from scanner_agent.scan import Scan

GS = b"\x1d"
VALID = (
    b"AMCTP01"
    + GS
    + GS.join(
        [b"AMC:0775627391", b"TC:MU", b"CSR:", b"ADH:12345678", b"DD:20260101", b"DF:20261231"]
    )
)
VALID_PIPE = b"AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630"
FIXED = b"AMCTPF10775627391MU SP    01 202601012026123112345678"
BAD_AMC = b"AMCTP01|AMC:07756|TC:MU|CSR:|ADH:42|DD:20260101|DF:20261231"
# A code longer than one HID POS report (56 data bytes)
LONG = b"AMCTP01|AMC:0775627391|TC:MU,SP,IS|CSR:ABCDEFGHIJ|ADH:LONG MEMBER 1234567890/ABC-99|DD:20260101|DF:20261231"  # noqa: E501


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

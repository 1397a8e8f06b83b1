"""The hub on its own: event ids, replay (scans from the scans service, device changes from
its own memory), slow listeners. What the service keeps, finds and erases is tested in
`test_scans_service.py`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from api.hub import EventId, Hub, _Listener
from scanner_agent.bus import DeviceEvent, EventBus, ScanEvent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import DeviceStatus
from scanner_agent.scans import ScanService
from tests.helpers.api import make_scan

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def hub(window: int = 100) -> Hub:
    bus = EventBus()
    scans = ScanService(bus, window=window, clock=lambda: NOW)
    scans.boot = 5
    h = Hub(bus, scans, replay_events=100)
    h.subscribe()
    return h


def dispatch(h: Hub) -> None:
    """What the hub's task does with each event published so far."""
    assert h._sub is not None
    while (event := h._sub.get_nowait()) is not None:
        h._dispatch(event)


def replay(h: Hub, last: str) -> str:
    chunks = asyncio.run(h._replay(last, h._last_seq, list(h._devices)))
    return b"".join(chunks).decode()


def test_event_ids_parse_and_order():
    assert EventId.parse("17-3") == EventId(17, 3)
    assert str(EventId(17, 3)) == "17-3"
    assert EventId(17, 30) > EventId(17, 4) > EventId(16, 99)
    for bad in (None, "", "17", "17-", "a-1", "1-2-3", "-1-2", "9" * 25 + "-1"):
        assert EventId.parse(bad) is None


def test_replay_merges_the_services_scans_and_device_changes(context: ParseContext):
    h = hub()
    old = make_scan(context, received_at=NOW - timedelta(hours=25))
    kept = make_scan(context, received_at=NOW - timedelta(hours=1))
    erased = make_scan(context, received_at=NOW - timedelta(minutes=5))
    h.scans.record(old)
    h.scans.record(kept)
    h.bus.publish(DeviceEvent(DeviceStatus(id="d", type="x")))
    h.scans.record(erased)
    dispatch(h)
    assert h.scans.erase(erased.id)
    text = replay(h, "5-0")
    assert text.index(f'id: 5-2\nevent: scan\ndata: {{"id":"{kept.id}"') < text.index(
        "id: 5-3\nevent: device"
    )
    assert old.id not in text  # past the retention
    assert erased.id not in text
    assert "replay_incomplete" not in text
    after_kept = replay(h, "5-2")
    assert kept.id not in after_kept
    assert "id: 5-3\nevent: device" in after_kept


def test_an_id_from_the_future_or_garbage_is_incomplete(context: ParseContext):
    h = hub()
    h.scans.record(make_scan(context, received_at=NOW))
    dispatch(h)
    for last in ("5-9", "6-0", "nonsense"):
        assert replay(h, last).startswith("event: replay_incomplete")


def test_older_than_memory_without_storage_is_incomplete(context: ParseContext):
    h = hub(window=2)
    for _ in range(4):
        h.scans.record(make_scan(context, received_at=NOW))
    dispatch(h)
    assert h.scans._floor == 2  # scans 1 and 2 left memory
    chunks = asyncio.run(h._replay("5-1", h._last_seq, []))
    assert chunks[0].startswith(b"event: replay_incomplete")
    assert [c.split(b"\n")[0] for c in chunks[1:]] == [b"id: 5-3", b"id: 5-4"]


def test_a_listener_that_falls_behind_is_marked(context: ParseContext):
    async def go() -> None:
        listener = _Listener(2)
        for seq in range(3):
            listener.put(ScanEvent(make_scan(context), seq), b"")
        assert listener.overflowed
        assert listener.queue.qsize() == 2

    asyncio.run(go())

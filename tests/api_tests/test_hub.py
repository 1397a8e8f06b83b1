"""The hub on its own: event ids, replay from memory, retention, erasure, slow listeners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from api.hub import EventId, Hub, _Listener
from api.metrics import Metrics
from scanner_agent.bus import DeviceEvent, EventBus, ScanEvent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import DeviceStatus
from tests.helpers.api import make_scan

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def hub(replay_events: int = 100) -> Hub:
    return Hub(
        EventBus(),
        boot=5,
        replay_events=replay_events,
        retention_hours=24,
        metrics=Metrics(),
        clock=lambda: NOW,
    )


def test_event_ids_parse_and_order():
    assert EventId.parse("17-3") == EventId(17, 3)
    assert str(EventId(17, 3)) == "17-3"
    assert EventId(17, 30) > EventId(17, 4) > EventId(16, 99)
    for bad in (None, "", "17", "17-", "a-1", "1-2-3", "-1-2", "9" * 25 + "-1"):
        assert EventId.parse(bad) is None


def test_replay_from_memory_skips_expired_and_erased(context: ParseContext):
    h = hub()
    old = make_scan(context, received_at=NOW - timedelta(hours=25))
    kept = make_scan(context, received_at=NOW - timedelta(hours=1))
    erased = make_scan(context, received_at=NOW - timedelta(minutes=5))
    events = [
        ScanEvent(old, 1),
        ScanEvent(kept, 2),
        DeviceEvent(DeviceStatus(id="d", type="x"), 3),
        ScanEvent(erased, 4),
    ]
    for event in events:
        h._append(event)
    assert h.forget(erased.id)
    chunks = asyncio.run(h._replay("5-0", 4, list(h._log), 0, None))
    text = b"".join(chunks).decode()
    assert kept.id in text
    assert "id: 5-3\nevent: device" in text
    assert old.id not in text
    assert erased.id not in text
    assert h.latest() == kept
    assert h.get(old.id) is None
    assert h.purge() == 1


def test_an_id_from_the_future_or_garbage_is_incomplete(context: ParseContext):
    h = hub()
    h._append(ScanEvent(make_scan(context, received_at=NOW), 1))
    for last in ("5-9", "6-0", "nonsense"):
        chunks = asyncio.run(h._replay(last, 1, list(h._log), 0, None))
        assert chunks[0].startswith(b"event: replay_incomplete")


def test_older_than_memory_without_storage_is_incomplete(context: ParseContext):
    h = hub(replay_events=2)
    for seq in range(1, 5):
        h._append(ScanEvent(make_scan(context, received_at=NOW), seq))
    assert h._floor == 2  # events 1 and 2 left memory
    chunks = asyncio.run(h._replay("5-1", 4, list(h._log), h._floor, None))
    assert chunks[0].startswith(b"event: replay_incomplete")
    assert [c.split(b"\n")[0] for c in chunks[1:]] == [b"id: 5-3", b"id: 5-4"]


def test_a_listener_that_falls_behind_is_marked(context: ParseContext):
    async def go() -> None:
        listener = _Listener(2)
        for seq in range(3):
            listener.put(ScanEvent(make_scan(context), seq))
        assert listener.overflowed
        assert listener.queue.qsize() == 2

    asyncio.run(go())

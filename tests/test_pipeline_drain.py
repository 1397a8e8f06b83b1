"""`Pipeline.drain`: a reader waits for its last frames' scans before saying its device ended."""

from __future__ import annotations

from scanner_agent.bus import EventBus, ScanEvent
from scanner_agent.framing import make_frame
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import DeviceStates, Incoming, Pipeline
from scanner_agent.scan import DeviceStatus
from tests.helpers.samples import BAD_AMC, VALID, VALID_PIPE


def test_drain_returns_once_every_frame_submitted_before_is_published(
    context: ParseContext,
) -> None:
    bus = EventBus()
    sub = bus.subscribe("test")
    states = DeviceStates(bus, [DeviceStatus(id="d", type="serial", state="connected")])
    pipeline = Pipeline(context, bus, states, duplicate_window_s=0)
    payloads = [VALID, VALID_PIPE, BAD_AMC] * 10
    frames = [make_frame(p, float(i)) for i, p in enumerate(payloads)]
    assert not pipeline.drain(timeout=0.1)  # no worker: nothing would ever be processed
    pipeline.start()
    try:
        for frame in frames:
            assert frame is not None
            assert pipeline.submit(Incoming("d", "serial", frame))
        assert pipeline.drain()
        published = []
        while (event := sub.get_nowait()) is not None:
            assert isinstance(event, ScanEvent)
            published.append(event.scan.attestation.amc_number)
        assert published == ["0775627391", "774734488", None] * 10
        assert pipeline.pending() == 0
    finally:
        pipeline.stop()

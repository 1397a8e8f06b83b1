"""The indicators' labels on /metrics, bounded: scans by source and decision, by reason, by ROC
status and reason; every label value from a known list, anything else `other`; never an AMC
number, a member number or a free text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from api.metrics import label_families, render
from scanner_agent.attestation import ReasonCode, RocReason
from scanner_agent.bus import EventBus, ScanEvent
from scanner_agent.indicators import SOURCES
from scanner_agent.metrics import EventCounts
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from tests.helpers.api import OTHER, VALID
from tests.helpers.payloads import Fields, tagged
from tests.helpers.samples import BAD_AMC, TODAY

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MEMBER = "QX55501234"


def scan(context: ParseContext, payload: str, device: str = "desk", source: str = "serial") -> Scan:
    return Scan(
        received_at=AT,
        device_id=device,
        source=source,  # type: ignore[arg-type]
        attestation=context.parse(payload.encode("latin-1"), TODAY),
    )


def samples(text: str, name: str) -> dict[str, int]:
    """`{'{labels}': value}` of one family in the Prometheus text."""
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}}) (\d+)$", re.M)
    return {labels: int(value) for labels, value in pattern.findall(text)}


def test_counted_by_source_decision_reason_and_roc(context: ParseContext):
    counts = EventCounts(EventBus(), protocols={"bench": "hid_pos"})
    counts.count(ScanEvent(scan(context, VALID)))
    counts.count(ScanEvent(scan(context, OTHER)))  # covered, hors_roc not_connected
    counts.count(ScanEvent(scan(context, BAD_AMC.decode("ascii"), "kiosk", "camera")))
    counts.count(ScanEvent(scan(context, VALID, "bench", "replay")))  # replays a HID POS
    text = render(label_families(counts.snapshot()))
    assert samples(text, "scanner_agent_source_decisions_total") == {
        '{source="camera",decision="refused"}': 1,
        '{source="hid",decision="covered"}': 1,
        '{source="serial",decision="covered"}': 2,
    }
    assert samples(text, "scanner_agent_decision_reasons_total") == {
        '{source="camera",reason="invalid_payload"}': 1,
    }
    assert samples(text, "scanner_agent_roc_total") == {
        '{source="camera",status="unknown",reason="none"}': 1,
        '{source="hid",status="roc",reason="none"}': 1,
        '{source="serial",status="hors_roc",reason="not_connected"}': 1,
        '{source="serial",status="roc",reason="none"}': 1,
    }


def test_label_values_are_bounded(context: ParseContext):
    counts = EventCounts(EventBus())
    member = tagged(Fields(amc_number="0775627391", member_number=MEMBER)).decode("latin-1")
    good = scan(context, member)
    strange = good.model_copy(update={"source": "fax-" + MEMBER})
    judged = good.attestation.model_copy(update={"decision": "valid " + MEMBER})
    counts.count(ScanEvent(strange))
    counts.count(ScanEvent(good.model_copy(update={"attestation": judged})))
    counts.count(ScanEvent(scan(context, "AMCTP01|free text " + MEMBER, "desk", "hid_keyboard")))
    text = render(label_families(counts.snapshot()))
    assert MEMBER not in text and "0775627391" not in text and "free text" not in text
    known = {
        "source": {*SOURCES, "other"},
        "decision": {"covered", "check", "not_covered", "refused", "other"},
        "status": {"roc", "hors_roc", "unknown", "other"},
    }
    reasons = {r.value for r in ReasonCode} | {r.value for r in RocReason} | {"none", "other"}
    for name, value in re.findall(r'(\w+)="([^"]*)"', text):
        assert value in known.get(name, reasons), (name, value)
    assert samples(text, "scanner_agent_source_decisions_total") == {
        '{source="keyboard",decision="refused"}': 1,
        '{source="other",decision="covered"}': 1,
        '{source="serial",decision="other"}': 1,
    }

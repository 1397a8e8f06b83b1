"""/metrics of the running agent: the indicators' labels counted from the scans on the bus."""

from __future__ import annotations

from fastapi.testclient import TestClient

from scanner_agent.parse_context import ParseContext
from tests.helpers.api import OTHER, VALID, make_scan, publish
from tests.helpers.devices import wait_until


def test_metrics_by_source_decision_reason_and_roc(client: TestClient, context: ParseContext):
    app = client.app
    publish(app, make_scan(context, VALID, "desk"))  # type: ignore[arg-type]
    publish(app, make_scan(context, OTHER, "desk"))  # type: ignore[arg-type]
    publish(app, make_scan(context, "garbage", "desk"))  # type: ignore[arg-type]
    expected = [
        'scanner_agent_source_decisions_total{source="serial",decision="covered"} 2',
        'scanner_agent_source_decisions_total{source="serial",decision="refused"} 1',
        'scanner_agent_decision_reasons_total{source="serial",reason="invalid_payload"} 1',
        'scanner_agent_roc_total{source="serial",status="hors_roc",reason="not_connected"} 1',
        'scanner_agent_roc_total{source="serial",status="roc",reason="none"} 1',
        'scanner_agent_roc_total{source="serial",status="unknown",reason="none"} 1',
    ]
    wait_until(lambda: all(line in client.get("/metrics").text for line in expected))
    text = client.get("/metrics").text
    assert "# TYPE scanner_agent_roc_total counter" in text
    assert "0775627391" not in text and "774734488" not in text

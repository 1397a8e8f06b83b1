"""Counters of what happens in the agent, kept by their own bus subscriber.

    counts = EventCounts(bus)
    counts.subscribe()                    # before anything publishes
    task = asyncio.create_task(counts.run())   # counts each event in the event loop
    counts.snapshot()                     # scans by (device, outcome), device errors, decodes
    counts.observe_decode(0.12, None)     # an upload decoded (by whoever decodes it)
    counts.close()                        # `run` returns

Counted: scans by device and outcome (`valid`: well-formed, `refused`), scans by device and
decision when read (`covered`, `check`, `not_covered`, `refused`), times a device went into the
error state, decode times and decode failures by code; and, with the indicators' labels in
bounded form, scans by source and decision, by source and each reason of the decision, by source,
ROC status and ROC reason. A label's value is only ever one of a known list (the indicators'
`SOURCES`, the decisions, the reason and ROC enums; `none` for no ROC reason), anything else is
`other`: never an AMC number, a member number or a free text. Nothing here holds personal data.
The API renders these in the Prometheus text format (`api.metrics`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import get_args

from scanner_agent.attestation import Decision, ReasonCode, RocReason, RocStatus
from scanner_agent.bus import DeviceEvent, Event, EventBus, ScanEvent, Subscription
from scanner_agent.indicators import SOURCES, source_of

DECODE_BUCKETS_S: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

OTHER = "other"
"""The label value of anything not in a label's known list."""
NO_REASON = "none"
DECISION_LABELS: frozenset[str] = frozenset(get_args(Decision))
REASON_LABELS: frozenset[str] = frozenset(r.value for r in ReasonCode)
ROC_STATUS_LABELS: frozenset[str] = frozenset(get_args(RocStatus))
ROC_REASON_LABELS: frozenset[str] = frozenset({NO_REASON, *(r.value for r in RocReason)})
SOURCE_LABELS: frozenset[str] = frozenset(SOURCES)


def bounded(value: str | None, known: Collection[str]) -> str:
    """`value` if it is one of `known`, else `other`: a label never takes an unknown value."""
    return value if value is not None and value in known else OTHER


@dataclass
class Counts:
    """A copy of the counters at one moment."""

    scans: Counter[tuple[str, str]] = field(default_factory=Counter)
    device_errors: Counter[str] = field(default_factory=Counter)
    decode_buckets: list[int] = field(default_factory=lambda: [0] * len(DECODE_BUCKETS_S))
    decode_count: int = 0
    decode_sum: float = 0.0
    decode_failures: Counter[str] = field(default_factory=Counter)
    events: int = 0
    """Events counted so far (scans and device changes)."""
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Scans by device and decision when they were read (for the day they were read)."""
    source_decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Scans by (source, decision), bounded."""
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Scans by (source, reason), once under each reason of their decision, bounded."""
    roc: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Scans by (source, ROC status, ROC reason or `none`), bounded."""


class EventCounts:
    """Thread-safe counters fed by their own bus subscription (`run`) and by `count`."""

    def __init__(
        self,
        bus: EventBus,
        *,
        maxsize: int = 65_536,
        protocols: Mapping[str, str] | None = None,
    ) -> None:
        self.bus = bus
        self.maxsize = maxsize
        self.protocols = dict(protocols or {})
        """Replay device id → the protocol it replays (its scans' source)."""
        self._lock = threading.Lock()
        self._counts = Counts()
        self._sub: Subscription | None = None

    def subscribe(self) -> None:
        """Subscribe to the bus (before devices publish)."""
        if self._sub is None:
            self._sub = self.bus.subscribe("metrics", maxsize=self.maxsize)

    async def run(self) -> None:
        """Count every event, in the event loop, until `close()`."""
        self.subscribe()
        assert self._sub is not None
        async for event in self._sub:
            self.count(event)

    def close(self) -> None:
        if self._sub is not None:
            self._sub.close()

    @property
    def dropped(self) -> int:
        return self._sub.dropped if self._sub else 0

    def count(self, event: Event) -> None:
        with self._lock:
            counts = self._counts
            counts.events += 1
            if isinstance(event, ScanEvent):
                outcome = "valid" if event.scan.attestation.valid else "refused"
                counts.scans[(event.scan.device_id, outcome)] += 1
                counts.decisions[(event.scan.device_id, event.scan.attestation.decision)] += 1
                self._count_labels(counts, event)
            elif isinstance(event, DeviceEvent) and event.status.state == "error":
                counts.device_errors[event.status.id] += 1

    def _count_labels(self, counts: Counts, event: ScanEvent) -> None:
        scan = event.scan
        a = scan.attestation
        source = bounded(source_of(scan.source, self.protocols.get(scan.device_id)), SOURCE_LABELS)
        counts.source_decisions[(source, bounded(a.decision, DECISION_LABELS))] += 1
        for reason in dict.fromkeys(a.reason_codes()):
            counts.reasons[(source, bounded(reason, REASON_LABELS))] += 1
        roc_reason = a.roc.reason.value if a.roc.reason is not None else NO_REASON
        status = bounded(a.roc.status, ROC_STATUS_LABELS)
        counts.roc[(source, status, bounded(roc_reason, ROC_REASON_LABELS))] += 1

    def observe_decode(self, seconds: float, error_code: str | None = None) -> None:
        with self._lock:
            counts = self._counts
            counts.decode_count += 1
            counts.decode_sum += seconds
            for i, bound in enumerate(DECODE_BUCKETS_S):
                if seconds <= bound:
                    counts.decode_buckets[i] += 1
            if error_code:
                counts.decode_failures[error_code] += 1

    def snapshot(self) -> Counts:
        with self._lock:
            c = self._counts
            return Counts(
                Counter(c.scans),
                Counter(c.device_errors),
                list(c.decode_buckets),
                c.decode_count,
                c.decode_sum,
                Counter(c.decode_failures),
                c.events,
                Counter(c.decisions),
                Counter(c.source_decisions),
                Counter(c.reasons),
                Counter(c.roc),
            )


__all__ = ["DECODE_BUCKETS_S", "OTHER", "Counts", "EventCounts", "bounded"]

"""Counters for `GET /metrics`, written in the Prometheus text format (version 0.0.4) by hand.

Counted here: scans by device and outcome, device errors, decode times; read when scraped:
reconnects (from the devices' counters), storage state and backlog, events lost by slow
subscribers, connected event streams.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence

from scanner_agent.bus import DeviceEvent, Event, ScanEvent
from scanner_agent.scan import DeviceStatus

DECODE_BUCKETS_S: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Family:
    """One metric: its help line, type and samples."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples: list[tuple[str, Sequence[tuple[str, str]], float]] = []

    def add(self, value: float, suffix: str = "", **labels: str) -> Family:
        self.samples.append((suffix, tuple(labels.items()), value))
        return self

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        lines += [f"{self.name}{s}{_labels(lab)} {_number(v)}" for s, lab, v in self.samples]
        return "\n".join(lines)


class Metrics:
    """Thread-safe counters fed by the API's bus subscriber and the decode route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.scans: Counter[tuple[str, str]] = Counter()
        self.device_errors: Counter[str] = Counter()
        self.decode_buckets = [0] * len(DECODE_BUCKETS_S)
        self.decode_count = 0
        self.decode_sum = 0.0
        self.decode_failures: Counter[str] = Counter()

    def count(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, ScanEvent):
                outcome = "valid" if event.scan.attestation.valid else "refused"
                self.scans[(event.scan.device_id, outcome)] += 1
            elif isinstance(event, DeviceEvent) and event.status.state == "error":
                self.device_errors[event.status.id] += 1

    def observe_decode(self, seconds: float, error_code: str | None = None) -> None:
        with self._lock:
            self.decode_count += 1
            self.decode_sum += seconds
            for i, bound in enumerate(DECODE_BUCKETS_S):
                if seconds <= bound:
                    self.decode_buckets[i] += 1
            if error_code:
                self.decode_failures[error_code] += 1

    def families(self) -> Iterable[Family]:
        with self._lock:
            scans = Family(
                "scanner_agent_scans_total",
                "counter",
                "Scans received, by device and outcome (valid or refused).",
            )
            for (device, outcome), n in sorted(self.scans.items()):
                scans.add(n, device=device, outcome=outcome)
            errors = Family(
                "scanner_agent_device_errors_total",
                "counter",
                "Times a device went into the error state.",
            )
            for device, n in sorted(self.device_errors.items()):
                errors.add(n, device=device)
            decode = Family(
                "scanner_agent_decode_seconds",
                "histogram",
                "Time to decode one uploaded image or PDF.",
            )
            for bound, n in zip(DECODE_BUCKETS_S, self.decode_buckets, strict=True):
                decode.add(n, "_bucket", le=_number(bound))
            decode.add(self.decode_count, "_bucket", le="+Inf")
            decode.add(self.decode_sum, "_sum").add(self.decode_count, "_count")
            failures = Family(
                "scanner_agent_decode_errors_total",
                "counter",
                "Uploads that could not be read, by error code.",
            )
            for code, n in sorted(self.decode_failures.items()):
                failures.add(n, code=code)
        return [scans, errors, decode, failures]


def device_families(devices: Sequence[DeviceStatus]) -> list[Family]:
    reconnects = Family(
        "scanner_agent_device_reconnects_total",
        "counter",
        "Times a device was reopened after being lost.",
    )
    dropped = Family(
        "scanner_agent_device_frames_dropped_total",
        "counter",
        "Frames a device produced that were lost.",
    )
    up = Family("scanner_agent_device_connected", "gauge", "1 when the device is connected.")
    for device in devices:
        reconnects.add(device.counters.reconnects, device=device.id)
        dropped.add(device.counters.frames_dropped, device=device.id)
        up.add(1 if device.state == "connected" else 0, device=device.id)
    return [reconnects, dropped, up]


def render(families: Iterable[Family]) -> str:
    return "\n".join(f.render() for f in families) + "\n"

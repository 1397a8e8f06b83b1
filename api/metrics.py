"""The Prometheus text format (version 0.0.4), written by hand, of the agent's counters.

The counting is done in the core (`scanner_agent.metrics.EventCounts`, its own bus
subscriber); this module only renders: scans by device and outcome, device errors, decode
times, scans by source and decision, reason, ROC status and reason (`counts_families`), and
what is read when scraped: reconnects and the cameras' frames decoded and skipped, decode time
and rate, codes seen but unreadable (the devices' counters), storage state and backlog, events
lost by slow subscribers, connected event streams, the AMC referential's size, age and loads
(`referential_families`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scanner_agent.metrics import DECODE_BUCKETS_S, Counts
from scanner_agent.referential_file import ReferentialStatus
from scanner_agent.scan import DeviceStatus


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


def counts_families(counts: Counts) -> list[Family]:
    scans = Family(
        "scanner_agent_scans_total",
        "counter",
        "Scans received, by device and outcome (valid: well-formed, or refused).",
    )
    for (device, outcome), n in sorted(counts.scans.items()):
        scans.add(n, device=device, outcome=outcome)
    decisions = Family(
        "scanner_agent_decisions_total",
        "counter",
        "Scans received, by device and decision on the day they were read "
        "(covered, check, not_covered, refused).",
    )
    for (device, decision), n in sorted(counts.decisions.items()):
        decisions.add(n, device=device, decision=decision)
    errors = Family(
        "scanner_agent_device_errors_total",
        "counter",
        "Times a device went into the error state.",
    )
    for device, n in sorted(counts.device_errors.items()):
        errors.add(n, device=device)
    decode = Family(
        "scanner_agent_decode_seconds",
        "histogram",
        "Time to decode one uploaded image or PDF.",
    )
    for bound, n in zip(DECODE_BUCKETS_S, counts.decode_buckets, strict=True):
        decode.add(n, "_bucket", le=_number(bound))
    decode.add(counts.decode_count, "_bucket", le="+Inf")
    decode.add(counts.decode_sum, "_sum").add(counts.decode_count, "_count")
    failures = Family(
        "scanner_agent_decode_errors_total",
        "counter",
        "Uploads that could not be read, by error code.",
    )
    for code, n in sorted(counts.decode_failures.items()):
        failures.add(n, code=code)
    return [scans, decisions, errors, decode, failures, *label_families(counts)]


def label_families(counts: Counts) -> list[Family]:
    """The indicators' labels in bounded form (each value from a known list, else `other`)."""
    by_source = Family(
        "scanner_agent_source_decisions_total",
        "counter",
        "Scans received, by source (serial, hid, keyboard, camera, upload, manual, demo) and "
        "decision on the day they were read.",
    )
    for (source, decision), n in sorted(counts.source_decisions.items()):
        by_source.add(n, source=source, decision=decision)
    reasons = Family(
        "scanner_agent_decision_reasons_total",
        "counter",
        "Scans received, by source and reason of their decision (a scan counts once under each "
        "of its reasons).",
    )
    for (source, reason), n in sorted(counts.reasons.items()):
        reasons.add(n, source=source, reason=reason)
    roc = Family(
        "scanner_agent_roc_total",
        "counter",
        "Scans received, by source, ROC status of their AMC (roc, hors_roc, unknown) and its "
        "reason (none unless hors_roc).",
    )
    for (source, status, reason), n in sorted(counts.roc.items()):
        roc.add(n, source=source, status=status, reason=reason)
    return [by_source, reasons, roc]


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
    frames = Family(
        "scanner_agent_camera_frames_total",
        "counter",
        "Camera frames taken, by device and outcome (decoded, or skipped: decoding was slower "
        "than the camera and the newest frame was decoded instead).",
    )
    decode_s = Family(
        "scanner_agent_camera_decode_seconds_total",
        "counter",
        "Time spent decoding camera frames, by device.",
    )
    rate = Family(
        "scanner_agent_camera_decode_fps",
        "gauge",
        "Camera frames decoded a second over the last few seconds, by device.",
    )
    unreadable = Family(
        "scanner_agent_unreadable_codes_total",
        "counter",
        "Times a camera saw a code it could not read (code_unreadable events), by device.",
    )
    for device in devices:
        counters = device.counters
        reconnects.add(counters.reconnects, device=device.id)
        dropped.add(counters.frames_dropped, device=device.id)
        up.add(1 if device.state == "connected" else 0, device=device.id)
        if device.type != "camera":
            continue
        frames.add(counters.frames_decoded, device=device.id, outcome="decoded")
        frames.add(counters.frames_skipped, device=device.id, outcome="skipped")
        decode_s.add(counters.decode_ms_total / 1000, device=device.id)
        unreadable.add(counters.unreadable_codes, device=device.id)
        if counters.decode_fps is not None:
            rate.add(counters.decode_fps, device=device.id)
    return [reconnects, dropped, up, frames, decode_s, rate, unreadable]


def referential_families(status: ReferentialStatus) -> list[Family]:
    entries = Family(
        "scanner_agent_referential_entries", "gauge", "AMCs in the AMC referential in use."
    ).add(status.entries)
    age = Family(
        "scanner_agent_referential_age_days",
        "gauge",
        "Days since the AMC referential's newest `updated` date (absent when no line says).",
    )
    if status.age_days is not None:
        age.add(status.age_days)
    ok = Family(
        "scanner_agent_referential_load_ok",
        "gauge",
        "0 while the referential's file fails to load (the previous one stays in use), else 1.",
    ).add(0 if status.error else 1)
    errors = Family(
        "scanner_agent_referential_load_errors_total",
        "counter",
        "Loads of the referential's file that failed since start.",
    ).add(status.load_errors)
    return [entries, age, ok, errors]


def render(families: Iterable[Family]) -> str:
    return "\n".join(f.render() for f in families) + "\n"

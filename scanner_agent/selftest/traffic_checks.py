"""Checks of what a scanner sent while it was read: the suffix it really ends codes with
(against the configured one), bytes that belong to no code, codes read and refused, the
AIM symbology identifier, lost GS separators, and the pipeline's diagnostics (a keyboard
layout mismatch, frames dropped).
"""

from __future__ import annotations

import re

from scanner_agent.aim import describe as describe_symbology
from scanner_agent.config import DeviceConfig
from scanner_agent.framing import SUFFIXES
from scanner_agent.pipeline import KEYBOARD_LAYOUT_MISMATCH
from scanner_agent.selftest.device_reading import Observed, protocol_of
from scanner_agent.selftest.report import Check, check


def detected_suffix(raw: bytes) -> str | None:
    """The line end a scanner sends, from the raw bytes: cr, lf, crlf, tab, or None."""
    crlf = raw.count(b"\r\n")
    counts = {
        "crlf": crlf,
        "cr": raw.count(b"\r") - crlf,
        "lf": raw.count(b"\n") - crlf,
        "tab": raw.count(b"\t"),
    }
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count else None


# The pipeline's diagnostic (pipeline._other_layout), read back into the check's parameters.
_LAYOUT_MISMATCH = re.compile(
    r"with the '(?P<layout>[^']*)' keyboard layout, not '(?P<configured>[^']*)': "
    r"set layout = \"[^\"]*\" for device '(?P<device>[^']*)'"
)


def layout_mismatch(diagnostic: str) -> Check:
    """The `keyboard_layout_mismatch` check of the pipeline's diagnostic: which layout the
    scanner types with, which one is configured, the device (the diagnostic's own text as
    `detail` if it ever reads otherwise)."""
    found = _LAYOUT_MISMATCH.search(diagnostic)
    if found is None:
        return check(
            "keyboard_layout_mismatch", "warn", "keyboard_layout_mismatch.other", detail=diagnostic
        )
    facts = found.groupdict()
    return check("keyboard_layout_mismatch", "warn", "keyboard_layout_mismatch", **facts)


def traffic_checks(config: DeviceConfig, seen: Observed, interactive: bool) -> list[Check]:
    out: list[Check] = []
    scans = [scan for _, scan in seen.scans]
    suffix = getattr(config, "suffix", None)
    if seen.chunks == 0:
        seconds = round(seen.elapsed_s, 3)
        if interactive:
            out.append(check("no_data", "fail", "no_data.interactive", seconds=seconds))
        else:
            out.append(check("no_data", "pass", "no_data.external", seconds=seconds))
        return out
    # framing of byte streams: the raw bytes say which suffix the scanner really sends
    sent = detected_suffix(bytes(seen.raw)) if protocol_of(config) == "serial" else None
    if protocol_of(config) == "serial" and suffix is not None:
        label = {"cr": "CR", "lf": "LF", "crlf": "CR LF", "tab": "TAB"}
        if suffix == "none" and sent is not None:
            out.append(
                check(
                    "idle_framing",
                    "warn",
                    "idle_framing",
                    "idle_framing",
                    sent=label[sent],
                    suffix=sent,
                    device=config.id,
                )
            )
        elif (
            suffix != "none"
            and sent is not None
            and sent != suffix
            and not (suffix == "cr" and sent == "crlf")
            and not (suffix == "lf" and sent == "crlf")  # the CR is stripped: harmless
        ):
            out.append(
                check(
                    "wrong_suffix",
                    "fail" if seen.unterminated else "warn",
                    "wrong_suffix.never_ends" if seen.unterminated else "wrong_suffix",
                    "wrong_suffix",
                    sent=label[sent],
                    configured=label[suffix],
                    suffix=sent,
                    device=config.id,
                )
            )
        elif suffix == "cr" and sent == "crlf":
            out.append(
                check(
                    "wrong_suffix",
                    "warn",
                    "wrong_suffix.crlf",
                    "wrong_suffix.crlf",
                    device=config.id,
                )
            )
        elif sent is None and seen.unterminated:
            out.append(
                check(
                    "frame_never_ends",
                    "fail",
                    "frame_never_ends",
                    "frame_never_ends",
                    count=len(seen.raw),
                    suffix=repr(SUFFIXES[suffix]),
                    device=config.id,
                )
            )
    elif seen.unterminated:
        out.append(
            check(
                "frame_never_ends",
                "fail",
                "frame_never_ends.keys",
                "frame_never_ends.keys",
                device=config.id,
            )
        )
    if any(b"\r" in f.data or b"\n" in f.data for f, _ in seen.scans):
        out.append(check("wrong_suffix", "warn", "wrong_suffix.inside"))
    noise = seen.skipped
    if sent == "crlf" and suffix == "cr":
        noise -= len(seen.scans)  # the other half of each CR LF, already reported
    if noise > 0:
        out.append(check("noise", "warn", "noise", count=noise))
    if scans:
        well_formed = sum(1 for s in scans if s.attestation.valid)
        refused = [s for s in scans if not s.attestation.valid]
        out.append(
            check("codes_read", "pass", "codes_read", count=len(scans), well_formed=well_formed)
        )
        if refused and not interactive:
            codes = sorted({c for s in refused for c in s.attestation.error_codes()})
            out.append(
                check(
                    "codes_refused",
                    "warn",
                    "codes_refused",
                    count=len(refused),
                    errors=", ".join(codes),
                )
            )
        with_aim = sorted({s.symbology for s in scans if s.symbology})
        if config.type != "camera":
            if all(s.symbology for s in scans):
                names = ", ".join(f"{a} ({describe_symbology(a)})" for a in with_aim)
                out.append(check("aim_present", "pass", "aim_present", names=names))
            else:
                out.append(check("aim_missing", "warn", "aim_missing"))
        if any(
            "separators_recovered" in [w.code.value for w in s.attestation.warnings] for s in scans
        ):
            out.append(check("separators_lost", "warn", "separators_lost"))
    status = seen.status
    if status is not None:
        for diagnostic in status.diagnostics:
            if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
                out.append(layout_mismatch(diagnostic.message))
        if status.counters.frames_dropped:
            dropped = status.counters.frames_dropped
            out.append(check("frames_dropped", "warn", "frames_dropped", count=dropped))
    return out

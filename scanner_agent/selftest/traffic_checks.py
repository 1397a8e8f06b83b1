"""Checks of what a scanner sent while it was read: the suffix it really ends codes with
(against the configured one), bytes that belong to no code, codes read and refused, the
AIM symbology identifier, lost GS separators, and the pipeline's diagnostics (a keyboard
layout mismatch, frames dropped).
"""

from __future__ import annotations

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


def traffic_checks(config: DeviceConfig, seen: Observed, interactive: bool) -> list[Check]:
    out: list[Check] = []
    scans = [scan for _, scan in seen.scans]
    suffix = getattr(config, "suffix", None)
    if seen.chunks == 0:
        if interactive:
            out.append(check("no_data", "fail", f"nothing arrived within {seen.elapsed_s:.0f} s"))
        else:
            out.append(
                check(
                    "no_data",
                    "pass",
                    f"opened and read for {seen.elapsed_s:.1f} s: nothing was scanned meanwhile "
                    "(expected; scan the test card with --interactive to check reading)",
                )
            )
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
                    f"the scanner ends its codes with {label[sent]} but the device uses idle "
                    "framing (suffix = none)",
                    f'set suffix = "{sent}" for device {config.id!r}',
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
                    f"the scanner ends its codes with {label[sent]}, the device is configured for "
                    f"{label[suffix]}" + (": codes never end" if seen.unterminated else ""),
                    f'set suffix = "{sent}" for device {config.id!r} (or program the scanner to '
                    f"send {label[suffix]})",
                )
            )
        elif suffix == "cr" and sent == "crlf":
            out.append(
                check(
                    "wrong_suffix",
                    "warn",
                    "the scanner ends its codes with CR LF, the device is configured for CR: "
                    "each LF is left over before the next code",
                    f'set suffix = "crlf" for device {config.id!r}',
                )
            )
        elif sent is None and seen.unterminated:
            out.append(
                check(
                    "frame_never_ends",
                    "fail",
                    f"{len(seen.raw)} byte(s) arrived and no {SUFFIXES[suffix]!r} ever ended "
                    "a code",
                    f'set suffix = "none" for device {config.id!r}, or program the scanner to '
                    "send CR after each code",
                )
            )
    elif seen.unterminated:
        out.append(
            check(
                "frame_never_ends",
                "fail",
                "keys arrived that no Enter (or Tab) ended: the scanner sends another suffix",
                f'set suffix = "none" for device {config.id!r}, or program the scanner to '
                "send Enter after each code",
            )
        )
    if any(b"\r" in f.data or b"\n" in f.data for f, _ in seen.scans):
        out.append(
            check(
                "wrong_suffix",
                "warn",
                "line ends are left inside codes: the scanner sends another suffix than the "
                "configured one",
            )
        )
    noise = seen.skipped
    if sent == "crlf" and suffix == "cr":
        noise -= len(seen.scans)  # the other half of each CR LF, already reported
    if noise > 0:
        out.append(check("noise", "warn", f"{noise} byte(s) before codes belonged to no code"))
    if scans:
        well_formed = sum(1 for s in scans if s.attestation.valid)
        refused = [s for s in scans if not s.attestation.valid]
        out.append(
            check(
                "codes_read",
                "pass",
                f"{len(scans)} code(s) read, {well_formed} well-formed attestation(s)",
            )
        )
        if refused and not interactive:
            codes = sorted({c for s in refused for c in s.attestation.error_codes()})
            out.append(
                check(
                    "codes_refused",
                    "warn",
                    f"{len(refused)} code(s) refused: {', '.join(codes)}",
                )
            )
        with_aim = sorted({s.symbology for s in scans if s.symbology})
        if config.type != "camera":
            if all(s.symbology for s in scans):
                names = ", ".join(f"{a} ({describe_symbology(a)})" for a in with_aim)
                out.append(check("aim_present", "pass", f"AIM identifiers sent: {names}"))
            else:
                out.append(
                    check(
                        "aim_missing",
                        "warn",
                        "the scanner sends no AIM symbology identifier (]d1) before its codes",
                    )
                )
        if any(
            "separators_recovered" in [w.code.value for w in s.attestation.warnings] for s in scans
        ):
            out.append(
                check(
                    "separators_lost",
                    "warn",
                    "GS separators were lost; fields were cut at their tags",
                )
            )
    status = seen.status
    if status is not None:
        for diagnostic in status.diagnostics:
            if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
                out.append(check("keyboard_layout_mismatch", "warn", diagnostic.message))
        if status.counters.frames_dropped:
            out.append(
                check(
                    "frames_dropped",
                    "warn",
                    f"{status.counters.frames_dropped} frame(s) dropped (too long)",
                )
            )
    return out

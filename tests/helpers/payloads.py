"""Build attestation payloads straight from the spec text (not from the layout files), so that
parser tests do not share the parser's assumptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

GS = "\x1d"


@dataclass
class Fields:
    amc_number: str = "0775627391"
    convention_types: list[str] = field(default_factory=lambda: ["MU"])
    routing_criterion: str = ""
    member_number: str = "12345678"
    valid_from: date = date(2026, 1, 1)
    valid_to: date = date(2026, 12, 31)


def tagged(f: Fields, sep: str = GS, aim: str = "", order: list[str] | None = None) -> bytes:
    parts = {
        "AMC": f.amc_number,
        "TC": ",".join(f.convention_types),
        "CSR": f.routing_criterion,
        "ADH": f.member_number,
        "DD": f.valid_from.strftime("%Y%m%d"),
        "DF": f.valid_to.strftime("%Y%m%d"),
    }
    tags = order or list(parts)
    body = "".join(sep + f"{tag}:{parts[tag]}" for tag in tags)
    return (aim + "AMCTP01" + body).encode("latin-1")


def fixed(f: Fields, aim: str = "") -> bytes:
    slots = "".join(code.ljust(3) for code in f.convention_types).ljust(9)
    text = (
        "AMCTPF1"
        + f.amc_number.rjust(10, "0")
        + slots
        + f.routing_criterion.ljust(3)
        + f.valid_from.strftime("%Y%m%d")
        + f.valid_to.strftime("%Y%m%d")
        + f.member_number
    )
    return (aim + text).encode("latin-1")

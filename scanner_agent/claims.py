"""Claims: one desk per scan. The values and errors of `ScanService.claim` and `release`.

    claim = scans.claim(scan_id, "desk-2")     # Claim(scan_id, claimed_by, claimed_at)
    scans.release(scan_id)                      # the claim it removed, or None
    check_client("desk 2")                      # raises InvalidClient

A client is a short name for a desk, a kiosk or a GAP workstation (`CLIENT_PATTERN`): it names
a place, not a person, so it is no personal data and may be logged.

Errors carry a stable `code`, as the API serves it:

    ClaimError
    ├── InvalidClient    `invalid_client`   the client name does not match `CLIENT_PATTERN`
    ├── ScanNotFound     `scan_not_found`   no such scan (erased, or past the retention)
    └── AlreadyClaimed   `already_claimed`  another client holds it (`claim` says who and when)

A scan's JSON carries its claim in its last two keys, `claimed_by` and `claimed_at` (both null
when unclaimed): `with_claim` puts a claim into a scan's JSON text without reading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

CLIENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
"""A client's name: a letter or digit, then at most 63 letters, digits, `.`, `_`, `:` or `-`."""
_CLIENT = re.compile(CLIENT_PATTERN)


class ClaimError(Exception):
    """A claim or a release that cannot be done. `code` is stable."""

    code = "claim_error"


class InvalidClient(ClaimError, ValueError):
    code = "invalid_client"


class ScanNotFound(ClaimError, LookupError):
    code = "scan_not_found"


class AlreadyClaimed(ClaimError):
    """Another client holds the scan: `claim` is its claim (who and since when)."""

    code = "already_claimed"

    def __init__(self, claim: Claim) -> None:
        super().__init__(f"scan already claimed by {claim.claimed_by}")
        self.claim = claim


def check_client(client: str) -> str:
    """`client` when it is a client's name; `InvalidClient` otherwise."""
    if not isinstance(client, str) or _CLIENT.fullmatch(client) is None:
        raise InvalidClient(
            "client: 1 to 64 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit"
        )
    return client


@dataclass(frozen=True, slots=True)
class Claim:
    """Who holds a scan, since when (UTC)."""

    scan_id: str
    claimed_by: str
    claimed_at: datetime


class ClaimFields(BaseModel):
    """The claim keys of a scan's JSON (the same serialisation as `Scan`'s)."""

    model_config = ConfigDict(frozen=True)

    claimed_by: str | None = None
    claimed_at: datetime | None = None


class ClaimState(BaseModel):
    """A scan's claim as the API answers it and the event stream announces it (`event: claim`;
    `claimed_by` and `claimed_at` null when it was released)."""

    model_config = ConfigDict(frozen=True)

    scan_id: str
    claimed_by: str | None
    """The client that holds the scan (a desk, a kiosk), or null."""
    claimed_at: datetime | None
    """Since when (UTC), or null."""


UNCLAIMED_TAIL = ',"claimed_by":null,"claimed_at":null}'
"""How the JSON of an unclaimed scan ends (`Scan`'s last two fields)."""


_CLAIM_KEY = ',"claimed_by":'


def with_claim(scan_json: str, claimed_by: str | None, claimed_at: datetime | None) -> str:
    """A scan's JSON (as `Scan` writes it, or as stored before claims existed, without claim
    keys) with its claim keys set to these values; the rest of the text as it is.

    The claim keys are the scan's last ones, and a key is the only place where
    `,"claimed_by":` can appear unescaped, so its last occurrence is theirs."""
    if scan_json.endswith(UNCLAIMED_TAIL):
        body = scan_json[: -len(UNCLAIMED_TAIL)]
    else:
        cut = scan_json.rfind(_CLAIM_KEY)
        body = scan_json[:cut] if cut >= 0 else scan_json[:-1]  # -1: no claim keys yet
    if claimed_by is None:
        return body + UNCLAIMED_TAIL
    fields = ClaimFields(claimed_by=claimed_by, claimed_at=claimed_at).model_dump_json()
    return body + "," + fields[1:]


__all__ = [
    "CLIENT_PATTERN",
    "UNCLAIMED_TAIL",
    "AlreadyClaimed",
    "Claim",
    "ClaimError",
    "ClaimFields",
    "ClaimState",
    "InvalidClient",
    "ScanNotFound",
    "check_client",
    "with_claim",
]

"""`POST /v1/attestations/validate`: an attestation typed by hand from the printed card (its code
could not be read), checked and judged exactly as `POST /v1/parse` checks and judges a payload.

    POST /v1/attestations/validate
    {"amc_number": "0775627391", "convention_types": ["MU"], "routing_criterion": "",
     "member_number": "12345678", "valid_from": "01/01/2026", "valid_to": "2026-12-31",
     "stay_start": "2026-03-02", "stay_days": 3, "domain": "MCO"}
    → 200, the same `Attestation` as /v1/parse (`layout` "manual")

What the body takes (each element a JSON string, at most 64 characters):

- the six elements under their stable names; one left out, or blank, is empty (`missing_field`
  in the answer's `errors` when the layout requires it, as for a payload);
- `valid_from`, `valid_to` as `YYYY-MM-DD` or as printed on the card, `DD/MM/YYYY`;
- `convention_types` as a list of codes, or one text with the codes separated by `,` or `;`;
- spaces around a value are dropped; nothing else is changed (no case folding);
- `at`, `stay_start` with `stay_days`, `domain`: the question, as for /v1/parse.

A value that breaks its element's rule is a 200 with `status: invalid`, decision `refused` and
the element's code in `errors` (`bad_amc_number`…, each with its `field`): the form to correct.
A body that is not this shape (unknown key, null, a number where text is expected, a bad `at`)
is a 422 with a stable code (`invalid_request`, `invalid_date`, `invalid_domain`).

With `[api] store_manual = true`, a well-formed entry is also recorded as a scan (source and
device `manual`), and its id comes back in the `X-Scan-Id` header; the body stays the
attestation. A refused entry is never recorded. Every entry, recorded or not, refused ones
included, is counted in the indicators (source `manual`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
from starlette.concurrency import run_in_threadpool

from api.cover import CoverFields
from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.agent import NotRunning
from scanner_agent.attestation import FIELD_NAMES, Attestation
from scanner_agent.parser import TypedValue

MAX_TYPED = 64
"""The longest text accepted for one element (the longest element has 30 characters)."""
MAX_CONVENTION_TYPES = 10

router = APIRouter(
    tags=["attestations"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 413, 415, 422),
)

Typed = Annotated[str, Field(max_length=MAX_TYPED)]
TypedDate = Annotated[
    str,
    Field(
        max_length=MAX_TYPED,
        description="YYYY-MM-DD, or DD/MM/YYYY as printed on the card; anything else is "
        "`bad_date` in the answer.",
    ),
]


class ManualEntry(CoverFields):
    """The six elements as typed from the card (omit one rather than sending null), and the
    question (`at`, `stay_start` with `stay_days`, `domain`)."""

    amc_number: Typed | SkipJsonSchema[None] = None
    """The AMC number, digits as printed (leading zeros kept)."""
    convention_types: (
        Annotated[list[Typed], Field(max_length=MAX_CONVENTION_TYPES)]
        | Typed
        | SkipJsonSchema[None]
    ) = None
    """The convention type codes: a list, or one text with `,` or `;` between codes."""
    routing_criterion: Typed | SkipJsonSchema[None] = None
    """The secondary routing criterion (CSR), empty when the card has none."""
    member_number: Typed | SkipJsonSchema[None] = None
    """The member number, as printed (never the patient's NIR)."""
    valid_from: TypedDate | SkipJsonSchema[None] = None
    """The first day of validity."""
    valid_to: TypedDate | SkipJsonSchema[None] = None
    """The last day of validity."""

    def fields(self) -> dict[str, TypedValue]:
        return {name: getattr(self, name) for name in FIELD_NAMES}


_SCAN_ID_HEADER = {
    "X-Scan-Id": {
        "description": "The id of the scan recorded for this entry (`[api] store_manual = "
        "true` and a well-formed entry only).",
        "schema": {"type": "string"},
    }
}


@router.post(
    "/attestations/validate",
    summary="Check and judge an attestation typed by hand",
    responses={200: {"headers": _SCAN_ID_HEADER}, **responses(503)},
)
async def validate(entry: ManualEntry, state: StateDep, response: Response) -> Attestation:
    context = state.agent.context
    cover = context.cover(entry.at, entry.stay(), entry.domain)
    attestation = context.validate_fields(entry.fields(), cover.at, cover.stay, cover.domain)
    if state.settings.api.store_manual and attestation.valid:
        try:
            scan = await run_in_threadpool(state.agent.take_manual, attestation)
        except NotRunning:
            raise ApiError(503, "not_ready", "the agent is starting") from None
        response.headers["X-Scan-Id"] = scan.id
    else:
        await run_in_threadpool(state.agent.count_manual, attestation)
    return attestation

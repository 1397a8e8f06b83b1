"""`POST /v1/parse`: validate one payload and judge it for a date, a stay and an activity,
exactly as `scanner-agent parse --json` does."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from api.cover import CoverFields
from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.attestation import Attestation

BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

router = APIRouter(
    tags=["parse"], dependencies=Authenticated, responses=responses(400, 401, 403, 413, 415, 422)
)


class ParseRequest(CoverFields):
    """`payload` (text, GS or `|` as separators) or `payload_b64` (the exact bytes), not both;
    and the question (`at`, `stay_start` with `stay_days`, `domain`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["payload"]}, {"required": ["payload_b64"]}],
            "dependentRequired": {"stay_start": ["stay_days"], "stay_days": ["stay_start"]},
        },
    )

    payload: Annotated[str, Field(max_length=4096)] | SkipJsonSchema[None] = None
    payload_b64: Annotated[str, Field(max_length=8192, pattern=BASE64)] | SkipJsonSchema[None] = (
        None
    )

    @model_validator(mode="after")
    def _one_payload(self) -> ParseRequest:
        if (self.payload is None) == (self.payload_b64 is None):
            raise ValueError("give exactly one of payload and payload_b64")
        return self


@router.post("/parse", summary="Parse and validate one payload")
async def parse(request: ParseRequest, state: StateDep) -> Attestation:
    if request.payload_b64 is not None:
        try:
            data = base64.b64decode(request.payload_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "bad_base64", "payload_b64 is not valid base64") from None
    else:
        assert request.payload is not None
        data = request.payload.encode("utf-8", "surrogateescape")
    context = state.agent.context
    cover = context.cover(request.at, request.stay(), request.domain)
    return context.parse(data, cover.at, cover.stay, domain=cover.domain)

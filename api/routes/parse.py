"""`POST /v1/parse`: validate one payload, exactly as `scanner-agent parse --json` does."""

from __future__ import annotations

import base64
import binascii
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.attestation import Attestation
from scanner_agent.parser import Stay

router = APIRouter(
    tags=["parse"], dependencies=Authenticated, responses=responses(400, 401, 403, 413, 415, 422)
)


class ParseRequest(BaseModel):
    """`payload` (text, GS or `|` as separators) or `payload_b64` (the exact bytes), not both."""

    model_config = ConfigDict(extra="forbid")

    payload: str | None = Field(default=None, max_length=4096)
    payload_b64: str | None = Field(default=None, max_length=8192)
    at: date | None = None
    """Reference date of the validity (default: the stay's start, or today)."""
    stay_start: date | None = None
    stay_days: int | None = Field(default=None, ge=0, le=3650)

    @model_validator(mode="after")
    def _one_payload(self) -> ParseRequest:
        if (self.payload is None) == (self.payload_b64 is None):
            raise ValueError("give exactly one of payload and payload_b64")
        if (self.stay_start is None) != (self.stay_days is None):
            raise ValueError("stay_start and stay_days go together")
        return self


@router.post("/parse", summary="Parse and validate one payload")
def parse(request: ParseRequest, state: StateDep) -> Attestation:
    if request.payload_b64 is not None:
        try:
            data = base64.b64decode(request.payload_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "bad_base64", "payload_b64 is not valid base64") from None
    else:
        assert request.payload is not None
        data = request.payload.encode("utf-8", "surrogateescape")
    stay = None
    if request.stay_start is not None and request.stay_days is not None:
        stay = Stay(request.stay_start, request.stay_days)
    at = request.at or (stay.start if stay else date.today())
    return state.agent.context.parse(data, at, stay)

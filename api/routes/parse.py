"""`POST /v1/parse`: validate one payload, exactly as `scanner-agent parse --json` does."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.attestation import Attestation
from scanner_agent.parser import Stay


def _text(value: object) -> object:
    """A date is written YYYY-MM-DD; pydantic alone would also take a Unix time."""
    if not isinstance(value, str):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a whole number")
    return value


IsoDate = Annotated[date, BeforeValidator(_text)]

BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

router = APIRouter(
    tags=["parse"], dependencies=Authenticated, responses=responses(400, 401, 403, 413, 415, 422)
)


class ParseRequest(BaseModel):
    """`payload` (text, GS or `|` as separators) or `payload_b64` (the exact bytes), not both."""

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
    at: IsoDate | SkipJsonSchema[None] = None
    """Reference date of the validity (default: the stay's start, or today)."""
    stay_start: IsoDate | SkipJsonSchema[None] = None
    """Planned admission date (with `stay_days`)."""
    stay_days: (
        Annotated[int, Field(ge=0, le=3650), BeforeValidator(_number)] | SkipJsonSchema[None]
    ) = None
    """Expected length of the stay in days, 0 for a same-day stay (with `stay_start`)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: object) -> object:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"omit {', '.join(map(str, nulls))} rather than sending null")
        return data

    @model_validator(mode="after")
    def _one_payload(self) -> ParseRequest:
        if (self.payload is None) == (self.payload_b64 is None):
            raise ValueError("give exactly one of payload and payload_b64")
        if (self.stay_start is None) != (self.stay_days is None):
            raise ValueError("stay_start and stay_days go together")
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
    stay = None
    if request.stay_start is not None and request.stay_days is not None:
        stay = Stay(request.stay_start, request.stay_days)
    at = request.at or (stay.start if stay else date.today())
    return state.agent.context.parse(data, at, stay)

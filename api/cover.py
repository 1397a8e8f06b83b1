"""The question every judging route accepts: `at`, `stay_start`, `stay_days`, `domain`.

`POST /v1/parse` and `POST /v1/attestations/validate` take them in their JSON body
(`CoverFields`; `stay_start` and `stay_days` go together); the scan reads (`GET /v1/scans`,
`/v1/scans/{id}`, `/latest`, `/next`) take them as query parameters (`CoverDep`; there
`stay_start` alone is a same-day stay, `stay_days` alone a stay from `at` or today). Either
way they become one `Cover`: `at` defaults to the stay's start, then to today in the hospital's
time zone; `domain` to `parser.domain`.

A date that is not `YYYY-MM-DD` (or not a real day) is a 422 `invalid_date`, an unknown domain a
422 `invalid_domain` (see `api.errors`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from api.deps import StateDep
from scanner_agent.attestation import DOMAINS
from scanner_agent.decision import Cover, Stay

DOMAIN_PATTERN = "^(?i:" + "|".join(DOMAINS) + ")$"
MAX_STAY_DAYS = 3650


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _text(value: object) -> object:
    """A date is written YYYY-MM-DD; pydantic alone would also take a Unix time."""
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a whole number")
    return value


def _domain(value: object) -> object:
    if not isinstance(value, str) or value.upper() not in DOMAINS:
        raise ValueError(f"expected one of {', '.join(DOMAINS)}")
    return value.upper()


IsoDate = Annotated[date, BeforeValidator(_text)]
Domain = Annotated[str, BeforeValidator(_domain), Field(json_schema_extra={"enum": list(DOMAINS)})]


class CoverFields(BaseModel):
    """The question, in a JSON body. Omit a field rather than sending null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "dependentRequired": {"stay_start": ["stay_days"], "stay_days": ["stay_start"]}
        },
    )

    at: IsoDate | SkipJsonSchema[None] = None
    """Reference date of the validity (default: the stay's start, or today, Europe/Paris)."""
    stay_start: IsoDate | SkipJsonSchema[None] = None
    """Planned admission date (with `stay_days`)."""
    stay_days: (
        Annotated[int, Field(ge=0, le=MAX_STAY_DAYS), BeforeValidator(_number)]
        | SkipJsonSchema[None]
    ) = None
    """Expected length of the stay in days, 0 for a same-day stay (with `stay_start`)."""
    domain: Domain | SkipJsonSchema[None] = None
    """The activity (MCO, SMR, PSY, HAD) the ROC status is asked for (default: `parser.domain`,
    MCO)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: object) -> object:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"omit {', '.join(map(str, nulls))} rather than sending null")
        return data

    @model_validator(mode="after")
    def _stay_pair(self) -> CoverFields:
        if (self.stay_start is None) != (self.stay_days is None):
            raise ValueError("stay_start and stay_days go together")
        return self

    def stay(self) -> Stay | None:
        if self.stay_start is None or self.stay_days is None:
            return None
        return Stay(self.stay_start, self.stay_days)


async def cover_query(
    state: StateDep,
    at: Annotated[
        IsoDate | None,
        Query(
            description="Judge for this date (YYYY-MM-DD; default: the stay's start, or today "
            "in the hospital's time zone)."
        ),
    ] = None,
    stay_start: Annotated[
        IsoDate | None, Query(description="Planned admission date (with `stay_days`).")
    ] = None,
    stay_days: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_STAY_DAYS,
            description="Planned length in days, 0 for a same-day stay (with `stay_start`).",
        ),
    ] = None,
    domain: Annotated[
        str | None,
        Query(
            pattern=DOMAIN_PATTERN,
            description="Activity domain: MCO, SMR, PSY or HAD (default: `parser.domain`).",
        ),
    ] = None,
) -> Cover:
    """The question of a scan read; without parameters, today and the configured domain.

    Query parameters cannot be made to go together in the API's schema, so each has a meaning
    alone: `stay_start` alone is a same-day stay, `stay_days` alone a stay from `at` (or today).
    """
    context = state.agent.context
    stay = None
    if stay_start is not None or stay_days is not None:
        start = stay_start or at or context.today()
        stay = Stay(start, stay_days or 0)
    return context.cover(at, stay, domain.upper() if domain else None)


CoverDep = Annotated[Cover, Depends(cover_query)]

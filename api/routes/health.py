"""`GET /v1/health`: alive, version, devices, storage and the AMC referential in short. No token,
no personal data. `status` is `degraded` while storage (with its code and reason: the database
failing, an unexpected failure of the writer, the database file deleted or replaced) or a device
is in error, or while the referential's file fails to load (the previous referential stays in
use), or while the `[roc]` section fails to load again (the previous ROC phase stays in use), or
while the watched folder (`[inputs] watch_dir`) has a problem (`inputs.error`)."""

from __future__ import annotations

import time
from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ApiState, StateDep
from scanner_agent import __version__
from scanner_agent.inbox import InboxErrorCode
from scanner_agent.storage import StorageState

router = APIRouter(tags=["health"])


class DeviceBrief(BaseModel):
    id: str
    type: str
    state: str


class StorageHealth(BaseModel):
    state: StorageState
    error: str | None = None
    """The stable code of the last failure while `state` is `error`."""
    reason: str | None = None
    """What that failure was, in a sentence (no personal data), while `state` is `error`."""
    pending: int = 0
    """Scans waiting to be written (kept in memory while the database fails)."""


class ReferentialHealth(BaseModel):
    path: str
    entries: int
    """AMCs in the referential in use (an AMC with several history lines counts once)."""
    lines: int
    updated: date | None = None
    """The newest `updated` date of its lines."""
    age_days: int | None = None
    """Days from `updated` to today (hospital's time zone)."""
    stale: bool = False
    """Older than `parser.referential_max_age_days`: decisions ask to check."""
    error: str | None = None
    """Why the file's last load failed (the previous referential stays in use); null when the
    file in use is the file on disk."""


class RocHealth(BaseModel):
    """The phase of the ROC roll-out in use (`[roc]`, read again while the agent runs)."""

    phase: Literal["not_started", "supervised", "trust_circle"]
    mirror_amc: str | None = None
    """The mirror AMC's number as configured (null when none is)."""
    mirror_known: bool | None = None
    """Whether the mirror AMC is in the referential in use (null when there is no mirror AMC)."""
    error: str | None = None
    """Why the `[roc]` section did not load again (the previous phase stays in use); null when
    the phase in use is the one configured."""


class IndicatorsExportError(BaseModel):
    code: Literal["export_conflict", "export_failed"]
    """`export_conflict`: a weekly file already there with another content (left as it is);
    `export_failed`: the database or the folder failed (tried again every few minutes)."""
    message: str


class IndicatorsHealth(BaseModel):
    workstation: str
    """This agent's name in the indicators."""
    export_dir: str | None = None
    """Where the weekly files are written (null: no export)."""
    last_export: str | None = None
    """The newest ISO week whose files are in `export_dir`, e.g. `2026-W48`."""
    error: IndicatorsExportError | None = None


def _indicators(state: ApiState) -> IndicatorsHealth:
    export = state.agent.indicator_export
    health = IndicatorsHealth(workstation=state.agent.scans.counter.workstation)
    if export is not None:
        status = export.status()
        health.export_dir = status.export_dir
        health.last_export = status.last_export
        if status.error is not None:
            health.error = IndicatorsExportError(
                code=status.error.code, message=status.error.message
            )
    return health


class InputsError(BaseModel):
    code: InboxErrorCode
    message: str


class InputsHealth(BaseModel):
    """The watched folder (`scanner_agent.inbox`)."""

    watch_dir: str | None = None
    """null: no watched folder."""
    pending: int = 0
    """Files waiting in the folder or in its `processing/`."""
    done: int = 0
    """Files moved to `done/` since the agent started."""
    failed: int = 0
    """Files moved to `failed/` since the agent started (each with its `.json`)."""
    error: InputsError | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    devices: list[DeviceBrief]
    storage: StorageHealth
    referential: ReferentialHealth
    roc: RocHealth
    indicators: IndicatorsHealth
    inputs: InputsHealth


@router.get("/health", summary="Is the agent alive")
async def health(state: StateDep) -> Health:
    status = state.scans.storage()
    problem = status.last_error
    storage = StorageHealth(
        state=status.state,
        error=problem.code if problem else None,
        reason=problem.message if problem else None,
        pending=status.pending,
    )
    devices = [DeviceBrief(id=d.id, type=d.type, state=d.state) for d in state.agent.devices()]
    ref = state.agent.referential_status()
    referential = ReferentialHealth(
        path=ref.path,
        entries=ref.entries,
        lines=ref.lines,
        updated=ref.updated,
        age_days=ref.age_days,
        stale=ref.stale,
        error=ref.error,
    )
    roc = RocHealth.model_validate(state.agent.rollout_status().as_json())
    inputs = InputsHealth.model_validate(state.agent.inputs_status().as_json())
    degraded = (
        storage.state == "error"
        or any(d.state == "error" for d in devices)
        or referential.error is not None
        or roc.error is not None
        or inputs.error is not None
    )
    return Health(
        status="degraded" if degraded else "ok",
        version=__version__,
        uptime_s=round(time.time() - state.started_at, 3),
        devices=devices,
        storage=storage,
        referential=referential,
        roc=roc,
        indicators=_indicators(state),
        inputs=inputs,
    )

"""`GET /v1/health`: alive, version, devices and storage in short. No token, no personal data."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import StateDep
from scanner_agent import __version__
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
    pending: int = 0
    """Scans waiting to be written (kept in memory while the database fails)."""


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    devices: list[DeviceBrief]
    storage: StorageHealth


@router.get("/health", summary="Is the agent alive")
async def health(state: StateDep) -> Health:
    status = state.scans.storage()
    problem = status.last_error
    storage = StorageHealth(
        state=status.state, error=problem.code if problem else None, pending=status.pending
    )
    devices = [DeviceBrief(id=d.id, type=d.type, state=d.state) for d in state.agent.devices()]
    degraded = storage.state == "error" or any(d.state == "error" for d in devices)
    return Health(
        status="degraded" if degraded else "ok",
        version=__version__,
        uptime_s=round(time.time() - state.started_at, 3),
        devices=devices,
        storage=storage,
    )

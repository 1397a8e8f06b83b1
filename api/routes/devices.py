"""`GET /v1/devices`, `GET /v1/devices/{id}`: state, last error, counters, diagnostics."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.scan import DeviceStatus

router = APIRouter(
    prefix="/devices",
    tags=["devices"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403),
)


@router.get("", summary="Every configured device")
async def list_devices(state: StateDep) -> list[DeviceStatus]:
    return state.agent.devices()


@router.get("/{device_id}", summary="One device", responses=responses(404))
async def get_device(device_id: str, state: StateDep) -> DeviceStatus:
    status = state.agent.device(device_id)
    if status is None:
        raise ApiError(404, "device_not_found", "no device has this id")
    return status

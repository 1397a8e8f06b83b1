"""The values that leave the pipeline: scans and device states.

`Scan` is a contract with storage, the API, kiosks and GAP vendors:
`{id, received_at, device_id, source, symbology, attestation, claimed_by, claimed_at}`. Extend
it; never rename.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scanner_agent.attestation import Attestation

Source = Literal[
    "serial", "hid_pos", "hid_keyboard", "camera", "upload", "replay", "demo", "manual"
]
DeviceState = Literal["starting", "connected", "disconnected", "error", "stopped"]


_SCAN_COUNTER = itertools.count()


def new_scan_id() -> str:
    """A unique id that sorts in creation order: 12 hex digits of milliseconds, 8 of a counter
    of this process (scans made in the same millisecond keep their order), 12 random ones."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    return f"{millis:012x}{next(_SCAN_COUNTER) % 2**32:08x}{uuid.uuid4().hex[:12]}"


class Scan(BaseModel):
    """One code read by one device (or uploaded), with its parse result."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_scan_id)
    received_at: datetime
    """When the last byte of the code arrived (UTC)."""
    device_id: str
    source: Source
    symbology: str | None = None
    """The AIM identifier (`]d1` for Data Matrix ECC200), or null when the device sent none."""
    attestation: Attestation
    claimed_by: str | None = None
    """The client (desk, kiosk) that took this scan (`POST /v1/scans/{id}/claim`), or null."""
    claimed_at: datetime | None = None
    """When it was claimed (UTC), or null."""


class DeviceCounters(BaseModel):
    """Per-device statistics, after UnifiedPOS."""

    good_scans: int = 0
    refused_scans: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    last_seen: datetime | None = None
    frames_read: int = 0
    """Cameras: frames taken from the camera or the video file (`frames_decoded +
    frames_skipped`)."""
    frames_decoded: int = 0
    """Cameras: frames read by the decoder."""
    frames_skipped: int = 0
    """Cameras: frames taken but not decoded because decoding was slower than the camera (the
    newest frame is decoded, never a backlog)."""
    decode_ms_total: float = 0.0
    """Cameras: time spent decoding frames, milliseconds."""
    decode_fps: float | None = None
    """Cameras: frames decoded a second over the last few seconds (null until two were)."""
    decode_ms_mean: float | None = None
    """Cameras: mean decode time of a frame over the last few seconds, milliseconds."""
    unreadable_codes: int = 0
    """Cameras: times a code was seen but could not be read (`code_unreadable` events)."""


UNREADABLE_MESSAGE = "code détecté mais illisible : rapprochez / éclairez"
"""What the desk is told when a camera sees a code it cannot read (`code_unreadable`)."""


class CodeUnreadable(BaseModel):
    """The JSON of a `code_unreadable` event (`GET /v1/events`): a camera sees a place that looks
    like a Data Matrix but cannot read it. Keys are stable: `device_id`, `at` (UTC), `message`
    (French, for the desk), `positions` (each place's corners in the frame, pixels)."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    at: datetime
    message: str = UNREADABLE_MESSAGE
    positions: list[list[tuple[int, int]]] = Field(default_factory=list)


class DeviceProblem(BaseModel):
    """The last error of a device: a stable code, a sentence and when it happened."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    at: datetime


class Diagnostic(BaseModel):
    """Something learned about a device while it runs (e.g. its real keyboard layout)."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class DeviceStatus(BaseModel):
    """A device's state as the API shows it. Never holds personal data."""

    id: str
    type: str
    state: DeviceState = "starting"
    description: str = ""
    last_error: DeviceProblem | None = None
    counters: DeviceCounters = Field(default_factory=DeviceCounters)
    diagnostics: list[Diagnostic] = Field(default_factory=list)

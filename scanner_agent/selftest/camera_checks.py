"""Checks of a camera, measured while it is read: its real frame rate and resolution against
the configured ones, and the decode time and rate of its frames.

The camera driver counts its frames itself (`drivers.camera.FrameCounts`: read, decoded,
skipped because decoding was slower than the camera, decode time); `FrameProbe` wraps its
decode function to keep the frames' size and the slowest decode; `camera_checks` judges both.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from drivers.camera import FrameCounts
from scanner_agent.config import CameraDevice, Settings
from scanner_agent.selftest.device_reading import Observed
from scanner_agent.selftest.options import DecodeFunction
from scanner_agent.selftest.report import Check, check

if TYPE_CHECKING:
    from decoders.base import Reading


class FrameProbe:
    """Wraps a camera's decode function: counts frames, keeps their size, times decoding."""

    def __init__(self, decode: DecodeFunction) -> None:
        self._decode = decode
        self.frames = 0
        self.shape: tuple[int, ...] | None = None
        self.decode_ms: list[float] = []

    def __call__(self, frame: Any) -> Reading:
        self.frames += 1
        self.shape = tuple(frame.shape)  # a camera frame is an image array
        start = time.perf_counter()
        try:
            return self._decode(frame)
        finally:
            self.decode_ms.append((time.perf_counter() - start) * 1000)


def camera_decoder(settings: Settings) -> DecodeFunction:
    from decoders import Decoder  # noqa: PLC0415
    from scanner_agent.file_decoding import decode_options  # noqa: PLC0415

    decoder = Decoder(decode_options(settings))
    decode: DecodeFunction = decoder.read
    return decode


def camera_checks(
    config: CameraDevice, probe: FrameProbe, seen: Observed, counts: FrameCounts | None = None
) -> tuple[list[Check], dict[str, Any]]:
    """`counts`: the driver's own (frames skipped are known only there); without them, what
    the probe saw (every frame decoded)."""
    if counts is None:
        counts = FrameCounts(probe.frames, probe.frames, 0, sum(probe.decode_ms))
    frames = counts.read
    measurements: dict[str, Any] = {"frames": frames, "seconds": round(seen.elapsed_s, 3)}
    if frames == 0 or not probe.decode_ms:
        seconds = round(seen.elapsed_s, 3)
        none = check("camera_no_frames", "fail", "camera_no_frames", seconds=seconds)
        return [none], measurements
    height, width = (probe.shape or (0, 0))[:2]
    elapsed = seen.elapsed_s
    fps = frames / elapsed if elapsed > 0 else 0.0
    decode_fps = counts.decoded / elapsed if elapsed > 0 else 0.0
    ms = sorted(probe.decode_ms)
    mean_ms = counts.decode_ms_total / counts.decoded if counts.decoded else sum(ms) / len(ms)
    measurements.update(
        {
            "width": width,
            "height": height,
            "fps": round(fps, 2),
            "frames_decoded": counts.decoded,
            "frames_skipped": counts.skipped,
            "decode_fps": round(decode_fps, 2),
            "decode_ms_mean": round(mean_ms, 2),
            "decode_ms_max": round(ms[-1], 2),
        }
    )
    out = [
        check(
            "camera_measured",
            "pass",
            "camera_measured",
            width=width,
            height=height,
            fps=round(fps, 2),
            configured_fps=config.fps,
            mean_ms=round(mean_ms, 2),
            max_ms=round(ms[-1], 2),
        )
    ]
    if width < config.width or height < config.height:
        out.append(
            check(
                "camera_resolution",
                "warn",
                "camera_resolution",
                "camera_resolution",
                width=width,
                height=height,
                configured_width=config.width,
                configured_height=config.height,
                device=config.id,
            )
        )
    if probe.frames >= 5 and fps < 0.5 * config.fps:
        out.append(
            check(
                "camera_frame_rate",
                "warn",
                "camera_frame_rate",
                fps=round(fps, 2),
                configured_fps=config.fps,
            )
        )
    if counts.skipped:
        out.append(
            check(
                "camera_decode_slow",
                "warn",
                "camera_decode_slow.skipped",
                skipped=counts.skipped,
                frames=frames,
                decode_fps=round(decode_fps, 2),
                mean_ms=round(mean_ms, 2),
            )
        )
    elif mean_ms > 1000 / config.fps:
        out.append(
            check(
                "camera_decode_slow",
                "warn",
                "camera_decode_slow",
                mean_ms=round(mean_ms, 2),
                interval_ms=round(1000 / config.fps, 2),
            )
        )
    return out, measurements

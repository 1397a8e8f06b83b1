"""Webcams and video sources through OpenCV's `VideoCapture`.

`source` is a camera index (`0`), a device path (`/dev/video0`), or a video file / stream URL.
Each read grabs one frame and reads it with one `decoders.Decoder` (`Decoder.read`), made at
the first open from the driver's `DecodeOptions` (the `[decoder]` section of the configuration,
with its `time_budget_ms`: a frame has a budget, a file does not) and kept, with its buffers,
for the life of the driver, across reads and reopenings. `decode=` replaces it (tests): any
callable from a frame to a `decoders.base.Reading`. The chunk handed to the framer is the
frame's `Reading` (the symbols read, the places that look like a Data Matrix but could not be
read), and the camera's framer (`SymbolTracker`) makes a code held in view one scan, not one
per frame.

Frames are taken at most `fps` times a second. A live camera that stops giving frames is lost
(and reopened by the device manager); a video file that ends is exhausted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivers.errors import DeviceError, DeviceLost, DeviceNotFound

if TYPE_CHECKING:
    from decoders.base import DecodeOptions, Reading

DecodeFunction = Callable[[Any], "Reading"]
"""What reads one frame: a frame (an image array) in, its `Reading` out (`Decoder.read`)."""

# A camera that gives no frame this many times in a row is considered gone.
_MAX_FAILED_GRABS = 5


def default_decode(options: DecodeOptions | None = None) -> DecodeFunction:
    """`Decoder(options).read`: one decoder and its buffers, imported when a camera is first
    opened (the agent's start and a configuration without camera never load OpenCV)."""
    try:
        from decoders.cascade import Decoder  # noqa: PLC0415
    except ImportError as exc:
        raise DeviceError(f"the image decoders are not available ({exc})") from exc
    decode: DecodeFunction = Decoder(options).read
    return decode


@dataclass(frozen=True, slots=True)
class CameraParams:
    """What `CameraDriver` opens: `source` is a camera index, a `/dev/video*` path, or a video
    file / stream URL; frames are taken at most `fps` times a second, asked at `width` x
    `height` (a file keeps its own size)."""

    source: int | str = 0
    fps: float = 15.0
    width: int = 1280
    height: int = 720


def _source(value: int | str) -> tuple[int | str, bool]:
    """(what to give VideoCapture, whether it is a finite file)."""
    if isinstance(value, int):
        return value, False
    if value.isascii() and value.isdigit():
        return int(value), False
    is_file = "://" not in value and not value.startswith("/dev/") and os.path.isfile(value)
    return value, is_file


class CameraDriver:
    kind = "camera"

    def __init__(
        self,
        params: CameraParams,
        decode: DecodeFunction | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        decoder_options: DecodeOptions | None = None,
    ) -> None:
        self.params = params
        self.decoder_options = decoder_options
        """What the driver's one decoder is made with (when `decode` is not given)."""
        self._decode = decode
        self._clock = clock
        self._sleep = sleep
        self._capture: Any = None
        self._cv2: Any = None
        self._is_file = False
        self._exhausted = False
        self._next_at = 0.0
        self._failures = 0
        self.frames_read = 0

    @property
    def description(self) -> str:
        c = self.params
        return f"camera {c.source} {c.width}x{c.height} at {c.fps:g} fps"

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def open(self) -> None:
        import cv2  # noqa: PLC0415 - OpenCV loads only when a camera is used

        if self._decode is None:  # once: the same decoder serves every frame, every opening
            self._decode = default_decode(self.decoder_options)
        source, self._is_file = _source(self.params.source)
        if isinstance(source, str) and source.startswith("/dev/") and not os.path.exists(source):
            raise DeviceNotFound(f"camera {source}: no such device")
        local = isinstance(source, str) and "://" not in source and not source.startswith("/dev/")
        if local and not self._is_file:
            raise DeviceNotFound(f"video file {source} not found")
        try:
            capture = cv2.VideoCapture(source)
        except cv2.error as exc:
            raise DeviceError(f"camera {source}: cannot be opened ({exc})") from exc
        if not capture.isOpened():
            capture.release()
            raise DeviceNotFound(f"camera {source}: cannot be opened (absent, or in use)")
        if not self._is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.params.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.params.height)
            capture.set(cv2.CAP_PROP_FPS, self.params.fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a stale one
        self._capture = capture
        self._cv2 = cv2
        self._exhausted = False
        self._failures = 0
        self._next_at = self._clock()

    def read(self, timeout: float) -> Reading | None:
        capture = self._capture
        if capture is None or self._decode is None:
            raise DeviceLost(f"camera {self.params.source} is not open")
        if self._exhausted:
            self._sleep(min(timeout, 0.05))
            return None
        wait = self._next_at - self._clock()
        if wait > timeout:
            self._sleep(max(0.0, timeout))
            return None
        if wait > 0:
            self._sleep(wait)
        self._next_at = max(self._next_at + 1 / self.params.fps, self._clock())
        ok, frame = capture.read()
        if not ok or frame is None:
            if self._is_file:
                self._exhausted = True
                return None
            self._failures += 1
            if self._failures >= _MAX_FAILED_GRABS:
                raise DeviceLost(f"camera {self.params.source} stopped giving frames")
            return None
        self._failures = 0
        self.frames_read += 1
        if frame.ndim == 3:
            # decoders binarize luminance anyway; converting here once is 3-5x cheaper than
            # letting them do it (see docs/benchmarks.md, "Devices and pipeline")
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return self._decode(frame)

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

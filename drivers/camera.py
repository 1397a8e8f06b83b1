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

Frames are dropped, never queued, when decoding is slower than the camera: the next frame read
is always the newest one. A live camera is asked for `fps` frames a second and a one-frame
buffer (what the decoder had no time for is overwritten in the camera's buffer); its frames
are taken at most `fps` times a second. A video file (a replay of a desk) plays like a live
camera at its own rate: frame `i` is due `i / file_fps` seconds after the file was opened, and
when decoding is late, the frames whose successor is already due are grabbed without being
decoded (`frames_skipped`), so that the next decode is of the frame of now, not of a backlog.

`frame_counts()` says what the driver did with its frames, for the whole life of the driver
(across reopenings): frames read, decoded and skipped, the total decode time, and the rate of
decoding and the mean decode time over the last few seconds (`FrameCounts`). Time is the
injected `clock`, so tests make a decoder "take" a given time without sleeping.

A live camera that stops giving frames is lost (and reopened by the device manager); a video
file that ends is exhausted.
"""

from __future__ import annotations

import os
import time
from collections import deque
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
# The recent decode rate and mean time are over the decodes of the last this many seconds...
RECENT_S = 5.0
# ... and at most this many of them.
_RECENT_MAX = 120


@dataclass(frozen=True, slots=True)
class FrameCounts:
    """What a camera did with its frames since its driver was made (across reopenings)."""

    read: int = 0
    """Frames taken from the camera or the file: `decoded + skipped`."""
    decoded: int = 0
    skipped: int = 0
    """Frames taken but not decoded, because decoding was late and their time had passed
    (a file; a live camera's own one-frame buffer drops those before they are taken)."""
    decode_ms_total: float = 0.0
    recent_fps: float | None = None
    """Frames decoded a second over the last `RECENT_S` seconds (None: fewer than two)."""
    recent_ms: float | None = None
    """Mean decode time of those frames, milliseconds (None: none)."""


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
        self._file_fps = params.fps
        self._file_started = 0.0
        self._file_index = 0
        self.frames_read = 0
        self.frames_decoded = 0
        self.frames_skipped = 0
        self.decode_ms_total = 0.0
        self._recent: deque[tuple[float, float]] = deque(maxlen=_RECENT_MAX)

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
        else:
            rate = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            self._file_fps = rate if 0 < rate <= 1000 else self.params.fps
        self._capture = capture
        self._cv2 = cv2
        self._exhausted = False
        self._failures = 0
        self._next_at = self._file_started = self._clock()
        self._file_index = 0

    def read(self, timeout: float) -> Reading | None:
        capture = self._capture
        if capture is None or self._decode is None:
            raise DeviceLost(f"camera {self.params.source} is not open")
        if self._exhausted:
            self._sleep(min(timeout, 0.05))
            return None
        frame = self._file_frame(timeout) if self._is_file else self._live_frame(timeout)
        if frame is None:
            return None
        if frame.ndim == 3:
            # decoders binarize luminance anyway; converting here once is 3-5x cheaper than
            # letting them do it (see docs/benchmarks.md, "Devices and pipeline")
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        started = self._clock()
        reading = self._decode(frame)
        ms = max(0.0, (self._clock() - started) * 1000)
        self.frames_decoded += 1
        self.decode_ms_total += ms
        self._recent.append((started, ms))
        return reading

    def _live_frame(self, timeout: float) -> Any | None:
        """The camera's newest frame, at most `fps` times a second; None when none yet."""
        wait = self._next_at - self._clock()
        if wait > timeout:
            self._sleep(max(0.0, timeout))
            return None
        if wait > 0:
            self._sleep(wait)
        self._next_at = max(self._next_at + 1 / self.params.fps, self._clock())
        ok, frame = self._capture.read()
        if not ok or frame is None:
            self._failures += 1
            if self._failures >= _MAX_FAILED_GRABS:
                raise DeviceLost(f"camera {self.params.source} stopped giving frames")
            return None
        self._failures = 0
        self.frames_read += 1
        return frame

    def _due(self, index: int) -> float:
        return self._file_started + index / self._file_fps

    def _file_frame(self, timeout: float) -> Any | None:
        """The file's frame of now, played at the file's own rate: waits for the next frame's
        time; when decoding made it late, grabs without decoding every frame whose successor
        is already due (skipped), then reads the one of now. None at the end of the file."""
        wait = self._due(self._file_index) - self._clock()
        if wait > timeout:
            self._sleep(max(0.0, timeout))
            return None
        if wait > 0:
            self._sleep(wait)
        now = self._clock()
        capture = self._capture
        while self._due(self._file_index + 1) <= now:
            if not capture.grab():
                self._exhausted = True
                return None
            self._file_index += 1
            self.frames_read += 1
            self.frames_skipped += 1
        ok, frame = capture.read()
        if not ok or frame is None:
            self._exhausted = True
            return None
        self._file_index += 1
        self.frames_read += 1
        return frame

    def frame_counts(self) -> FrameCounts:
        """Frames read, decoded and skipped so far; the recent decode rate and time."""
        recent = list(self._recent)
        if recent:
            newest = recent[-1][0]
            recent = [(at, ms) for at, ms in recent if newest - at <= RECENT_S]
        fps = None
        if len(recent) >= 2 and recent[-1][0] > recent[0][0]:
            fps = (len(recent) - 1) / (recent[-1][0] - recent[0][0])
        return FrameCounts(
            read=self.frames_read,
            decoded=self.frames_decoded,
            skipped=self.frames_skipped,
            decode_ms_total=self.decode_ms_total,
            recent_fps=None if fps is None else round(fps, 2),
            recent_ms=round(sum(ms for _, ms in recent) / len(recent), 3) if recent else None,
        )

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

"""The one protocol every driver follows, and the translation of library errors at its edge.

A driver owns one device handle and nothing else: it opens it, reads one chunk at a time
(bytes from a serial line, one HID report, the symbols decoded from one camera frame) and
closes it. It knows nothing of attestations: the framer it is paired with cuts its chunks into
codes, and the device manager (`scanner_agent.devices`) runs the read loop.

    driver = SerialDriver(SerialParams(port="/dev/ttyACM0"))   # its own parameters, no I/O
    driver.open()                  # raises DeviceNotFound / PermissionDenied / DeviceBusy
    chunk = driver.read(0.2)       # None when nothing came within the timeout
    driver.close()                 # always safe, even twice or after a failed open

`read` raises `DeviceLost` when the device goes away. A driver whose source runs out (a replay
or a video file) sets `exhausted`; the loop then flushes its framer and stops it.

Every driver satisfies `Driver[ChunkT]`, where `ChunkT` is what one `read` returns: `bytes`
for serial, HID POS, keyboard, replay and demo; a `decoders.base.Reading` (one frame's
symbols and unreadable places) for the camera. The
protocol is structural (no base class to inherit) and `runtime_checkable`;
`tests/test_driver_protocol.py` checks every driver against it, statically (mypy) and at run
time. The exceptions are those of `drivers.errors`.
"""

from __future__ import annotations

import errno
from typing import Protocol, TypeVar, runtime_checkable

from drivers.errors import (
    DeviceBusy,
    DeviceError,
    DeviceLost,
    DeviceNotFound,
    PermissionDenied,
)

ChunkT_co = TypeVar("ChunkT_co", covariant=True)

# Linux errors that mean "the device went away" while it was open.
_GONE = {errno.EIO, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.ESHUTDOWN, errno.EPIPE}


@runtime_checkable
class Driver(Protocol[ChunkT_co]):
    """One device: open, read chunks, close."""

    kind: str
    """The `Scan.source` of what it reads: serial, hid_pos, hid_keyboard, camera, replay, demo."""

    @property
    def description(self) -> str:
        """What is open (port, path, VID:PID), for the device's status; never personal data."""
        ...

    @property
    def exhausted(self) -> bool:
        """True once a finite source (a replay, a video file) has nothing more to give."""
        ...

    def open(self) -> None: ...

    def read(self, timeout: float) -> ChunkT_co | None: ...

    def close(self) -> None: ...


def translate_open_error(exc: BaseException, what: str) -> DeviceError:
    """The most specific `DeviceError` for a failure to open `what`; chain it with `from exc`."""
    number = _errno_of(exc)
    text = str(exc) or type(exc).__name__
    if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return DeviceNotFound(f"{what}: no such device ({text})")
    if number in (errno.EACCES, errno.EPERM):
        return PermissionDenied(
            f"{what}: permission denied; add this user to the device's group "
            "(dialout or plugdev) or install the udev rule from config/udev"
        )
    if number in (errno.EBUSY, errno.EAGAIN):  # EAGAIN: pyserial's exclusive lock is held
        return DeviceBusy(f"{what}: in use by another program ({text})")
    return DeviceError(f"{what}: cannot be opened ({text})")


def translate_read_error(exc: BaseException, what: str) -> DeviceError:
    """A failure while reading an open device: nearly always the device going away."""
    text = str(exc) or type(exc).__name__
    return DeviceLost(f"{what}: lost ({text})")


def _errno_of(exc: BaseException) -> int | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        number = getattr(current, "errno", None)
        if isinstance(number, int):
            return number
        # pyserial wraps OSError in SerialException(errno, message) or in args
        for arg in getattr(current, "args", ()):
            if isinstance(arg, int) and arg in errno.errorcode:
                return arg
        current = current.__cause__ or current.__context__
    return None


def is_gone(exc: BaseException) -> bool:
    return _errno_of(exc) in _GONE

"""Exceptions for broken I/O and bad configuration.

A bad payload is never an exception: it is an `Attestation` with errors. Exceptions are for
what the agent cannot carry on with by itself:

    ScannerAgentError
    ├── ConfigError            a setting or a data file (layout, referential) is wrong
    ├── DecodeError            an image or PDF could not be read at all
    └── DeviceError            a device could not be opened or read
        ├── DeviceNotFound     nothing matches the configured port, path or VID:PID
        ├── PermissionDenied   the device exists but this user may not open it
        ├── DeviceBusy         another program holds the device
        └── DeviceLost         the device went away while in use

Drivers translate their library's exceptions into these at their edge and chain the original.
"""

from __future__ import annotations


class ScannerAgentError(Exception):
    """Base of every exception the agent raises on purpose."""

    code = "internal_error"


class ConfigError(ScannerAgentError):
    """A setting, a layout file or the referential is wrong. The message names the key and file."""

    code = "config_error"


class DecodeError(ScannerAgentError):
    """An image or PDF could not be read. `code` is stable, the message names the file."""

    code = "decode_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DeviceError(ScannerAgentError):
    code = "device_error"


class DeviceNotFound(DeviceError):
    code = "device_not_found"


class PermissionDenied(DeviceError):
    code = "permission_denied"


class DeviceBusy(DeviceError):
    code = "device_busy"


class DeviceLost(DeviceError):
    code = "device_lost"

"""Exceptions for broken I/O and bad configuration.

A bad payload is never an exception: it is an `Attestation` with errors. Exceptions are for
what the agent cannot carry on with by itself:

    ScannerAgentError          the core's own (defined here)
    ├── ConfigError            a setting or a data file (layout, referential) is wrong
    └── (StorageError)         the store is unreachable (scanner_agent.storage)

    DeviceError                a device could not be opened or read (defined in drivers.errors)
    ├── DeviceNotFound         nothing matches the configured port, path or VID:PID
    ├── PermissionDenied       the device exists but this user may not open it
    ├── DeviceBusy             another program holds the device
    └── DeviceLost             the device went away while in use

    DecodeError                an image or PDF could not be read at all (decoders.errors)

Drivers and decoders depend on nothing above them, so their exceptions live with them; they are
re-exported here, the same classes (`except DeviceError` catches what a driver raises whichever
module it was imported from). Importing them is cheap (`decoders` loads its decoders on first
use). Every class carries a stable `code`.
"""

from __future__ import annotations

from decoders.errors import DecodeError
from drivers.errors import DeviceBusy, DeviceError, DeviceLost, DeviceNotFound, PermissionDenied

__all__ = [
    "ConfigError",
    "DecodeError",
    "DeviceBusy",
    "DeviceError",
    "DeviceLost",
    "DeviceNotFound",
    "PermissionDenied",
    "ScannerAgentError",
]


class ScannerAgentError(Exception):
    """Base of every exception the core raises on purpose."""

    code = "internal_error"


class ConfigError(ScannerAgentError):
    """A setting, a layout file or the referential is wrong. The message names the key and file."""

    code = "config_error"

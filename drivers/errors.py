"""The exceptions drivers raise: one small hierarchy for a device that cannot be used.

    DeviceError            a device could not be opened or read (`code` is stable)
    ├── DeviceNotFound     nothing matches the configured port, path or VID:PID
    ├── PermissionDenied   the device exists but this user may not open it
    ├── DeviceBusy         another program holds the device
    └── DeviceLost         the device went away while in use

Drivers translate their library's exceptions into these at their edge (`drivers.base`) and
chain the original. The codes reach the device's status in the API (`last_error.code`), so they
never change. `scanner_agent.errors` re-exports these classes: they are the same objects.
"""

from __future__ import annotations


class DeviceError(Exception):
    """A device could not be opened or read; the message names it (port, path, VID:PID)."""

    code = "device_error"


class DeviceNotFound(DeviceError):
    code = "device_not_found"


class PermissionDenied(DeviceError):
    code = "permission_denied"


class DeviceBusy(DeviceError):
    code = "device_busy"


class DeviceLost(DeviceError):
    code = "device_lost"

"""Windows test environment under Wine only: functions Wine 8.0 lacks that wheels look up.

The set-up copies this file into the Windows Python's site-packages and imports it from a `.pth`
file, so it runs at every start of that Python, before any test. It never ships with the agent.

- `cfgmgr32.CM_MapCrToWin32Err(cr, default)`: pyserial's Windows port listing looks it up when
  its module is imported; Wine 8.0 does not export it. The stub returns `default`, as the real
  function does for a configuration-manager code it cannot map.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

_PROTOTYPE = ctypes.WINFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)  # type: ignore[attr-defined,unused-ignore]


def _cm_map_cr_to_win32_err(cr: int, default: int) -> int:
    return default


_STUBS: dict[tuple[str, str], Any] = {
    ("cfgmgr32", "CM_MapCrToWin32Err"): _PROTOTYPE(_cm_map_cr_to_win32_err),
}
_library_getattr = ctypes.CDLL.__getattr__


def _getattr_or_stub(library: ctypes.CDLL, name: str) -> Any:
    try:
        return _library_getattr(library, name)
    except AttributeError:
        stem = os.path.splitext(os.path.basename(library._name))[0].lower()
        stub = _STUBS.get((stem, name))
        if stub is None:
            raise
        setattr(library, name, stub)
        return stub


ctypes.CDLL.__getattr__ = _getattr_or_stub  # type: ignore[method-assign]

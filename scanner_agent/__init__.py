"""scanner-agent: DataMatrix of AMC tiers-payant attestations, from device to the GAP.

    from scanner_agent import parse_payload, Stay, Attestation

The names are loaded on first use (PEP 562), so that `import scanner_agent.cli` (every command,
`--help`) does not pay for pydantic and the parser before a command needs them.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from scanner_agent.attestation import Attestation, ErrorCode, WarningCode
    from scanner_agent.parser import Stay, parse_payload

__version__ = "0.1.0"

# Each public name and the module that defines it.
_HOMES = {
    "Attestation": "scanner_agent.attestation",
    "ErrorCode": "scanner_agent.attestation",
    "WarningCode": "scanner_agent.attestation",
    "Stay": "scanner_agent.parser",
    "parse_payload": "scanner_agent.parser",
}

__all__ = ["Attestation", "ErrorCode", "Stay", "WarningCode", "__version__", "parse_payload"]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scanner_agent' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""The internal check that the storage is reachable, through the scans service's probe
(`storage_ok` or `storage_unavailable`).

The command's self-test runs it when `Options.storage` is set; the running agent's
(`POST /v1/selftest`) reads the state of the scans service it already runs instead.
"""

from __future__ import annotations

from scanner_agent.config import Settings
from scanner_agent.errors import ScannerAgentError
from scanner_agent.selftest.report import Check, check


def check_storage(settings: Settings) -> Check:
    """Open the configured store, read from it and close it: `storage_ok` or
    `storage_unavailable`."""
    from scanner_agent.scans import probe_storage  # noqa: PLC0415 - the database stack, on demand

    try:
        where = probe_storage(settings)
    except (ScannerAgentError, OSError) as exc:
        code = getattr(exc, "code", "storage_unavailable")
        return check(
            "storage_unavailable",
            "fail",
            "storage_unavailable",
            where=settings.storage_url.split("@")[-1],
            error=f"{code}: {exc}",
        )
    return check("storage_ok", "pass", "storage_ok", where=str(where))

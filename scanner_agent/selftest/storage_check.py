"""The internal check that the storage is reachable: open the configured store, ping it,
close it (`storage_ok` or `storage_unavailable`).

The command's self-test runs it when `Options.storage` is set; the running agent's
(`POST /v1/selftest`) passes its own check of the store it already holds instead.
"""

from __future__ import annotations

from scanner_agent.config import Settings
from scanner_agent.errors import ScannerAgentError
from scanner_agent.selftest.report import Check, check


def check_storage(settings: Settings) -> Check:
    """Open the configured store, ping it and close it: `storage_ok` or `storage_unavailable`."""
    from scanner_agent.storage import Store  # noqa: PLC0415

    store = None
    try:
        store = Store.from_settings(settings)
        store.ping()
    except (ScannerAgentError, OSError) as exc:
        code = getattr(exc, "code", "storage_unavailable")
        return check(
            "storage_unavailable",
            "fail",
            f"storage {settings.storage_url.split('@')[-1]}: {code}: {exc}",
        )
    finally:
        if store is not None:
            store.close()
    return check("storage_ok", "pass", f"storage reachable: {store.describe()}")

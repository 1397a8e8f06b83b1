"""The one error of storage, with a stable code, and the last problem the writer met.

`StorageError.code` is one of `storage_unavailable` (the database cannot be reached),
`storage_full` (no room left), `storage_replaced` (the SQLite file was deleted or replaced while
in use; see `sql_store`) or `storage_error` (anything else the database refused; the writer also
reports an unexpected failure of any type under this code, with its type as message). The
message never names personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from scanner_agent.errors import ScannerAgentError


class StorageError(ScannerAgentError):
    """The database could not be used. `code` is stable; the message names no personal data."""

    code = "storage_error"

    def __init__(self, message: str, code: str = "storage_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class StorageProblem:
    """The last failure of the database: its code, its message and when it happened."""

    code: str
    message: str
    at: datetime


def translate(exc: SQLAlchemyError) -> StorageError:
    """A database error as a `StorageError` with the most specific code."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "full" in text or "no space" in text or "disk quota" in text:
        return StorageError("the database is full", "storage_full")
    if isinstance(exc, OperationalError):
        return StorageError("the database is unavailable", "storage_unavailable")
    return StorageError(f"the database refused the operation ({type(exc).__name__})")

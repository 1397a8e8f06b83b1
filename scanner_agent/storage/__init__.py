"""Scan storage, in three parts:

- `sql_store`: the scans table, the indicators table and their queries (`Store`, `ScanRecord`,
  `IndicatorRecord`, `Stored`);
- `member_protection`: member numbers at rest (`MemberProtector`, the key file);
- `retention`: how long scans are kept and what erasure means (`Retention`);

with `writer` (`StorageWriter`, the thread that fills the store), `journal` (`Journal`, the
scans recorded and not yet written, on disk before they are published) and `errors` (`StorageError`
with its stable codes `storage_unavailable`, `storage_full`, `storage_replaced`,
`storage_error`).

Nothing outside `scanner_agent.scans` (the scans service) uses the store directly: the API, the
commands and the self-test go through the service.
"""

from scanner_agent.storage.errors import StorageError, StorageProblem
from scanner_agent.storage.journal import Journal, JournalContents
from scanner_agent.storage.member_protection import (
    MemberProtector,
    read_or_create_secret,
    tighten_mode,
)
from scanner_agent.storage.retention import Retention
from scanner_agent.storage.sql_store import (
    IndicatorRecord,
    Position,
    Row,
    ScanRecord,
    Store,
    Stored,
)
from scanner_agent.storage.writer import StorageState, StorageWriter

__all__ = [
    "IndicatorRecord",
    "Journal",
    "JournalContents",
    "MemberProtector",
    "Position",
    "Retention",
    "Row",
    "ScanRecord",
    "StorageError",
    "StorageProblem",
    "StorageState",
    "StorageWriter",
    "Store",
    "Stored",
    "read_or_create_secret",
    "tighten_mode",
]

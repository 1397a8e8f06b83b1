"""How long scans are kept, and what erasure means.

    retention = Retention(hours=24)
    retention.cutoff()          # scans received before this are erased (and never served)
    retention.keeps(scan)

Retention: a scan received more than `storage.retention_hours` ago is not served, from memory or
from the database, and the writer erases it from the database every minute
(`ScanService.purge_now`).

Erasure (`DELETE /v1/scans...`) removes a scan from everywhere it is at once: the memory of
recent scans, the scans waiting to be written and the database. The writer's `write_lock` is
held meanwhile, so that a scan taken from the backlog just before it is erased cannot be written
just after (see `scanner_agent.scans.ScanService.erase`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scanner_agent.scan import Scan


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Retention:
    """Scans are kept `hours` after they were received."""

    hours: float
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def period(self) -> timedelta:
        return timedelta(hours=self.hours)

    def cutoff(self) -> datetime:
        """The oldest time of reception still kept."""
        return self.clock() - self.period

    def keeps(self, scan: Scan, cutoff: datetime | None = None) -> bool:
        return scan.received_at >= (cutoff or self.cutoff())


__all__ = ["Retention", "utc_now"]

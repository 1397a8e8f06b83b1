"""The weekly export (`scanner_agent.indicator_export`): written once, idempotent, never over a
different file, atomic (no partial file when a write is interrupted), at start when the previous
week is missing, at a week change (injected clock), the same bytes from two agents sharing one
database and one folder, and never a member number or a scan id in the files."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner_agent import indicator_export
from scanner_agent.agent import Agent
from scanner_agent.bus import EventBus
from scanner_agent.config import Settings, load_settings
from scanner_agent.indicator_export import (
    WeeklyExport,
    export_query,
    file_name,
    read_for,
    week_files,
)
from scanner_agent.indicators import EXPORT_GROUP_BY, MEASURES, IndicatorCounter
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from scanner_agent.storage import StorageError
from tests.helpers.api import OTHER, make_scan
from tests.helpers.devices import wait_until
from tests.helpers.payloads import Fields, tagged
from tests.helpers.privacy import find_member_numbers, sqlite_dump
from tests.helpers.samples import BAD_AMC, TODAY

# TODAY (2026-03-01) is a Sunday of 2026-W09: the previous week is 2026-W08.
W08_MONDAY = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)
W08_FRIDAY = datetime(2026, 2, 20, 15, 0, tzinfo=UTC)
W09_TUESDAY = datetime(2026, 2, 24, 11, 0, tzinfo=UTC)
TEST_CARD = tagged(Fields(amc_number="999999990")).decode("latin-1")


def memory_scans(context: ParseContext, scans: list[tuple[str, datetime]]) -> ScanService:
    """A scans service without a database (its indicators in memory) holding `scans`."""
    service = ScanService(EventBus(), counter=IndicatorCounter("PC-1", kinds={"desk": "serial"}))
    for payload, at in scans:
        service.record(make_scan(context, payload, "desk", at), decode_ms=1.25)
    return service


@pytest.fixture
def w08(context: ParseContext) -> ScanService:
    return memory_scans(
        context,
        [
            (OTHER, W08_MONDAY),
            (OTHER, W08_FRIDAY),
            (BAD_AMC.decode("ascii"), W08_FRIDAY),
            (TEST_CARD, W08_FRIDAY),
            (OTHER, W09_TUESDAY),
        ],
    )


class Counting:
    """A reader that counts its calls."""

    def __init__(self, scans: ScanService) -> None:
        self.read = read_for(scans)
        self.calls = 0

    def __call__(self, query: Any) -> Any:
        self.calls += 1
        return self.read(query)


def exporter(folder: Path, scans: ScanService, today: date = TODAY) -> WeeklyExport:
    return WeeklyExport(folder, read_for(scans), today=lambda: today)


def identity(path: Path) -> tuple[int, int, bytes]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, path.read_bytes()


def test_written_once_with_the_documented_columns(tmp_path: Path, w08: ScanService):
    export = exporter(tmp_path / "out", w08)
    assert export.export_week("2026-W08") == "written"
    csv_path = tmp_path / "out" / "indicators-2026-W08.csv"
    json_path = tmp_path / "out" / "indicators-2026-W08.json"
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert rows[0] == [*EXPORT_GROUP_BY, *MEASURES]
    by_day = [(r[1], r[6], r[-3]) for r in rows[1:]]  # day, decision, scans
    assert by_day == [  # sorted; the test card and the next week left out
        ("2026-02-16", "covered", "1"),
        ("2026-02-20", "covered", "1"),
        ("2026-02-20", "refused", "1"),
    ]
    assert all(r[0] == "2026-W08" and r[2] == "PC-1" for r in rows[1:])
    body = json.loads(json_path.read_text(encoding="utf-8"))
    assert (body["from"], body["to"], body["include_test"]) == ("2026-02-16", "2026-02-22", False)
    assert body["group_by"] == list(EXPORT_GROUP_BY)
    assert body["totals"] == {"scans": 3, "unreadable": 0, "decode_ms_mean": 1.25}
    assert export.status().last_export == "2026-W08" and export.status().error is None
    before = [identity(csv_path), identity(json_path)]
    assert export.export_week("2026-W08") == "present"
    assert [identity(csv_path), identity(json_path)] == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "indicators-2026-W08.csv",
        "indicators-2026-W08.json",
    ]


def test_an_identical_file_already_there_is_left_alone(tmp_path: Path, w08: ScanService):
    files = week_files(read_for(w08)(export_query("2026-W08")))
    csv_path = tmp_path / file_name("2026-W08", "csv")
    csv_path.write_bytes(files["csv"])
    before = identity(csv_path)
    export = exporter(tmp_path, w08)
    assert export.export_week("2026-W08") == "written"  # the JSON
    assert identity(csv_path) == before
    assert (tmp_path / file_name("2026-W08", "json")).read_bytes() == files["json"]
    assert export.status().error is None


def test_a_different_file_is_never_overwritten(tmp_path: Path, w08: ScanService):
    csv_path = tmp_path / "indicators-2026-W08.csv"
    csv_path.write_text("edited by hand\n")
    before = identity(csv_path)
    reader = Counting(w08)
    export = WeeklyExport(tmp_path, reader, today=lambda: TODAY)
    export.check()
    assert identity(csv_path) == before
    assert (tmp_path / "indicators-2026-W08.json").exists()
    status = export.status()
    assert status.error is not None and status.error.code == "export_conflict"
    assert "indicators-2026-W08.csv" in status.error.message
    calls = reader.calls
    export.check()  # not tried again: the conflict stays shown
    assert reader.calls == calls and identity(csv_path) == before
    # a later week exported: the error is cleared
    export.today = lambda: TODAY + timedelta(days=1)
    export.check()
    assert export.status().last_export == "2026-W09" and export.status().error is None


def test_an_interrupted_write_leaves_no_partial_file(
    tmp_path: Path, w08: ScanService, monkeypatch: pytest.MonkeyPatch
):
    left = tmp_path / ".indicators-2026-W08.csv.0badc0ffee00.tmp"  # a crash's leftover
    left.write_text("week,day\r\n2026-W08,")

    def failing_link(_source: object, _target: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(indicator_export.os, "link", failing_link)
    export = exporter(tmp_path, w08)
    export.check()
    assert sorted(p.name for p in tmp_path.iterdir()) == [left.name]  # ours removed
    status = export.status()
    assert status.error is not None and status.error.code == "export_failed"
    assert status.last_export is None
    monkeypatch.undo()
    export.check()  # tried again at the next check
    assert export.status().last_export == "2026-W08" and export.status().error is None
    written = (tmp_path / "indicators-2026-W08.csv").read_bytes()
    assert written == week_files(read_for(w08)(export_query("2026-W08")))["csv"]


def test_without_hard_links_a_rename_never_over_a_file(
    tmp_path: Path, w08: ScanService, monkeypatch: pytest.MonkeyPatch
):
    def no_links(_source: object, _target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(indicator_export.os, "link", no_links)
    (tmp_path / "indicators-2026-W08.json").write_text("{}\n")
    export = exporter(tmp_path, w08)
    assert export.export_week("2026-W08") == "conflict"
    assert (tmp_path / "indicators-2026-W08.json").read_text() == "{}\n"
    assert (tmp_path / "indicators-2026-W08.csv").read_bytes().startswith(b"week,day,")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_database_failure_is_export_failed_and_tried_again(tmp_path: Path, w08: ScanService):
    broken = {"on": True}

    def read(query: Any) -> Any:
        if broken["on"]:
            raise StorageError("the database is unavailable", "storage_unavailable")
        return read_for(w08)(query)

    export = WeeklyExport(tmp_path, read, today=lambda: TODAY)
    export.check()
    status = export.status()
    assert status.error is not None and status.error.code == "export_failed"
    assert "storage_unavailable" in status.error.message
    assert list(tmp_path.iterdir()) == []
    broken["on"] = False
    export.check()
    assert export.status().last_export == "2026-W08"


def test_a_new_week_with_an_injected_clock(tmp_path: Path, w08: ScanService):
    clock = {"today": date(2026, 2, 27)}  # a Friday of 2026-W09
    reader = Counting(w08)
    export = WeeklyExport(tmp_path, reader, today=lambda: clock["today"])
    export.check()
    assert export.status().last_export == "2026-W08"
    calls = reader.calls
    clock["today"] = date(2026, 3, 1)  # Sunday: still 2026-W09
    export.check()
    assert reader.calls == calls  # nothing to do, nothing read
    clock["today"] = date(2026, 3, 2)  # Monday: 2026-W10 has begun
    export.check()
    assert export.status().last_export == "2026-W09"
    w09 = (tmp_path / "indicators-2026-W09.csv").read_text(encoding="utf-8")
    assert "2026-02-24" in w09 and "2026-02-20" not in w09


def test_member_numbers_and_scan_ids_never_in_the_files(tmp_path: Path, context: ParseContext):
    members = [f"ZX{n:06d}QK" for n in range(40)]
    payloads = [tagged(Fields(member_number=m)).decode("latin-1") for m in members]
    service = memory_scans(context, [])
    ids = []
    for i, payload in enumerate(payloads):
        scan = make_scan(context, payload, "desk", W08_MONDAY + timedelta(hours=i))
        ids.append(scan.id)
        service.record(scan, decode_ms=0.5)
    export = exporter(tmp_path, service)
    assert export.export_week("2026-W08") == "written"
    body = json.loads((tmp_path / "indicators-2026-W08.json").read_text(encoding="utf-8"))
    assert body["totals"]["scans"] == 40
    files = {p.name: p for p in tmp_path.iterdir()}
    assert find_member_numbers(files, members) == []
    assert find_member_numbers(files, ids) == []


# --- the agent: SQLite, at start, two agents sharing one database and one folder ---------------


def agent_settings(tmp_path: Path, workstation: str, export_dir: Path | None) -> Settings:
    return load_settings(
        env={},
        overrides={
            "agent": {"data_dir": str(tmp_path / "data")},
            "indicators": {
                "workstation": workstation,
                "export_dir": str(export_dir) if export_dir else "",
            },
        },
    )


def test_at_start_the_previous_week_when_missing(tmp_path: Path, context: ParseContext):
    out = tmp_path / "export"
    first = ScanService.from_settings(agent_settings(tmp_path, "PC-1", None), EventBus())
    first.start()
    for at in (W08_MONDAY, W08_FRIDAY, W09_TUESDAY):
        first.record(make_scan(context, OTHER, "desk", at))
    first.stop()

    agent = Agent(agent_settings(tmp_path, "PC-1", out), context=context)
    agent.start()
    try:
        csv_path = out / "indicators-2026-W08.csv"
        wait_until(lambda: agent.indicator_export.status().last_export == "2026-W08")  # type: ignore[union-attr]
        rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
        assert [(r[1], r[-3]) for r in rows[1:]] == [("2026-02-16", "1"), ("2026-02-20", "1")]
        assert (out / "indicators-2026-W08.json").exists()
    finally:
        agent.stop()
    before = identity(csv_path)

    # another workstation on the same database and folder: the same bytes, nothing written
    other = Agent(agent_settings(tmp_path, "PC-2", out), context=context)
    assert other.indicator_export is not None
    assert other.indicator_export.export_week("2026-W08") == "present"
    os.remove(out / "indicators-2026-W08.json")
    other.scans.start()
    try:
        assert other.indicator_export.export_week("2026-W08") == "written"
    finally:
        other.scans.stop()
    assert identity(csv_path) == before
    body = json.loads((out / "indicators-2026-W08.json").read_text(encoding="utf-8"))
    assert body["workstations"] == ["PC-1"]


def test_a_week_waits_while_its_indicators_wait_to_be_written(
    tmp_path: Path, context: ParseContext
):
    scans = ScanService.from_settings(agent_settings(tmp_path, "PC-1", None), EventBus())
    scans.record(make_scan(context, OTHER, "desk", W08_FRIDAY))  # not started: it waits
    try:
        export = WeeklyExport(tmp_path / "out", read_for(scans), today=lambda: TODAY)
        export.check()
        status = export.status()
        assert status.error is not None and status.error.code == "export_failed"
        assert not (tmp_path / "out").exists()
        scans.start()
        wait_until(lambda: scans.storage().pending == 0)
        export.check()
        assert export.status().last_export == "2026-W08"
    finally:
        scans.stop()


def test_no_export_without_a_folder_or_a_database(tmp_path: Path, context: ParseContext):
    assert Agent(agent_settings(tmp_path, "PC-1", None), context=context).indicator_export is None
    memory = Agent(agent_settings(tmp_path, "PC-1", tmp_path / "x"), context=context, storage=False)
    assert memory.indicator_export is None


def test_after_a_burst_from_every_source_no_member_number_in_the_database_or_the_files(
    tmp_path: Path, context: ParseContext
):
    out = tmp_path / "export"
    members = [f"BURST{n:04d}X" for n in range(24)] + ["185057800608491", "AB-123/45"]
    sources = ["serial", "hid_pos", "hid_keyboard", "camera", "upload", "manual"]
    scans = ScanService.from_settings(agent_settings(tmp_path, "PC-1", None), EventBus())
    scans.start()
    for i, member in enumerate(members):
        payload = tagged(Fields(member_number=member)).decode("latin-1")
        amc = "07756" if i % 7 == 0 else "0775627391"  # some refused: counted, never kept
        if i % 7 == 0:
            payload = payload.replace("0775627391", amc)
        scan = make_scan(context, payload, "desk", W08_MONDAY + timedelta(hours=i))
        scans.record(scan.model_copy(update={"source": sources[i % len(sources)]}))
    scans.stop()

    agent = Agent(agent_settings(tmp_path, "PC-1", out), context=context)
    agent.start()
    try:
        wait_until(lambda: agent.indicator_export.status().last_export == "2026-W08")  # type: ignore[union-attr]
    finally:
        agent.stop()
    body = json.loads((out / "indicators-2026-W08.json").read_text(encoding="utf-8"))
    assert body["totals"]["scans"] == len(members)
    assert {r["source"] for r in body["rows"]} == {
        "serial",
        "hid",
        "keyboard",
        "camera",
        "upload",
        "manual",
    }
    database = tmp_path / "data" / "scans.db"
    places: dict[str, Any] = {p.name: p for p in out.iterdir()}
    dump = sqlite_dump(database)
    assert sum(line.startswith("indicators: ") for line in dump.splitlines()) == len(members)
    places["database (every table)"] = dump
    places["database file"] = database
    assert find_member_numbers(places, members) == []

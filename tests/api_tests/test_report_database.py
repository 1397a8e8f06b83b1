"""`scanner-agent report` and the weekly export over one database that several workstations
write to: a SQLite file, then a real PostgreSQL (the hospital's shared server)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scanner_agent.bus import EventBus
from scanner_agent.cli import build_parser
from scanner_agent.config import Settings, load_settings
from scanner_agent.indicator_export import WeeklyExport, read_for
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from tests.helpers.api import OTHER, VALID, make_scan

MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 2026-W48
FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
NEXT_MONDAY = date(2026, 11, 30)


def config(tmp_path: Path, db_url: str, workstation: str) -> Path:
    path = tmp_path / f"{workstation}.toml"
    path.write_text(
        f'[agent]\ndata_dir = "{tmp_path / workstation}"\n'
        f'[storage]\nurl = "{db_url}"\nmember_number = "hashed"\n'
        f'key_file = "{tmp_path / "shared.key"}"\n'
        f'[indicators]\nworkstation = "{workstation}"\n',
        encoding="utf-8",
    )
    return path


def settings_of(path: Path) -> Settings:
    return load_settings(path, env={})


def fill(path: Path, context: ParseContext, scans: list[tuple[str, datetime]]) -> None:
    service = ScanService.from_settings(settings_of(path), EventBus())
    service.start()
    for payload, at in scans:
        service.record(make_scan(context, payload, "desk", at))
    service.stop()


def test_report_and_export_aggregate_every_workstation(
    db_url: str, tmp_path: Path, context: ParseContext, capsys: pytest.CaptureFixture[str]
):
    one, two = config(tmp_path, db_url, "PC-1"), config(tmp_path, db_url, "PC-2")
    fill(one, context, [(VALID, MONDAY), (OTHER, FRIDAY)])
    fill(two, context, [(VALID, FRIDAY), ("garbage", FRIDAY)])

    args = build_parser().parse_args(["report", "--config", str(two), "--week", "2026-W48"])
    args.json = True
    assert args.func(args, today=NEXT_MONDAY) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["workstations"] == ["PC-1", "PC-2"]
    assert [(r["workstation"], r["decision"], r["scans"]) for r in body["rows"]] == [
        ("PC-1", "covered", 2),
        ("PC-2", "covered", 1),
        ("PC-2", "refused", 1),
    ]

    # two agents sharing the database and one folder write the same bytes, once
    out = tmp_path / "export"
    services = [ScanService.from_settings(settings_of(p), EventBus()) for p in (one, two)]
    try:
        exports = [WeeklyExport(out, read_for(s), today=lambda: NEXT_MONDAY) for s in services]
        assert exports[0].export_week("2026-W48") == "written"
        first = {p.name: p.read_bytes() for p in out.iterdir()}
        (out / "indicators-2026-W48.json").unlink()
        assert exports[1].export_week("2026-W48") == "written"
        assert {p.name: p.read_bytes() for p in out.iterdir()} == first
        assert exports[1].export_week("2026-W48") == "present"
    finally:
        for service in services:
            service.stop()
    exported = json.loads(first["indicators-2026-W48.json"])
    assert exported["totals"]["scans"] == 4
    assert exported["workstations"] == ["PC-1", "PC-2"]

"""`scanner-agent report`: read from the configured database with the agent stopped, every
workstation of it; the table, the CSV, the JSON of the API; bad arguments and an unreadable
database."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scanner_agent.bus import EventBus
from scanner_agent.cli import build_parser, main
from scanner_agent.config import Settings, load_settings
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from tests.helpers.api import OTHER, make_scan
from tests.helpers.payloads import Fields, tagged
from tests.helpers.samples import BAD_AMC

MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 2026-W48
SUNDAY = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
NEXT_WEEK = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 2026-W49
TEST_CARD = tagged(Fields(amc_number="999999990")).decode("latin-1")


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANNER_AGENT_CONFIG", raising=False)


def config_file(tmp_path: Path, workstation: str) -> Path:
    path = tmp_path / f"{workstation}.toml"
    path.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n[indicators]\nworkstation = "{workstation}"\n',
        encoding="utf-8",
    )
    return path


def fill(settings: Settings, context: ParseContext, scans: list[tuple[str, datetime]]) -> None:
    """An agent's scans service writes `scans` to the database, then stops."""
    service = ScanService.from_settings(settings, EventBus())
    service.start()
    for payload, at in scans:
        service.record(make_scan(context, payload, "desk", at), decode_ms=2.0)
    service.stop()


@pytest.fixture
def database(tmp_path: Path, context: ParseContext) -> Path:
    """Two workstations writing to one database; the config of the first."""
    one = config_file(tmp_path, "PC-1")
    two = config_file(tmp_path, "PC-2")
    fill(
        load_settings(one, env={}),
        context,
        [(OTHER, MONDAY), (OTHER, SUNDAY), (BAD_AMC.decode("ascii"), SUNDAY), (TEST_CARD, SUNDAY)],
    )
    fill(load_settings(two, env={}), context, [(OTHER, SUNDAY), (OTHER, NEXT_WEEK)])
    return one


def report(
    capsys: pytest.CaptureFixture[str], *argv: str, today: date = date(2026, 11, 26)
) -> tuple[int, str, str]:
    args = build_parser().parse_args(["report", *argv])
    status = args.func(args, today=today)
    out, err = capsys.readouterr()
    return status, out, err


def test_json_of_the_api_every_workstation(capsys, database: Path):
    status, out, _ = report(capsys, "--config", str(database), "--week", "2026-W48", "--json")
    assert status == 0
    body = json.loads(out)
    assert (body["from"], body["to"]) == ("2026-11-23", "2026-11-29")
    assert body["workstations"] == ["PC-1", "PC-2"]
    assert [(r["workstation"], r["decision"], r["scans"]) for r in body["rows"]] == [
        ("PC-1", "covered", 2),
        ("PC-1", "refused", 1),
        ("PC-2", "covered", 1),
    ]
    assert body["totals"] == {"scans": 4, "unreadable": 0, "decode_ms_mean": 2.0}


def test_by_default_the_current_week(capsys, database: Path):
    status, out, _ = report(capsys, "--config", str(database), "--json", today=date(2026, 12, 3))
    assert status == 0
    body = json.loads(out)
    assert (body["from"], body["to"]) == ("2026-11-30", "2026-12-06")
    assert body["totals"]["scans"] == 1


def test_the_table_titles_the_period_in_french_and_totals(capsys, database: Path):
    status, out, _ = report(capsys, "--config", str(database), "--by", "day,decision")
    assert status == 0
    assert "semaine 2026-W48, du lundi 23 novembre 2026 au dimanche 29 novembre 2026" in out
    assert "postes : PC-1, PC-2" in out
    cells = [[c.strip() for c in re.split("[│┃]", line)[1:-1]] for line in out.splitlines()]
    assert ["day", "decision", "scans", "unreadable", "decode_ms_mean"] in cells
    assert ["2026-11-23", "covered", "1", "0", "2.000"] in cells
    assert ["2026-11-29", "covered", "2", "0", "2.000"] in cells
    assert ["2026-11-29", "refused", "1", "0", "2.000"] in cells
    assert ["total", "", "4", "0", "2.000"] in cells


def test_csv_to_a_file_and_to_standard_output(capsys, database: Path, tmp_path: Path):
    target = tmp_path / "w48.csv"
    args = ("--config", str(database), "--week", "2026-W48", "--by", "workstation,test")
    status, _, err = report(capsys, *args, "--include-test", "--csv", str(target))
    assert status == 0 and "w48.csv" in err
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows == [
        ["workstation", "test", "scans", "unreadable", "decode_ms_mean"],
        ["PC-1", "false", "3", "0", "2.000"],
        ["PC-1", "true", "1", "0", "2.000"],
        ["PC-2", "false", "1", "0", "2.000"],
    ]
    status, out, _ = report(capsys, *args, "--workstation", "PC-2", "--csv", "-")
    assert status == 0
    assert out == ("workstation,test,scans,unreadable,decode_ms_mean\r\nPC-2,false,1,0,2.000\r\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["--week", "2026-W48", "--from", "2026-11-23"],
        ["--week", "48"],
        ["--from", "2026-11-29", "--to", "2026-11-23"],
        ["--from", "29/11/2026"],
        ["--by", "week,member_number"],
        ["--csv", "x.csv", "--json"],
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, database: Path, argv: list[str]):
    with pytest.raises(SystemExit) as exited:
        main(["report", "--config", str(database), *argv])
    assert exited.value.code == 2
    assert "scanner-agent report: error:" in capsys.readouterr().err


def broken_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "broken.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path}"\n[storage]\nurl = "{url}"\n', encoding="utf-8"
    )
    return config


def test_a_database_that_cannot_be_read_exits_1_with_its_code(capsys, tmp_path: Path):
    garbage = tmp_path / "scans.db"
    garbage.write_bytes(b"not a database, " * 512)
    status, out, err = report(
        capsys, "--config", str(broken_config(tmp_path, f"sqlite:///{garbage}"))
    )
    assert status == 1
    assert out == ""
    assert err.startswith("scanner-agent: storage_error: ")


def test_a_database_folder_that_cannot_be_made_exits_1(capsys, tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    config = broken_config(tmp_path, f"sqlite:///{blocker}/scans.db")
    status, out, err = report(capsys, "--config", str(config))
    assert (status, out) == (1, "")
    assert err.startswith("scanner-agent: storage_unavailable: ")

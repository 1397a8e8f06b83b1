"""No member number where it may not be: after a burst of scans from several sources (a serial
scanner's recording replayed, uploaded files, attestations typed by hand, some erased), the whole
database (every table, every column, as text; and, on SQLite, the raw bytes of the database, its
WAL and the journal) holds none of the member numbers read, whether they are kept `encrypted` or
`hashed`. The indicators table, the new one, is in the dump like every other."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanner_agent.indicators import IndicatorQuery
from tests.helpers.api import LiveFactory, auth, wait_until
from tests.helpers.files import datamatrix_png
from tests.helpers.privacy import find_member_numbers, postgres_dump, sqlite_dump
from tests.helpers.samples import VALID_PIPE

DEVICE_NUMBERS = ["185057800608491", "AB-123/45", "MEMBRE0042", "284127512345678"]
"""Read by the desk's scanner; two are NIR-like (what a member number must never be, and what
some cards carry all the same)."""
UPLOAD_NUMBERS = ["176022B01234567", "UPLOAD-77/12"]
TYPED_NUMBERS = ["292072A00112233", "SAISIE123456"]
REFUSED_NUMBER = "REFUSE-998877"
"""On a card whose AMC number is bad: refused, counted, never kept."""
ALL = [*DEVICE_NUMBERS, *UPLOAD_NUMBERS, *TYPED_NUMBERS, REFUSED_NUMBER]


def card(number: str, amc: bytes = b"774734488") -> bytes:
    """`samples.VALID_PIPE` with this member number (and AMC)."""
    return VALID_PIPE.replace(b"ADH:AB-123/45", b"ADH:" + number.encode()).replace(
        b"AMC:774734488", b"AMC:" + amc
    )


def recording(path: Path, cards: list[bytes]) -> str:
    lines = [json.dumps({"recording": 1, "protocol": "serial"})]
    lines += [json.dumps({"t": i * 0.002, "hex": (c + b"\r\n").hex()}) for i, c in enumerate(cards)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


TYPED: dict[str, Any] = {
    "amc_number": "0775627391",
    "convention_types": ["MU"],
    "routing_criterion": "",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "at": "2026-03-01",
}


@pytest.mark.parametrize("mode", ["encrypted", "hashed"])
def test_no_member_number_in_the_database(
    live: LiveFactory, db_url: str, tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cards = [card(n) for n in DEVICE_NUMBERS]
    cards.append(card(REFUSED_NUMBER, b"07756"))  # refused by the device's scan too
    path = recording(tmp_path / "burst.jsonl", cards)
    server = live(
        devices=[{"id": "desk", "type": "replay", "path": path, "suffix": "crlf", "speed": 50}],
        storage={"url": db_url, "member_number": mode},
        api={"store_manual": True},
        pipeline={"duplicate_window_s": 0},
        indicators={"workstation": "PC-PRIVACY"},
    )
    headers = auth(server.app)
    agent = server.app.state.api.agent
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for number in UPLOAD_NUMBERS:
            png = datamatrix_png(card(number).decode())
            answer = client.post("/v1/decode", files={"file": ("card.png", png, "image/png")})
            assert answer.status_code == 200 and len(answer.json()["codes"]) == 1
        for number in TYPED_NUMBERS:
            typed = client.post(
                "/v1/attestations/validate", json={**TYPED, "member_number": number}
            )
            assert typed.status_code == 200 and "X-Scan-Id" in typed.headers
        refused = {**TYPED, "amc_number": "07756", "member_number": REFUSED_NUMBER}
        assert client.post("/v1/attestations/validate", json=refused).status_code == 200

        def listed() -> list[dict[str, Any]]:
            return list(client.get("/v1/scans", params={"limit": 100}).json())

        wait_until(lambda: len(listed()) == len(cards) + len(UPLOAD_NUMBERS) + len(TYPED_NUMBERS))
        scans = listed()
        served = {s["attestation"]["member_number"] for s in scans}
        if mode == "encrypted":  # given back (a hashed one only while it waits to be written)
            assert set(DEVICE_NUMBERS) | set(UPLOAD_NUMBERS) | set(TYPED_NUMBERS) <= served
        erased = next(s for s in scans if s["device_id"] == "desk")
        assert client.delete(f"/v1/scans/{erased['id']}").status_code in (200, 204)
        writer = agent.scans.writer
        wait_until(lambda: writer.pending == 0 and not writer.pending_indicators())

    day = scans[0]["received_at"][:10]
    start = date.fromisoformat(day) - timedelta(days=1)
    report = agent.scans.indicators(
        IndicatorQuery.of(start, start + timedelta(days=2), ("source",))
    )
    assert {r.keys["source"]: r.scans for r in report.rows} == {
        "serial": len(cards),  # a replayed serial line counts as serial
        "upload": len(UPLOAD_NUMBERS),
        "manual": len(TYPED_NUMBERS) + 1,
    }

    data = tmp_path / "data"
    places: dict[str, Any] = {"journal": data / "scans.journal", "log": caplog.text}
    if db_url.startswith("sqlite"):
        db = Path(db_url.removeprefix("sqlite:///"))
        places |= {
            "dump": sqlite_dump(db),
            "db": db,
            "wal": db.with_name(db.name + "-wal"),
            "shm": db.with_name(db.name + "-shm"),
        }
        assert "indicators: " in places["dump"] and "scans: " in places["dump"]
    else:
        places["dump"] = postgres_dump(db_url)
        assert "indicators: " in places["dump"] and "scans: " in places["dump"]
    assert find_member_numbers(places, ALL) == []


def test_the_search_finds_a_number_in_every_form(tmp_path: Path) -> None:
    number = "AB-123/45"
    (tmp_path / "f").write_bytes(b"\x00x" + "AB-123/45".encode("utf-16-le") + b"\xff")
    places = {
        "json": json.dumps({"member_number": number}),
        "bare": b"..AB12345..",
        "file": tmp_path / "f",
        "utf16be": "185057800608491".encode("utf-16-be"),
        "none": "nothing here",
        "gone": tmp_path / "missing",
    }
    hits = find_member_numbers(places, [number, "185057800608491"])
    assert hits == [
        ("json", number),
        ("bare", number),
        ("file", number),
        ("utf16be", "185057800608491"),
    ]
    assert find_member_numbers(["AB12345"], [number]) == [("0", number)]
    with pytest.raises(ValueError, match="too short"):
        find_member_numbers([""], ["42"])

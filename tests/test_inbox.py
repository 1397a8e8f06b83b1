"""The watched folder (`[inputs] watch_dir`, `scanner_agent.inbox`): real files dropped in a
real agent's folder, their scans read back through the API (source `upload`), the files moved to
`done/` or `failed/` with their report; a file written in two halves not read early; a name
clash; a crash between recording and moving; problems shown in /v1/health, not retried in a
tight loop.

The end-to-end tests run the agent's own inbox thread (`poll_s`, `settle_s` small) and wait on
conditions; the others drive `Inbox.check()` with a clock of their own (no sleeps, no wall-clock
assertions)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent import inbox as inbox_module
from scanner_agent.agent import Agent
from scanner_agent.config import Settings, load_settings
from scanner_agent.inbox import RETRY_S, Inbox, is_candidate
from scanner_agent.parse_context import ParseContext
from tests.helpers.api import BASE, auth
from tests.helpers.devices import wait_until
from tests.helpers.files import heic_bytes, image_bytes, page_image
from tests.helpers.pdfs import scanned_pdf
from tests.helpers.privacy import find_member_numbers
from tests.helpers.samples import FIXED_OTHER as B
from tests.helpers.samples import VALID as A

MEMBERS = ["12345678", "87654321"]  # the member numbers of A and B


def settings_for(tmp_path: Path, watch: Path | None, **inputs: Any) -> Settings:
    overrides: dict[str, Any] = {"agent": {"data_dir": str(tmp_path / "data")}}
    if watch is not None:
        overrides["inputs"] = {"watch_dir": str(watch), "settle_s": 0.1, "poll_s": 0.05, **inputs}
    return load_settings(env={}, overrides=overrides)


@contextmanager
def running(settings: Settings, context: ParseContext) -> Iterator[TestClient]:
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        yield client


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


def upload_scans(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/v1/scans?device=upload&limit=100")
    assert response.status_code == 200
    return response.json()


def payloads(scans: list[dict[str, Any]]) -> list[str]:
    return sorted(s["attestation"]["member_number"] for s in scans)


# --- end to end: the agent's own thread -----------------------------------------------------


def test_each_kind_of_file_is_recorded_and_moved(
    tmp_path: Path, context: ParseContext, caplog: pytest.LogCaptureFixture
):
    pytest.importorskip("pillow_heif")
    watch = tmp_path / "scans"
    watch.mkdir()
    caplog.set_level(logging.INFO, logger="scanner_agent.inbox")
    with running(settings_for(tmp_path, watch), context) as client:
        drops = {
            "card.png": image_bytes(page_image(A), "PNG"),
            "mail.pdf": scanned_pdf([page_image(None), page_image(A), page_image(B)], dpi=150),
            "fax.tiff": image_bytes(page_image(B), "TIFF", page_image(None), page_image(A)),
            "IMG_0042.HEIC": heic_bytes(page_image(A)),
            "cut.png": image_bytes(page_image(A), "PNG")[:400],
            "notes.txt": b"not an image\n" * 20,
            "blank.png": image_bytes(page_image(None), "PNG"),
            "qr.png": image_bytes(page_image(b"hello, not an attestation"), "PNG"),
        }
        for name, data in drops.items():
            (watch / name).write_bytes(data)
        failed_names = {"cut.png", "notes.txt", "blank.png", "qr.png"}
        done_names = set(drops) - failed_names

        def settled() -> bool:
            return files_in(watch / "done") == done_names and files_in(watch / "failed") == {
                *failed_names,
                *(f"{n}.json" for n in failed_names),
            }

        wait_until(settled, timeout=60)
        assert files_in(watch) == set()  # nothing left, nothing deleted
        assert files_in(watch / "processing") == set()
        for name in done_names:
            assert (watch / "done" / name).read_bytes() == drops[name]  # moved, untouched
        for name in failed_names:
            assert (watch / "failed" / name).read_bytes() == drops[name]

        scans = upload_scans(client)
        assert {s["source"] for s in scans} == {"upload"}
        # card 1, mail 2 (pages 2 and 3), fax 2 (pages 1 and 3), HEIC 1, the QR code 1 (refused)
        attestations = [s for s in scans if s["attestation"]["status"] == "valid"]
        assert payloads(attestations) == sorted(["12345678"] * 4 + ["87654321"] * 2)
        assert len(scans) == 7

        failed = watch / "failed"
        reports = {n: json.loads((failed / f"{n}.json").read_text()) for n in failed_names}
        codes = {n: r["error"]["code"] for n, r in reports.items()}
        assert codes == {
            "cut.png": "corrupt_image",
            "notes.txt": "not_an_image",
            "blank.png": "no_code",
            "qr.png": "no_attestation",
        }
        assert reports["qr.png"]["codes"] == 1
        assert reports["qr.png"]["attestations"] == 0
        [qr_scan] = [s for s in scans if s["attestation"]["status"] != "valid"]
        assert reports["qr.png"]["scan_ids"] == [qr_scan["id"]]
        assert reports["notes.txt"]["file"] == "notes.txt"
        assert "notes.txt" in reports["notes.txt"]["error"]["message"]

        health = client.get("/v1/health").json()
        assert health["status"] == "ok"
        assert health["inputs"] == {
            "watch_dir": str(watch),
            "pending": 0,
            "done": len(done_names),
            "failed": len(failed_names),
            "error": None,
        }
    # one line per file, names and counts: never a payload nor a member number
    lines = [r.getMessage() for r in caplog.records if r.name == "scanner_agent.inbox"]
    assert len([line for line in lines if " -> " in line]) == len(drops)
    assert any("mail.pdf -> done/mail.pdf: 2 code(s), 2 attestation(s)" in line for line in lines)
    places = {"log": "\n".join(lines), **{n: watch / "failed" / f"{n}.json" for n in failed_names}}
    assert find_member_numbers(places, MEMBERS) == []


def test_a_name_already_in_done_gets_a_suffix_never_an_overwrite(
    tmp_path: Path, context: ParseContext
):
    watch = tmp_path / "scans"
    (watch / "done").mkdir(parents=True)
    (watch / "done" / "card.png").write_bytes(b"yesterday's card")
    (watch / "done" / "card (2).png").write_bytes(b"the day before's")
    png = image_bytes(page_image(A), "PNG")
    with running(settings_for(tmp_path, watch), context) as client:
        (watch / "card.png").write_bytes(png)
        wait_until((watch / "done" / "card (3).png").exists, timeout=30)
        assert (watch / "done" / "card.png").read_bytes() == b"yesterday's card"
        assert (watch / "done" / "card (2).png").read_bytes() == b"the day before's"
        assert (watch / "done" / "card (3).png").read_bytes() == png
        assert len(upload_scans(client)) == 1


def test_a_missing_folder_does_not_stop_the_agent_and_shows_in_health(
    tmp_path: Path, context: ParseContext
):
    watch = tmp_path / "share"
    with running(settings_for(tmp_path, watch), context) as client:

        def inputs() -> dict[str, Any]:
            return client.get("/v1/health").json()["inputs"]

        wait_until(lambda: inputs()["error"] is not None)
        health = client.get("/v1/health").json()
        assert health["status"] == "degraded"
        assert health["inputs"]["error"]["code"] == "watch_dir_missing"
        assert str(watch) in health["inputs"]["error"]["message"]
        assert client.get("/v1/scans").status_code == 200  # the agent serves all the same
        watch.mkdir()  # the share is back
        wait_until(lambda: inputs()["error"] is None)
        (watch / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
        wait_until(lambda: inputs()["done"] == 1, timeout=30)
        assert client.get("/v1/health").json()["status"] == "ok"


def test_without_watch_dir_health_says_null(tmp_path: Path, context: ParseContext):
    with running(settings_for(tmp_path, None), context) as client:
        assert client.get("/v1/health").json()["inputs"] == {
            "watch_dir": None,
            "pending": 0,
            "done": 0,
            "failed": 0,
            "error": None,
        }


# --- driven look by look: Inbox.check() with a clock of our own -----------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def agent(tmp_path: Path, context: ParseContext) -> Iterator[Agent]:
    settings = settings_for(tmp_path, None)
    running_agent = Agent(settings, context=context)
    running_agent.start()
    yield running_agent
    running_agent.stop()


def make_inbox(tmp_path: Path, agent: Agent, clock: Clock, settle_s: float = 2.0) -> Inbox:
    watch = tmp_path / "scans"
    watch.mkdir(exist_ok=True)
    return Inbox(watch, tmp_path / "data" / "ledger.json", agent.take_upload,
                 settle_s=settle_s, clock=clock)  # fmt: skip


def recorded(agent: Agent) -> list[str]:
    rows = agent.scans.recent().items
    return sorted(json.loads(r.json)["attestation"]["member_number"] for r in rows)


def test_a_file_written_in_two_halves_is_not_read_early(tmp_path: Path, agent: Agent):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock)
    path = inbox.folder / "slow.pdf"
    data = scanned_pdf([page_image(A), page_image(B)], dpi=150)
    with path.open("wb") as out:
        out.write(data[: len(data) // 2])
        out.flush()
        inbox.check()  # seen, half written
        clock.now += 1.9  # less than settle_s
        inbox.check()
        out.write(data[len(data) // 2 :])  # the copy goes on: size and time of change move
    inbox.check()  # seen changed: waits again from now
    clock.now += 1.9  # 3.8 s after the first sight, 1.9 s after the change
    inbox.check()
    assert path.exists()
    assert agent.scans.recent().items == []
    assert inbox.status().pending == 1
    clock.now += 0.2
    inbox.check()
    assert not path.exists()
    assert (inbox.folder / "done" / "slow.pdf").read_bytes() == data
    assert recorded(agent) == ["12345678", "87654321"]
    assert inbox.status().done == 1


def test_hidden_temporary_and_system_files_are_left_alone(tmp_path: Path, agent: Agent):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    names = ["~$lettre.docx", ".card.png", "card.png.part", "x.tmp", "dl.crdownload",
             "Thumbs.db", "desktop.ini", "edit.png~"]  # fmt: skip
    png = image_bytes(page_image(A), "PNG")
    for name in names:
        (inbox.folder / name).write_bytes(png)
    (inbox.folder / "sub").mkdir()
    (inbox.folder / "sub" / "inner.png").write_bytes(png)
    (inbox.folder / "card.png").write_bytes(png)
    inbox.check()
    inbox.check()
    assert files_in(inbox.folder / "done") == {"card.png"}
    assert files_in(inbox.folder) == set(names)
    assert files_in(inbox.folder / "sub") == {"inner.png"}
    assert not any(is_candidate(n) for n in names)
    assert is_candidate("Scan_2026-12-04.PDF")


def test_an_empty_file_waits_longer_before_it_fails(tmp_path: Path, agent: Agent):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=1)
    (inbox.folder / "new.pdf").write_bytes(b"")
    inbox.check()
    clock.now += 5
    inbox.check()
    assert (inbox.folder / "new.pdf").exists()  # a copy may create the file before it writes
    clock.now += inbox_module.EMPTY_SETTLE_S
    inbox.check()
    report = json.loads((inbox.folder / "failed" / "new.pdf.json").read_text())
    assert report["error"]["code"] == "empty_file"


def test_a_file_that_cannot_be_moved_is_reported_and_retried_later_not_at_once(
    tmp_path: Path, agent: Agent, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    real_move = inbox_module.move_no_replace
    tries: list[Path] = []

    def refused(source: Path, target: Path) -> None:
        if target.parent.name == "done":
            tries.append(target)
            raise PermissionError(13, "Permission denied")
        real_move(source, target)

    monkeypatch.setattr(inbox_module, "move_no_replace", refused)
    (inbox.folder / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
    inbox.check()
    inbox.check()  # complete: claimed, recorded, refused on the way to done/
    for _ in range(5):
        clock.now += 1
        inbox.check()
    assert len(tries) == 1  # not retried in a tight loop
    error = inbox.status().error
    assert error is not None
    assert error.code == "move_failed"
    assert "Permission denied" in error.message
    assert "card.png" not in error.message  # health is open: a file's name only in the log
    assert any("card.png cannot be moved to done/" in r.getMessage() for r in caplog.records)
    assert inbox.status().pending == 1
    monkeypatch.setattr(inbox_module, "move_no_replace", real_move)
    clock.now += RETRY_S
    inbox.check()
    assert files_in(inbox.folder / "done") == {"card.png"}
    assert inbox.status().error is None
    assert recorded(agent) == ["12345678"]  # recorded once, moved at the second try


def test_a_problem_goes_with_the_file_taken_away_by_hand(
    tmp_path: Path, agent: Agent, monkeypatch: pytest.MonkeyPatch
):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    real_move = inbox_module.move_no_replace

    def refused(source: Path, target: Path) -> None:
        if target.parent.name == "done":
            raise PermissionError(13, "Permission denied")
        real_move(source, target)

    monkeypatch.setattr(inbox_module, "move_no_replace", refused)
    (inbox.folder / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
    inbox.check()
    inbox.check()
    error = inbox.status().error
    assert error is not None and error.code == "move_failed"
    (inbox.folder / "processing" / "card.png").unlink()  # IT takes it away
    clock.now += 1
    inbox.check()
    assert inbox.status().error is None  # health is no longer degraded by a file not there
    assert inbox.status().pending == 0


def test_scans_that_cannot_be_recorded_are_tried_again_later_not_at_every_look(
    tmp_path: Path, agent: Agent
):
    clock = Clock()
    tries: list[int] = []

    def take(symbols: Any, **kwargs: Any) -> Any:
        tries.append(len(list(symbols)))
        if len(tries) == 1:
            raise OSError(28, "No space left on device")  # the journal, say
        return agent.take_upload(symbols, **kwargs)

    watch = tmp_path / "scans"
    watch.mkdir()
    inbox = Inbox(watch, tmp_path / "data" / "ledger.json", take, settle_s=0, clock=clock)
    (watch / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
    inbox.check()
    inbox.check()
    error = inbox.status().error
    assert error is not None
    assert error.code == "record_failed"
    assert "No space left on device" in error.message and "card.png" not in error.message
    for _ in range(5):
        clock.now += 1
        inbox.check()
    assert tries == [1]  # not decoded and offered again at every look
    assert files_in(watch / "processing") == {"card.png"}
    clock.now += RETRY_S
    inbox.check()
    assert tries == [1, 1]
    assert files_in(watch / "done") == {"card.png"}
    assert inbox.status().error is None
    assert recorded(agent) == ["12345678"]


def test_a_folder_where_the_agent_cannot_create_its_subfolders_is_reported(
    tmp_path: Path, agent: Agent
):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    (inbox.folder / "done").write_bytes(b"a file where the folder should be")
    (inbox.folder / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
    inbox.check()
    inbox.check()
    error = inbox.status().error
    assert error is not None
    assert error.code == "watch_dir_not_writable"
    assert (inbox.folder / "card.png").exists()
    assert agent.scans.recent().items == []


# --- a crash in the middle ------------------------------------------------------------------


class Crash(BaseException):
    """The process dies here (not an Exception: nothing catches it)."""


def test_a_crash_between_recording_and_moving_records_nothing_twice(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    watch = tmp_path / "scans"
    watch.mkdir()
    settings = settings_for(tmp_path, watch)
    data = scanned_pdf([page_image(A), page_image(B)], dpi=150)
    clock = Clock()
    first = Agent(settings, context=context)
    first.inbox = None  # driven by hand below
    first.start()
    crashed = Inbox.of(settings, first.take_upload)
    crashed._clock = clock
    real_move = inbox_module.move_no_replace

    def crash_on_the_way_out(source: Path, target: Path) -> None:
        if source.parent.name == "processing":
            raise Crash
        real_move(source, target)

    monkeypatch.setattr(inbox_module, "move_no_replace", crash_on_the_way_out)
    (watch / "mail.pdf").write_bytes(data)
    crashed.check()
    clock.now += 1
    with pytest.raises(Crash):
        crashed.check()
    assert files_in(watch / "processing") == {"mail.pdf"}  # recorded, in the ledger, not moved
    assert len(first.scans.recent().items) == 2
    first.stop()
    monkeypatch.setattr(inbox_module, "move_no_replace", real_move)

    with running(settings, context) as client:  # the next start, its own inbox thread
        wait_until(lambda: files_in(watch / "done") == {"mail.pdf"}, timeout=30)
        assert (watch / "done" / "mail.pdf").read_bytes() == data
        assert files_in(watch / "processing") == set()
        scans = upload_scans(client)
        assert payloads(scans) == ["12345678", "87654321"]  # the two of before, no more
        assert client.get("/v1/health").json()["inputs"]["done"] == 1


def test_a_crash_while_decoding_reads_the_file_at_the_next_start(
    tmp_path: Path, context: ParseContext
):
    watch = tmp_path / "scans"
    (watch / "processing").mkdir(parents=True)
    png = image_bytes(page_image(A), "PNG")
    (watch / "processing" / "card.png").write_bytes(png)  # claimed, never recorded
    with running(settings_for(tmp_path, watch), context) as client:
        wait_until(lambda: files_in(watch / "done") == {"card.png"}, timeout=30)
        assert payloads(upload_scans(client)) == ["12345678"]


def test_a_crash_between_link_and_unlink_leaves_one_file_in_done(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    watch = tmp_path / "scans"
    watch.mkdir()
    settings = settings_for(tmp_path, watch)
    first = Agent(settings, context=context)
    first.inbox = None
    first.start()
    clock = Clock()
    crashed = Inbox.of(settings, first.take_upload)
    crashed._clock = clock

    def linked_then_crash(source: Path, target: Path) -> None:
        if source.parent.name == "processing":
            target.hardlink_to(source)
            raise Crash
        inbox_module.os.rename(source, target)

    monkeypatch.setattr(inbox_module, "move_no_replace", linked_then_crash)
    (watch / "card.png").write_bytes(image_bytes(page_image(A), "PNG"))
    crashed.check()
    clock.now += 1
    with pytest.raises(Crash):
        crashed.check()
    first.stop()
    monkeypatch.undo()
    with running(settings, context) as client:
        wait_until(lambda: files_in(watch / "processing") == set(), timeout=30)
        assert files_in(watch / "done") == {"card.png"}  # not "card (2).png" beside it
        assert payloads(upload_scans(client)) == ["12345678"]


def test_a_claim_cut_between_link_and_unlink_reads_the_file_once(tmp_path: Path, agent: Agent):
    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    (inbox.folder / "processing").mkdir()
    claimed = inbox.folder / "processing" / "card.png"
    claimed.write_bytes(image_bytes(page_image(A), "PNG"))
    (inbox.folder / "card.png").hardlink_to(claimed)  # the rename into processing/, cut short
    for _ in range(3):
        inbox.check()
        clock.now += 1
    assert files_in(inbox.folder) == set()
    assert files_in(inbox.folder / "done") == {"card.png"}  # not "card (2).png" beside it
    assert recorded(agent) == ["12345678"]


def test_a_move_whose_unlink_is_refused_takes_its_link_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from scanner_agent import safe_files

    source, target = tmp_path / "card.png", tmp_path / "done-card.png"
    source.write_bytes(b"x")
    real_unlink = safe_files.os.unlink

    def held_open(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path) == source:
            raise PermissionError(13, "used by another process")  # Windows, a file held open
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(safe_files.os, "unlink", held_open)
    with pytest.raises(PermissionError):
        safe_files.move_no_replace(source, target)
    assert source.exists() and not target.exists()  # one name, the old one: tried again later


def test_a_console_agent_without_storage_leaves_the_folder_alone(
    tmp_path: Path, context: ParseContext
):
    settings = settings_for(tmp_path, tmp_path / "scans")
    assert Agent(settings, context=context).inbox is not None
    assert Agent(settings, context=context, storage=False).inbox is None  # `watch`'s agent


def test_a_code_seen_but_not_read_fails_as_code_unreadable(tmp_path: Path, agent: Agent):
    from tests.helpers.files import unreadable_card

    clock = Clock()
    inbox = make_inbox(tmp_path, agent, clock, settle_s=0)
    unreadable_card().save(inbox.folder / "blurred.png")
    inbox.check()
    inbox.check()
    report = json.loads((inbox.folder / "failed" / "blurred.png.json").read_text())
    assert report["error"]["code"] == "code_unreadable"
    assert (report["codes"], report["unreadable"]) == (0, 1)
    assert agent.scans.recent().items == []
    assert inbox.status().failed == 1

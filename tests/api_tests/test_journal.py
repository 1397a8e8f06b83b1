"""The scans journal: a scan is on disk before any client receives it, and a killed agent (or a
database that is down) loses none of them (issue 13, "stored before delivered")."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from scanner_agent.bus import EventBus, ScanEvent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import ScanService
from scanner_agent.storage import Journal, StorageWriter, Stored, read_or_create_secret
from tests.helpers.api import OTHER, encrypted_store, free_port, make_scan, wait_healthy
from tests.helpers.devices import wait_until

MEMBER = "12345678"
"""The member number of `make_scan`'s payload (VALID)."""


def journal_at(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "scans.journal", read_or_create_secret(tmp_path / "k"))


def test_the_journal_gives_back_what_it_was_given_and_never_holds_a_member_number_in_clear(
    tmp_path: Path, context: ParseContext
):
    journal = journal_at(tmp_path)
    items = [Stored(7, n, make_scan(context, OTHER)) for n in (1, 2)]
    items.append(Stored(7, 3, make_scan(context)))
    for item in items:
        journal.append(item)
    assert [(s.boot, s.seq, s.scan) for s in journal.read().scans] == [
        (s.boot, s.seq, s.scan) for s in items
    ]
    raw = (tmp_path / "scans.journal").read_bytes()
    assert MEMBER.encode() not in raw and b"AB-123/45" not in raw
    assert stat.S_IMODE(os.stat(tmp_path / "scans.journal").st_mode) == 0o600
    # a line torn by a kill is skipped, the others are read
    with (tmp_path / "scans.journal").open("ab") as torn:
        torn.write(b'{"boot":7,"seq":4,"member":"x","scan":"{\\"id')
    assert [s.seq for s in journal.read().scans] == [1, 2, 3]
    journal.rewrite(items[1:])
    assert [s.seq for s in journal.read().scans] == [2, 3]
    assert items[0].scan.id.encode() not in (tmp_path / "scans.journal").read_bytes()
    journal.clear()
    assert not journal.read() and (tmp_path / "scans.journal").stat().st_size == 0


def test_a_run_killed_before_writing_loses_nothing(tmp_path: Path, context: ParseContext):
    url = f"sqlite:///{tmp_path / 'scans.db'}"
    killed = StorageWriter(encrypted_store(url, tmp_path), journal=journal_at(tmp_path))
    scans = [make_scan(context) for _ in range(5)]
    for n, scan in enumerate(scans, 1):
        killed.put(Stored(1, n, scan))  # journaled; the writer never ran: then the kill
    store = encrypted_store(url, tmp_path)
    restarted = StorageWriter(store, journal=journal_at(tmp_path))
    restarted.start()
    try:
        wait_until(lambda: restarted.pending == 0 and restarted.written == 5)
        for scan in scans:
            stored = store.get(scan.id)
            assert stored is not None and stored.attestation.member_number == MEMBER
        assert (tmp_path / "scans.journal").stat().st_size == 0  # all in the database
    finally:
        restarted.stop()


def test_an_erased_scan_leaves_the_journal_too(tmp_path: Path, context: ParseContext):
    store = encrypted_store(f"sqlite:///{tmp_path / 'scans.db'}", tmp_path)
    service = ScanService(EventBus(), store, journal=journal_at(tmp_path))  # not started
    kept, erased = make_scan(context), make_scan(context)
    service.record(kept)
    service.record(erased)
    assert service.erase(erased.id)
    raw = (tmp_path / "scans.journal").read_bytes()
    assert kept.id.encode() in raw and erased.id.encode() not in raw


def test_a_scan_is_in_the_journal_before_any_subscriber_sees_it(
    tmp_path: Path, context: ParseContext
):
    bus = EventBus()
    store = encrypted_store(f"sqlite:///{tmp_path / 'scans.db'}", tmp_path)
    service = ScanService(bus, store, journal=journal_at(tmp_path))  # not started: not written
    seen: list[bool] = []

    class Witness:
        """A subscriber that looks at the journal the moment it is handed the event."""

        def _put(self, event: object) -> None:
            if isinstance(event, ScanEvent):
                seen.append(event.scan.id.encode() in (tmp_path / "scans.journal").read_bytes())

    bus._subscriptions.append(Witness())  # type: ignore[arg-type]
    service.record(make_scan(context))
    assert seen == [True]


# --- a real agent, killed ----------------------------------------------------------------------

TOKEN = "journal-test-token-0123456789"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def _serve(folder: Path, port: int, storage_url: str) -> subprocess.Popen[bytes]:
    config = folder / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{folder / "data"}"\nlog_level = "warning"\n'
        f"[api]\nport = {port}\n"
        f'[storage]\nurl = "{storage_url}"\n'
        "[pipeline]\nduplicate_window_s = 0\n"
        f'[[devices]]\nid = "desk"\ntype = "demo"\ninterval_s = 0.05\n'
    )
    log = (folder / "agent.log").open("ab")
    env = {**os.environ, "SCANNER_AGENT_TOKEN": TOKEN}
    command = [sys.executable, "-m", "scanner_agent.cli", "serve", "--config", str(config)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def test_every_scan_a_client_received_survives_kill_9(tmp_path: Path):
    """A burst of scans while the database is down (nothing can be written), a client that
    receives them live, `kill -9`; the agent started again with a database that works: every
    scan the client received is in `/v1/scans`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    down = f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/scans?connect_timeout=1"
    proc = _serve(tmp_path, port, down)
    received: list[str] = []
    try:
        wait_healthy(url, proc, tmp_path / "agent.log")
        with httpx.stream("GET", f"{url}/v1/events", headers=headers, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("data:") and '"attestation"' in line:
                    received.append(json.loads(line[5:])["id"])
                    if len(received) == 10:
                        break
        health = httpx.get(f"{url}/v1/health", timeout=5).json()
        assert health["storage"]["state"] == "error"  # so none of them is in a database
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    journal = tmp_path / "data" / "scans.journal"
    assert journal.stat().st_size > 0

    proc = _serve(tmp_path, port, f"sqlite:///{tmp_path / 'data' / 'scans.db'}")
    try:
        wait_healthy(url, proc, tmp_path / "agent.log")

        def listed() -> set[str]:
            answer = httpx.get(f"{url}/v1/scans?limit=1000", headers=headers, timeout=5)
            return {scan["id"] for scan in answer.json()} if answer.status_code == 200 else set()

        wait_until(lambda: set(received) <= listed(), timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert len(received) == 10


@pytest.fixture(autouse=True)
def _no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANNER_AGENT_TOKEN", raising=False)

"""`scanner-agent watch` and `scanner-agent record`, run through the CLI entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.replay import read_recording
from scanner_agent.cli import main
from tests.helpers.devices import PtyScanner, replay_recording
from tests.helpers.samples import BAD_AMC, ROOT, VALID, VALID_PIPE


def write_config(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_watch_prints_masked_scans_and_device_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "c.toml",
        '[pipeline]\nduplicate_window_s = 0\n[[devices]]\nid = "demo"\ntype = "demo"\n'
        "interval_s = 0.01\n",
    )
    assert main(["watch", "--config", str(config), "--count", "3"]) == 0
    out = capsys.readouterr().out
    assert "device demo (demo): connected" in out
    # the decision for today, in words; never "valid"
    assert re.search(
        r": (COUVERTE|À VÉRIFIER|NON COUVERTE) le [0-9]{2}/[0-9]{2}/[0-9]{4}: "
        r"tagged AMC 0775627391 member ••••••78",
        out,
    )
    assert "VALID" not in out
    assert "12345678" not in out  # the member number never shown whole


def test_watch_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path / "c.toml", '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.01\n'
    )
    assert main(["watch", "--config", str(config), "--count", "2", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    scans = [e for e in events if e["event"] == "scan"]
    assert len(scans) == 2
    assert scans[0]["source"] == "demo"
    assert scans[0]["attestation"]["member_number"] == "••••••78"
    assert {"id", "received_at", "device_id", "symbology"} <= scans[0].keys()
    assert any(e["event"] == "device" and e["state"] == "connected" for e in events)


def test_watch_without_devices_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "")
    assert main(["watch", "--config", str(config)]) == 2


def test_record_then_replay_gives_the_same_scans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scanner = PtyScanner(tmp_path)
    try:
        config = write_config(
            tmp_path / "c.toml",
            f'[[devices]]\nid = "desk"\ntype = "serial"\nport = "{scanner.link}"\n',
        )
        out = tmp_path / "desk.jsonl"

        def send() -> None:
            time.sleep(0.3)  # while the recorder runs; not a timing assertion
            scanner.write(b"]d1" + VALID + b"\r")
            time.sleep(0.05)
            scanner.write(VALID_PIPE + b"\r")

        writer = threading.Thread(target=send)
        writer.start()
        status = main(["record", "desk", "--out", str(out), "--config", str(config),
                       "--duration", "1.0"])  # fmt: skip
        writer.join()
        assert status == 0
    finally:
        scanner.unplug()
    recording = read_recording(out)
    assert recording.protocol == "serial"
    assert b"".join(c for _, c in recording.chunks) == b"]d1" + VALID + b"\r" + VALID_PIPE + b"\r"
    assert "chunk(s) recorded" in capsys.readouterr().err

    replay = write_config(
        tmp_path / "r.toml",
        f'[[devices]]\nid = "rp"\ntype = "replay"\npath = "{out}"\nspeed = 20\n',
    )
    assert main(["watch", "--config", str(replay), "--count", "2", "--json"]) == 0
    scans = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if json.loads(line)["event"] == "scan"
    ]
    assert [s["attestation"]["amc_number"] for s in scans] == ["0775627391", "774734488"]
    assert scans[0]["symbology"] == "]d1"


def test_record_refuses_unknown_devices_and_cameras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "c.toml",
        '[[devices]]\nid = "demo"\ntype = "demo"\n'
        '[[devices]]\nid = "cam"\ntype = "camera"\nsource = "video.mp4"\n',
    )
    for device in ("nope", "cam"):
        with pytest.raises(SystemExit) as exit_info:
            main(["record", device, "--out", str(tmp_path / "x"), "--config", str(config)])
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no device 'nope' in the configuration (known: demo, cam)" in err
    assert "device 'cam' is a camera" in err
    assert not os.path.exists(tmp_path / "x")


def test_record_the_demo_device_then_replay_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    from drivers.demo import sample_payloads

    config = write_config(
        tmp_path / "c.toml", '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.01\n'
    )
    out = tmp_path / "demo.jsonl"
    status = main(["record", "demo", "--out", str(out), "--config", str(config),
                   "--duration", "0.3", "--json"])  # fmt: skip
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    recording = read_recording(out)
    assert recording.protocol == "serial"  # the serial scanner the demo simulates
    assert summary == {
        "device_id": "demo",
        "out": str(out),
        "protocol": "serial",
        "chunks": len(recording.chunks),
    }
    assert len(recording.chunks) >= 2
    samples = sample_payloads(date.today())
    assert [c for _, c in recording.chunks] == [
        samples[i % len(samples)] + b"\r" for i in range(len(recording.chunks))
    ]

    replay = write_config(
        tmp_path / "r.toml",
        "[pipeline]\nduplicate_window_s = 0\n"
        f'[[devices]]\nid = "rp"\ntype = "replay"\npath = "{out}"\nspeed = 20\n',
    )
    count = len(recording.chunks)
    assert main(["watch", "--config", str(replay), "--count", str(count), "--json"]) == 0
    scans = [
        event
        for event in map(json.loads, capsys.readouterr().out.splitlines())
        if event["event"] == "scan"
    ]
    assert len(scans) == count
    assert scans[0]["attestation"]["amc_number"] == "0775627391"
    assert scans[0]["symbology"] == "]d1"
    assert scans[1]["attestation"]["amc_number"] == "774734488"
    assert all(s["device_id"] == "rp" and s["source"] == "replay" for s in scans)


def test_record_a_missing_device_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "c.toml",
        f'[[devices]]\nid = "d"\ntype = "serial"\nport = "{tmp_path / "none"}"\n',
    )
    assert main(["record", "d", "--out", str(tmp_path / "x"), "--config", str(config)]) == 1
    assert "no such device" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x")


def test_recording_writer_keeps_the_hid_descriptor(tmp_path: Path) -> None:
    import io

    from drivers.replay import RecordingWriter

    buffer = io.StringIO()
    writer = RecordingWriter(buffer, "hid_pos", "pos", "hid_pos", descriptor=b"\x05\x8c\x09\x02")
    writer.write(0.0, b"\x02\x03]d1ABC")
    writer.write(0.0042, b"\x02\x00")
    path = tmp_path / "r.jsonl"
    path.write_text(buffer.getvalue())
    recording = read_recording(path)
    assert recording.protocol == "hid_pos"
    assert recording.descriptor == b"\x05\x8c\x09\x02"
    assert recording.chunks == ((0.0, b"\x02\x03]d1ABC"), (0.0042, b"\x02\x00"))


def test_watch_prints_a_code_seen_but_unreadable() -> None:
    from datetime import UTC, datetime

    from scanner_agent.bus import UnreadableEvent
    from scanner_agent.commands.watch import render, render_json

    event = UnreadableEvent("cam", datetime(2026, 3, 1, 9, 0, tzinfo=UTC), (((1, 2), (3, 4)),))
    assert render(event) == "device cam: code détecté mais illisible : rapprochez / éclairez"
    assert json.loads(render_json(event)) == {
        "event": "code_unreadable",
        "device_id": "cam",
        "at": "2026-03-01T09:00:00Z",
        "message": "code détecté mais illisible : rapprochez / éclairez",
        "positions": [[[1, 2], [3, 4]]],
    }


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_watch_a_finished_replay_prints_every_scan_then_the_end_and_exits(
    tmp_path: Path, as_json: bool
) -> None:
    """The real command in its own process: the replay's frames all arrive at once, so the
    reader ends while the pipeline still parses them; its end must still come after them."""
    codes = [b"]d1" + VALID, VALID_PIPE, BAD_AMC] * 7
    recording = replay_recording(
        tmp_path / "r.jsonl", "serial", [c + b"\r" for c in codes], step=0.0
    )
    config = write_config(
        tmp_path / "r.toml",
        "[pipeline]\nduplicate_window_s = 0\n"
        f'[[devices]]\nid = "rp"\ntype = "replay"\npath = "{recording}"\n',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "scanner_agent.cli", "watch", "--config", str(config)]
    done = subprocess.run(
        command + (["--json"] if as_json else []),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,  # it used to hang here, after the replay's end
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    expected = ["0775627391", "774734488", "07756"] * 7
    if as_json:
        events = [json.loads(line) for line in lines]
        amcs = [
            e["attestation"]["amc_number"] or e["attestation"]["errors"][0]["code"]
            for e in events
            if e["event"] == "scan"
        ]
        expected = ["0775627391", "774734488", "bad_amc_number"] * 7
        last = events[-1]
        assert (last["event"], last["id"], last["state"]) == ("device", "rp", "stopped")
        assert last["description"].endswith("(finished)")
    else:
        amcs = [re.findall(r"AMC (?:number ')?([0-9]+)", line)[0] for line in lines
                if line.startswith(tuple("0123456789"))]  # fmt: skip
        assert lines[-1].startswith("device rp (replay): stopped - replay of ")
        assert lines[-1].endswith("(finished)")
    assert amcs == expected  # every scan, in order, before the end

"""`scanner-agent decode` through a real subprocess: JSON lines, readable lines, exit status."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import synthetic
from tests.helpers.files import image_bytes, page_image
from tests.helpers.samples import BAD_AMC
from tests.helpers.samples import VALID as A

DECODE = (sys.executable, "-m", "scanner_agent.cli", "decode")


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner_agent.cli", "decode", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else {**os.environ, **env},
        cwd=cwd,
    )


def write_card(path: Path, payload: bytes | None) -> None:
    canvas = np.full((300, 400), 240, np.uint8)
    if payload is not None:
        code = synthetic.datamatrix(payload, 4)
        canvas[30 : 30 + code.shape[0], 30 : 30 + code.shape[1]] = code
    Image.fromarray(canvas).save(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_reported_not_waited_on(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    os.mkfifo(tmp_path / "pipe.png")  # nobody ever writes to it: reading it would block
    result = cli("--jsonl", str(tmp_path / "pipe.png"), str(tmp_path / "a.png"))
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(r["file"]).name, r["status"], r["error_code"]) for r in rows] == [
        ("pipe.png", "file_error", "unreadable_file"),
        ("a.png", "code", None),
    ]


def test_the_codes_before_a_damaged_page_are_printed_then_the_damage(tmp_path: Path) -> None:
    two_pages = image_bytes(page_image(A), "TIFF", page_image(None))
    (tmp_path / "fax.tiff").write_bytes(two_pages[:-2000])  # page 2 cut short
    result = cli("--at", "2026-03-01", str(tmp_path / "fax.tiff"))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "page 1 ]d1: COUVERTE le 01/03/2026" in lines[0]  # read before the damage: kept
    assert "ERROR corrupt_image" in lines[1] and "page 2" in lines[1]
    assert "1 code(s) (1 couverte" in lines[2]


def test_json_lines_for_a_folder_with_a_bad_file(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    (tmp_path / "sub").mkdir()
    write_card(tmp_path / "sub" / "blank.png", None)
    (tmp_path / "sub" / "z.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"skipped")
    result = cli("--json", "--at", "2026-03-01", str(tmp_path))
    assert result.returncode == 1, result.stderr  # one file could not be read
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["a.png", "blank.png", "z.txt"]
    first, blank, text = lines
    assert set(first) == {"file", "codes", "error", "ms", "unreadable"}
    assert first["unreadable"] == []
    [code] = first["codes"]
    assert set(code) == {"page", "payload_b64", "symbology", "attestation"}
    assert base64.b64decode(code["payload_b64"]) == A
    assert (code["page"], code["symbology"]) == (1, "]d1")
    assert code["attestation"]["status"] == "valid"
    assert code["attestation"]["member_number"] == "12345678"
    assert first["error"] is None
    assert (blank["codes"], blank["error"]) == ([], None)
    assert text["error"]["code"] == "not_an_image"
    assert "z.txt" in text["error"]["message"]


def test_readable_output_masks_the_member_number_and_sums_up(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    # a referential never stale: the decisions do not depend on the day the test runs
    config = tmp_path / "fresh.toml"
    config.write_text("[parser]\nreferential_max_age_days = 36500\n")
    result = cli("--config", str(config), "--at", "2026-03-01", str(tmp_path / "a.png"))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert ": COUVERTE le 01/03/2026: AMC 0775627391 member ••••••78" in first
    assert "12345678" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "1 file(s): 1 code(s) (1 couverte, 0 à vérifier, 0 non couverte, 0 refusée); "
        "0 file(s) without code, 0 unreadable"
    )
    expired = cli("--config", str(config), "--at", "2027-01-05", str(tmp_path / "a.png"))
    assert ": NON COUVERTE le 05/01/2027: AMC 0775627391" in expired.stdout
    assert "[expired]" in expired.stdout
    assert "valid" not in expired.stdout.lower()


def on_terminal(
    *args: str, env: dict[str, str] | None = None, stdout_too: bool = False
) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """`decode` with its stderr on a pseudo-terminal (stdout piped, or on the terminal too with
    `stdout_too`): the result, and every byte the terminal received."""
    master, slave = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "scanner_agent.cli", "decode", *args],
            stdout=slave if stdout_too else subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "TERM": "xterm", "COLUMNS": "80", **(env or {})},
        )
        os.close(slave)
        slave = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return result, terminal


def blank_cards(folder: Path, count: int) -> Path:
    folder.mkdir()
    write_card(folder / "a.png", A)
    for n in range(1, count):
        write_card(folder / f"blank{n}.png", None)
    return folder


def json_names(stdout: str) -> list[str]:
    return [Path(json.loads(line)["file"]).name for line in stdout.splitlines()]


SGR_COLOUR = re.compile(rb"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7])[0-9;]*m")
"""A select-graphic-rendition sequence that sets a colour."""


def test_progress_bar_goes_to_stderr_only_when_it_is_a_terminal(tmp_path: Path) -> None:
    folder = blank_cards(tmp_path / "mail", 4)
    result, terminal = on_terminal("--json", str(folder))
    assert result.returncode == 0
    # stdout stays pure JSON lines; the bar (its escape codes) went to the terminal
    assert json_names(result.stdout) == ["a.png", "blank1.png", "blank2.png", "blank3.png"]
    assert b"\x1b[" in terminal
    assert b"/4" in terminal  # files done out of four
    assert SGR_COLOUR.search(terminal)
    piped = cli("--json", str(folder))  # stderr not a terminal: no bar
    assert (piped.returncode, piped.stderr) == (0, "")


def test_no_progress_bar_for_three_files_or_on_a_dumb_terminal(tmp_path: Path) -> None:
    few = blank_cards(tmp_path / "few", 3)
    result, terminal = on_terminal("--json", str(few))
    assert (result.returncode, terminal) == (0, b"")
    assert json_names(result.stdout) == ["a.png", "blank1.png", "blank2.png"]
    many = blank_cards(tmp_path / "many", 4)
    result, terminal = on_terminal("--json", str(many), env={"TERM": "dumb"})
    assert (result.returncode, terminal) == (0, b"")
    assert len(result.stdout.splitlines()) == 4


def test_json_lines_on_the_terminal_are_never_wrapped_around_a_bar(tmp_path: Path) -> None:
    folder = blank_cards(tmp_path / "mail", 4)
    result, terminal = on_terminal("--jsonl", str(folder), stdout_too=True)
    assert result.returncode == 0
    lines = terminal.decode().splitlines()
    assert [Path(json.loads(line)["file"]).name for line in lines] == [
        "a.png",
        "blank1.png",
        "blank2.png",
        "blank3.png",
    ]
    # the readable lines print above the bar (a wide terminal: the paths are long)
    human, screen = on_terminal(str(folder), stdout_too=True, env={"COLUMNS": "300"})
    assert human.returncode == 0
    assert b"/4" in screen and b"\x1b[" in screen
    assert "blank3.png: no code found" in screen.decode()
    assert "4 file(s): 1 code(s)" in screen.decode()


def test_no_color_keeps_the_bar_without_colours(tmp_path: Path) -> None:
    folder = blank_cards(tmp_path / "mail", 4)
    result, terminal = on_terminal("--json", str(folder), env={"NO_COLOR": "1"})
    assert result.returncode == 0
    assert b"/4" in terminal
    assert not SGR_COLOUR.search(terminal), terminal


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(str(tmp_path / "nope.png"))
    assert result.returncode == 2
    assert "nope.png" in result.stderr


def test_a_document_over_the_page_limit_is_reported_too_many_pages(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    pages = [Image.fromarray(np.full((100, 100), 240, np.uint8)) for _ in range(3)]
    pages[0].save(tmp_path / "b.tiff", "TIFF", save_all=True, append_images=pages[1:])
    result = cli("--json", str(tmp_path), env={"SCANNER_AGENT_DECODER__MAX_PAGES": "2"})
    assert result.returncode == 1, result.stderr
    reports = {Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert reports["a.png"]["error"] is None and len(reports["a.png"]["codes"]) == 1
    assert reports["b.tiff"]["error"]["code"] == "too_many_pages"
    assert reports["b.tiff"]["codes"] == []


def test_a_code_seen_but_not_read_is_said_in_french_and_in_the_json(tmp_path: Path) -> None:
    from tests.helpers.files import unreadable_card

    write_card(tmp_path / "a.png", A)
    unreadable_card().save(tmp_path / "b.png")
    result = cli("--json", "--at", "2026-03-01", str(tmp_path))
    assert result.returncode == 0, result.stderr  # every file was read
    a, b = [json.loads(line) for line in result.stdout.splitlines()]
    assert (len(a["codes"]), a["unreadable"]) == (1, [])
    assert (b["codes"], b["error"]) == ([], None)
    [seen] = b["unreadable"]
    assert seen["page"] == 1
    assert len(seen["position"]) == 4 and all(len(p) == 2 for p in seen["position"])
    readable = cli("--at", "2026-03-01", str(tmp_path))
    lines = readable.stdout.splitlines()
    assert lines[1] == (
        f"{tmp_path / 'b.png'} page 1 : code détecté mais illisible : "
        "rescannez en meilleure qualité (300 dpi)"
    )
    assert "no code found" not in readable.stdout
    assert lines[-1].endswith("; 1 code(s) seen but not read")


def mail(root: Path) -> None:
    """A morning's mail: two cards and a note in `courrier/`, a hidden file, a TIFF deeper."""
    (root / "courrier").mkdir()
    write_card(root / "courrier" / "a.png", A)
    write_card(root / "courrier" / "b.png", None)
    (root / "courrier" / "note.txt").write_text("pas une image")
    (root / "courrier" / ".a.png").write_bytes(b"hidden: never tried")
    (root / "scans" / "x").mkdir(parents=True)
    Image.fromarray(np.full((80, 80), 240, np.uint8)).save(root / "scans" / "x" / "deep.tif")


def test_glob_patterns_are_expanded_by_the_command_and_each_file_read_once(tmp_path: Path) -> None:
    mail(tmp_path)
    # quoted patterns (as a Windows shell passes them), a file named twice, a folder holding it
    result = cli(
        "--json", "courrier/*.png", "**/*.tif", "courrier/a.png", "./courrier", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr  # note.txt is no image
    names = [json.loads(line)["file"] for line in result.stdout.splitlines()]
    assert names == [
        str(Path("courrier/a.png")),
        str(Path("courrier/b.png")),
        str(Path("scans/x/deep.tif")),
        str(Path("courrier/note.txt")),
    ]


def test_patterns_expanded_by_the_shell_or_by_the_command_name_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner_agent.commands.decode import expand, files, unique

    mail(tmp_path)
    monkeypatch.chdir(tmp_path)
    by_shell = expand(["courrier/a.png", "courrier/b.png"])  # what `courrier/*.png` became
    by_command = expand(["courrier/*.png"])
    assert by_shell.paths == by_command.paths == [Path("courrier/a.png"), Path("courrier/b.png")]
    hidden = expand(["courrier/.*.png"])  # a hidden file only when the pattern says so
    assert hidden.paths == [Path("courrier/.a.png")]
    deep = expand(["**/*.tif", "nothing/*.pdf", "absent.pdf"])
    assert deep.paths == [Path("scans/x/deep.tif")]
    assert (deep.unmatched, deep.missing) == (["nothing/*.pdf"], ["absent.pdf"])
    every = list(unique(files(expand(["courrier", "courrier/*", str(tmp_path)]).paths)))
    assert every == [
        Path("courrier/a.png"),
        Path("courrier/b.png"),
        Path("courrier/note.txt"),
        tmp_path / "scans" / "x" / "deep.tif",
    ]


def test_a_file_with_glob_characters_in_its_name_is_taken_as_it_is(tmp_path: Path) -> None:
    write_card(tmp_path / "scan[1].png", A)
    write_card(tmp_path / "scan1.png", None)  # what `scan[1].png` would match as a pattern
    result = cli("--json", str(tmp_path / "scan[1].png"))
    assert result.returncode == 0, result.stderr
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert Path(report["file"]).name == "scan[1].png"
    assert len(report["codes"]) == 1


def test_a_pattern_that_matches_nothing_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    result = cli("a.png", "courrier/*.pdf", "nope.png", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing decoded
    assert "no file matches: courrier/*.pdf" in result.stderr
    assert "no such file or folder: nope.png" in result.stderr


def test_help_ends_with_examples_and_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scanner_agent.cli", "decode", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    examples = result.stdout.split("examples:\n", 1)[1]
    assert "scanner-agent decode 'examples/*.pdf'" in examples
    assert "exit status: 0 every file was read" in examples
    assert "2 usage or configuration error" in examples
    assert "%" not in result.stdout


def two_page_tiff(path: Path, first: bytes, second: bytes) -> None:
    pages = []
    for payload in (first, second):
        canvas = np.full((300, 400), 240, np.uint8)
        code = synthetic.datamatrix(payload, 4)
        canvas[30 : 30 + code.shape[0], 30 : 30 + code.shape[1]] = code
        pages.append(Image.fromarray(canvas))
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:])


def morning(folder: Path) -> Path:
    """Every kind of row: a code, two codes in one file (one refused), no code, a code seen but
    not read, a file that is no image."""
    from tests.helpers.files import unreadable_card

    folder.mkdir()
    write_card(folder / "a.png", A)
    two_page_tiff(folder / "b.tif", A, BAD_AMC)
    write_card(folder / "c.png", None)
    unreadable_card().save(folder / "d.png")
    (folder / "e.txt").write_text("pas une image")
    return folder


def test_jsonl_has_one_line_per_code_and_one_per_file_without_a_code(tmp_path: Path) -> None:
    from scanner_agent.code_rows import COLUMNS

    folder = morning(tmp_path / "mail")
    result = cli("--jsonl", "--at", "2026-03-01", str(folder))
    assert result.returncode == 1, result.stderr  # e.txt could not be read
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(tuple(row) == COLUMNS for row in rows)
    summary = [(Path(r["file"]).name, r["page"], r["status"], r["decision"]) for r in rows]
    assert summary == [
        ("a.png", 1, "code", "covered"),
        ("b.tif", 1, "code", "covered"),
        ("b.tif", 2, "code", "refused"),
        ("c.png", None, "no_code", None),
        ("d.png", 1, "unreadable_code", None),
        ("e.txt", None, "file_error", None),
    ]
    a, _, refused, empty, seen, failed = rows
    assert a["headline"] == "Couverte le 01/03/2026"
    assert (a["amc_number"], a["member_number"]) == ("0775627391", "••••••78")
    assert (a["valid_from"], a["valid_to"]) == ("2026-01-01", "2026-12-31")
    assert (a["symbology"], a["roc"], a["reasons"], a["errors"]) == ("]d1", "roc", [], [])
    assert refused["headline"] == "Refusée"
    assert refused["reasons"] == ["invalid_payload"]
    assert "bad_amc_number" in refused["errors"]
    assert refused["member_number"] == "••"  # ADH:42, masked whole
    assert empty["headline"] == "Aucun code trouvé"
    assert seen["headline"].startswith("Code détecté mais illisible")
    assert (failed["error_code"], failed["headline"]) == (
        "not_an_image",
        "Fichier non lu : ni une image ni un PDF",
    )
    assert "12345678" not in result.stdout
    assert "payload_b64" not in result.stdout and "AMCTP01" not in result.stdout


def read_csv(data: bytes) -> list[list[str]]:
    import csv
    import io

    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: French Excel reads the accents right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_file_beside_the_lines_on_the_terminal(tmp_path: Path) -> None:
    from scanner_agent.code_rows import COLUMNS, csv_cell

    folder = morning(tmp_path / "mail")
    jsonl = cli("--jsonl", "--at", "2026-03-01", str(folder))
    target = folder / "matin.csv"  # written into the folder decoded: never taken as an input
    target.write_text("an older CSV")
    result = cli("--csv", str(target), "--at", "2026-03-01", str(folder))
    assert result.returncode == 1, result.stderr
    assert "6 ligne(s) écrite(s) dans" in result.stderr
    lines = result.stdout.splitlines()  # the readable lines and the summary, as without --csv
    assert ": COUVERTE le 01/03/2026: AMC 0775627391 member ••••••78" in lines[0]
    assert lines[-1].startswith("5 file(s): 3 code(s)")
    data = target.read_bytes()
    assert b"\r\n" in data and b"12345678" not in data and b"an older" not in data
    header, *cells = read_csv(data)
    assert header == list(COLUMNS)
    expected = [
        [csv_cell(value) for value in json.loads(line).values()]
        for line in jsonl.stdout.splitlines()
    ]
    assert cells == expected
    assert cells[2][COLUMNS.index("errors")] == ",".join(
        json.loads(jsonl.stdout.splitlines()[2])["errors"]
    )
    assert "matin.csv" not in result.stdout


def test_csv_to_stdout_alone_and_outputs_that_collide(tmp_path: Path) -> None:
    write_card(tmp_path / "a.png", A)
    result = subprocess.run(
        [*DECODE, "--csv", "-", "--at", "2026-03-01", str(tmp_path / "a.png")],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, row = read_csv(result.stdout)  # nothing else on stdout: no summary
    assert dict(zip(header, row, strict=True))["decision"] == "covered"
    both = cli("--csv", "-", "--jsonl", str(tmp_path / "a.png"))
    assert both.returncode == 2 and "choose one" in both.stderr
    json_and_jsonl = cli("--json", "--jsonl", str(tmp_path / "a.png"))
    assert json_and_jsonl.returncode == 2
    unwritable = cli("--csv", str(tmp_path / "no" / "such" / "dir.csv"), str(tmp_path / "a.png"))
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr
    assert unwritable.stdout == ""  # refused before anything was decoded


def test_a_cell_a_spreadsheet_would_run_is_shown_as_text(tmp_path: Path) -> None:
    from scanner_agent.code_rows import csv_cell

    names = ("=HYPERLINK(1).png", "+1.png", "-1.png", "@SUM(1).png")
    for name in names:
        write_card(tmp_path / name, A)
    result = subprocess.run(
        [*DECODE, "--csv", "-", "--at", "2026-03-01", "--", *names],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    files = [row[0] for row in read_csv(result.stdout)[1:]]
    assert files == ["'=HYPERLINK(1).png", "'+1.png", "'-1.png", "'@SUM(1).png"]
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell(["expired", "test_attestation"]) == "expired,test_attestation"
    assert (csv_cell(None), csv_cell(2), csv_cell("]d1")) == ("", "2", "]d1")


def test_the_help_examples_work_as_written(tmp_path: Path) -> None:
    import shlex

    from scanner_agent import cli as cli_module
    from tests.helpers.samples import ROOT

    parser = cli_module.build_parser()
    help_text = subprocess.run(
        [*DECODE, "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    block = help_text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    examples = [line.strip() for line in block.splitlines()]
    assert len(examples) == 4
    for example in examples:
        words = shlex.split(example)
        assert parser.parse_args(words[1:]).command == "decode"
        # run from a folder of its own (the CSV lands there), the samples of the checkout
        words = [w.replace("examples/", f"{ROOT}/examples/") for w in words[2:]]
        done = cli(*words, cwd=tmp_path)
        assert done.returncode == 0, (example, done.stderr)
        assert "attestation-test" in done.stdout or "matin.csv" in done.stderr
    assert read_csv((tmp_path / "matin.csv").read_bytes())[0][0] == "file"

"""`scanner-agent decode`: read the codes of images and PDFs, and parse them.

    scanner-agent decode [--json | --jsonl] [--csv FILE] [--at YYYY-MM-DD] [--config PATH]
                         FILE|FOLDER|GLOB...

Each argument is a file, a folder (walked recursively, hidden files and folders skipped; every
other file is tried, and one that is no image or PDF is reported as such) or a glob pattern
(`'courrier/*.pdf'`, `'**/*.tif'`: `**` is any depth), expanded by the command itself, so it
works quoted or expanded by the shell, and on Windows, whose shells expand nothing. A path that
exists is taken as it is, even with `*`, `?` or `[` in its name. Each file is decoded once, even
when several arguments name it. With `--json`, one JSON line per file on stdout:
`{"file", "codes": [{"page", "payload_b64", "symbology", "attestation"}], "error", "ms",
"unreadable": [{"page", "position"}]}` (`unreadable`: the codes seen but not read, each place's
corners in pixels); without, one line per code (member number masked), one per code seen but
not read ("page 2 : code détecté mais illisible : rescannez en meilleure qualité (300 dpi)"),
and a summary. `--jsonl` (stdout) and `--csv FILE` (`-`: stdout) write one row per code found,
and one for each file without a code, with a code seen but not read, or not read
(`scanner_agent.code_rows`: the columns, member number masked, no payload); the CSV is UTF-8 with
a BOM and `;` for French Excel, its cells safe from formula injection. With `--csv FILE`, the
lines and the summary still go to stdout. A progress bar goes to
stderr for four files or more, only when stderr is a terminal (not `TERM=dumb`; without
colours when `NO_COLOR` is set).

Each code's line starts with its decision for `--at` ("COUVERTE le 01/03/2026", "À VÉRIFIER",
"NON COUVERTE", "REFUSÉE"); the summary counts codes by decision.

Exit status: 0 every file was read (whatever the decisions on its codes), 1 some file
could not be read (its `error` says why; the other files were still decoded), 2 usage or
configuration error (a path that does not exist, a pattern that matches no file).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    iso_date,
    settings_from,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from scanner_agent.code_rows import CsvRows
    from scanner_agent.file_decoding import FileReport

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2
EXIT_CODES = (
    "exit status: 0 every file was read (whatever the decisions on its codes),\n"
    "  1 some file could not be read (the others are still decoded),\n"
    "  2 usage or configuration error (a path that does not exist, a pattern that matches\n"
    "  no file)"
)
_GLOB_CHARACTERS = frozenset("*?[")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "decode",
        help="read the DataMatrix of images and PDFs and parse them",
        description="Read every code of images (PNG, JPEG, TIFF, BMP, WebP, HEIC/HEIF) and PDFs, "
        "and parse it.\nArguments are files, folders (recursive, hidden files skipped) or glob "
        "patterns\n(quote them or not: the command expands them itself; ** is any depth).\n"
        "Member numbers are masked in every output but --json.",
        examples=(
            "scanner-agent decode examples/ --at 2026-03-01",
            "scanner-agent decode 'examples/*.pdf' 'examples/**/*.png'",
            "scanner-agent decode examples/ --csv matin.csv",
            "scanner-agent decode examples/attestation-test.png --jsonl",
        ),
        exit_codes=EXIT_CODES,
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders (recursive) or glob patterns"
    )
    stdout = parser.add_mutually_exclusive_group()
    stdout.add_argument(  # add_json_option's --json, in the group of stdout's formats
        "--json",
        action="store_true",
        help="one JSON line per file on stdout (with each code's payload)",
    )
    stdout.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON line per code found on stdout (and one per file without code, or not "
        "read), member number masked, no payload",
    )
    parser.add_argument(
        "--csv",
        metavar="FILE",
        help="the same rows as --jsonl as CSV in FILE (- : stdout): UTF-8 with BOM, ';' "
        "between cells, for Excel; lines still printed when FILE is not -",
    )
    parser.add_argument(
        "--at",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="reference date of the validity (default: today in parser.timezone)",
    )
    add_config_option(parser)
    parser.set_defaults(func=run, parser=parser)


def files(paths: list[Path]) -> Iterator[Path]:
    """The files named, and those under the folders named, in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and not any(part.startswith(".") for part in relative):
                    yield child
        else:
            yield path


class Expanded:
    """The arguments of `decode` as paths: `paths` (files and folders, in the order named, a
    pattern's matches sorted), `missing` (paths that do not exist) and `unmatched` (patterns
    that match nothing)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.missing: list[str] = []
        self.unmatched: list[str] = []


def expand(arguments: list[str]) -> Expanded:
    """Files, folders and glob patterns (`*`, `?`, `[...]`, `**` for any depth; names starting
    with a dot are matched only by a pattern that starts so) as paths. An argument that exists
    is a path, even with glob characters in its name."""
    out = Expanded()
    for argument in arguments:
        expanded = os.path.expanduser(argument)
        if os.path.exists(expanded):
            out.paths.append(Path(expanded))
            continue
        if not _GLOB_CHARACTERS.intersection(argument):
            out.missing.append(argument)
            continue
        matches = sorted(glob.glob(expanded, recursive=True))
        if matches:
            out.paths.extend(Path(m) for m in matches)
        else:
            out.unmatched.append(argument)
    return out


def unique(paths: Iterator[Path]) -> Iterator[Path]:
    """Each file once: the first time it is named (`a.pdf`, `./a.pdf` and a folder holding it
    name the same file)."""
    seen: set[Path] = set()
    for path in paths:
        try:
            key = path.resolve()
        except OSError:
            key = path.absolute()
        if key not in seen:
            seen.add(key)
            yield path


def run(args: argparse.Namespace) -> int:
    from decoders import Decoder
    from scanner_agent.code_rows import code_rows
    from scanner_agent.file_decoding import decode_options, decode_path, for_documents
    from scanner_agent.parse_context import ParseContext

    named = expand(args.paths)
    problems = []
    if named.missing:
        problems.append(f"no such file or folder: {', '.join(named.missing)}")
    if named.unmatched:
        problems.append(f"no file matches: {', '.join(named.unmatched)}")
    if args.csv == "-" and (args.json or args.jsonl):
        problems.append("--csv - and --json/--jsonl both write to stdout: choose one")
    if problems:
        args.parser.error("; ".join(problems))
    settings = settings_from(args)
    context = ParseContext.from_settings(settings)
    decoder = Decoder(for_documents(decode_options(settings)))
    at = args.at or context.today()
    todo = list(unique(files(named.paths)))
    if args.csv and args.csv != "-":  # the CSV written into a folder decoded is not an input
        todo = [path for path in todo if not _same_file(path, Path(args.csv))]
    table = _open_csv(args)
    human = not (args.json or args.jsonl or args.csv == "-")
    reports: list[FileReport] = []
    with table, _progress(len(todo), machine=not human) as advance:
        for path in todo:
            report = decode_path(path, context, at, decoder=decoder)
            reports.append(report)
            rows = code_rows(report) if (args.jsonl or table.on) else []
            if args.json:
                print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False), flush=True)
            elif args.jsonl:
                for row in rows:
                    print(json.dumps(row, ensure_ascii=False), flush=True)
            elif human:
                for line in _lines(report):
                    print(line, flush=True)
            table.write(rows)
            advance(path.name)
    if human:
        print(_summary(reports))
    if table.on and args.csv != "-":
        print(f"{table.count} ligne(s) écrite(s) dans {args.csv}", file=sys.stderr)
    return EXIT_UNREADABLE if any(r.error for r in reports) else EXIT_OK


def _same_file(path: Path, other: Path) -> bool:
    try:
        return other.exists() and path.samefile(other)
    except OSError:
        return False


class _Table:
    """`--csv`'s rows, or nothing without `--csv`."""

    def __init__(self, rows: CsvRows | None) -> None:
        self._rows = rows
        self.on = rows is not None

    @property
    def count(self) -> int:
        return self._rows.count if self._rows is not None else 0

    def write(self, rows: list[dict[str, object]]) -> None:
        if self._rows is not None:
            self._rows.write(rows)

    def __enter__(self) -> _Table:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rows is not None:
            self._rows.__exit__(None, None, None)


def _open_csv(args: argparse.Namespace) -> _Table:
    """`--csv FILE` opened before anything is decoded: a FILE that cannot be written is a usage
    error, not a morning's work lost at the end."""
    from scanner_agent.code_rows import CsvRows

    if not args.csv:
        return _Table(None)
    if args.csv == "-":
        sys.stdout.flush()
        return _Table(CsvRows(sys.stdout.buffer, close=False))
    try:
        stream = open(args.csv, "wb")  # noqa: SIM115 - closed by the table
    except OSError as exc:
        args.parser.error(f"cannot write {args.csv}: {exc.strerror or exc}")
    return _Table(CsvRows(stream))


def _lines(report: FileReport) -> list[str]:
    from scanner_agent.attestation import mask
    from scanner_agent.wording import UNREADABLE_CODE, loud_headline

    if not report.codes and not report.unreadable and not report.error:
        return [f"{report.file}: no code found"]
    lines = []
    for code in report.codes:
        result = code.attestation
        where = f"{report.file} page {code.page} {code.symbology or '(no AIM)'}"
        if result.valid:
            reasons = f" [{', '.join(result.reason_codes())}]" if result.reasons else ""
            lines.append(
                f"{where}: {loud_headline(result)}: AMC {result.amc_number} member "
                f"{mask(result.member_number)} {result.valid_from} to {result.valid_to}{reasons}"
            )
        else:
            lines.append(f"{where}: {loud_headline(result)}: {', '.join(result.error_codes())}")
    lines += [f"{report.file} page {u.page} : {UNREADABLE_CODE}" for u in report.unreadable]
    if report.error:  # after the codes read before it (a PDF damaged on a later page)
        lines.append(f"{report.file}: ERROR {report.error.code}: {report.error.message}")
    return lines


def _summary(reports: list[FileReport]) -> str:
    from scanner_agent.wording import tally

    codes = sum(len(r.codes) for r in reports)
    decisions = [c.attestation.decision for r in reports for c in r.codes]
    failed = sum(1 for r in reports if r.error)
    empty = sum(1 for r in reports if not r.codes and not r.error)
    seen = sum(len(r.unreadable) for r in reports)
    return (
        f"{len(reports)} file(s): {codes} code(s) ({tally(decisions)}); "
        f"{empty} file(s) without code, {failed} unreadable"
        + (f"; {seen} code(s) seen but not read" if seen else "")
    )


PROGRESS_MIN_FILES = 4
"""A progress bar from this many files on: up to three, the lines come as fast as a bar."""


def progress_wanted(total: int, *, machine: bool = False) -> bool:
    """A bar on stderr: for more than a few files, when stderr is a terminal that can redraw a
    line (not `TERM=dumb`). `NO_COLOR` keeps the bar, without colours. Not when stdout shows
    `machine` output (JSON, CSV) on the terminal: those lines are never re-wrapped around a bar,
    and show the progress themselves."""
    if total < PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return False
    if machine and sys.stdout.isatty():
        return False
    return os.environ.get("TERM", "").lower() not in ("dumb", "unknown")


class _progress:
    """A rich progress bar on stderr (`progress_wanted`); nothing otherwise."""

    def __init__(self, total: int, *, machine: bool) -> None:
        self.total = total
        self.machine = machine
        self._bar: Progress | None = None

    def __enter__(self) -> Callable[[str], None]:
        if not progress_wanted(self.total, machine=self.machine):
            return lambda name: None
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from scanner_agent.commands._common import console

        # Lines for stdout go through the bar's console only when stdout is the same screen,
        # so that they print above the bar; piped or redirected stdout is never touched.
        screen = sys.stdout.isatty()
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console(sys.stderr),
            transient=True,
            redirect_stdout=screen,
            redirect_stderr=False,
        )
        bar.start()
        self._bar = bar
        task = bar.add_task("décodage", total=self.total)

        def advance(name: str) -> None:
            bar.update(task, advance=1, description=escape(name[:40]))

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

"""`scanner-agent decode`: read the codes of images and PDFs, and parse them.

    scanner-agent decode [--json] [--at YYYY-MM-DD] [--config PATH] FILE|FOLDER...

Folders are walked recursively (hidden files skipped; every other file is tried, and one that
is no image or PDF is reported as such). With `--json`, one JSON line per file on stdout:
`{"file", "codes": [{"page", "payload_b64", "symbology", "attestation"}], "error", "ms",
"unreadable": [{"page", "position"}]}` (`unreadable`: the codes seen but not read, each place's
corners in pixels); without, one line per code (member number masked), one per code seen but
not read ("page 2 : code détecté mais illisible : rescannez en meilleure qualité (300 dpi)"),
and a summary. A progress bar goes to
stderr, only when stderr is a terminal.

Each code's line starts with its decision for `--at` ("COUVERTE le 01/03/2026", "À VÉRIFIER",
"NON COUVERTE", "REFUSÉE"); the summary counts codes by decision.

Exit status: 0 every file was read (whatever the decisions on its codes), 1 some file
could not be read (its `error` says why; the other files were still decoded), 2 usage or
configuration error (including a path that does not exist).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scanner_agent.commands._common import add_config_option, iso_date, settings_from

if TYPE_CHECKING:
    from scanner_agent.file_decoding import FileReport

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2
UNREADABLE_LINE = (
    "page {page} : code détecté mais illisible : rescannez en meilleure qualité (300 dpi)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "decode",
        help="read the DataMatrix of images and PDFs and parse them",
        description="Read every code of images (PNG, JPEG, TIFF, BMP, WebP) and PDFs, and parse "
        "it. Exit status: 0 every file read, 1 some file could not be read, 2 usage error.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="files or folders (recursive)")
    parser.add_argument("--json", action="store_true", help="one JSON line per file on stdout")
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


def run(args: argparse.Namespace) -> int:
    from decoders import Decoder
    from scanner_agent.file_decoding import decode_options, decode_path, for_documents
    from scanner_agent.parse_context import ParseContext

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        args.parser.error(f"no such file or folder: {', '.join(missing)}")
    settings = settings_from(args)
    context = ParseContext.from_settings(settings)
    decoder = Decoder(for_documents(decode_options(settings)))
    at = args.at or context.today()
    todo = list(files(paths))
    reports: list[FileReport] = []
    with _progress(len(todo)) as advance:
        for path in todo:
            report = decode_path(path, context, at, decoder=decoder)
            reports.append(report)
            if args.json:
                print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False), flush=True)
            else:
                for line in _lines(report):
                    print(line, flush=True)
            advance(path.name)
    if not args.json:
        print(_summary(reports))
    return EXIT_UNREADABLE if any(r.error for r in reports) else EXIT_OK


def _lines(report: FileReport) -> list[str]:
    from scanner_agent.attestation import mask
    from scanner_agent.wording import loud_headline

    if report.error:
        return [f"{report.file}: ERROR {report.error.code}: {report.error.message}"]
    if not report.codes and not report.unreadable:
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
    lines += [f"{report.file} {UNREADABLE_LINE.format(page=u.page)}" for u in report.unreadable]
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


class _progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: object | None = None

    def __enter__(self) -> _Advance:
        if not sys.stderr.isatty():
            return _Advance(None, None)
        from rich.console import Console
        from rich.progress import Progress

        # Lines for stdout go through the bar's console only when stdout is the same screen,
        # so that they print above the bar; piped stdout is never touched.
        screen = sys.stdout.isatty()
        bar = Progress(
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=screen,
            redirect_stderr=False,
        )
        bar.start()
        self._bar = bar
        return _Advance(bar, bar.add_task("decoding", total=self.total))

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]


class _Advance:
    def __init__(self, bar: object | None, task: object | None) -> None:
        self._bar, self._task = bar, task

    def __call__(self, name: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=name[:40])  # type: ignore[attr-defined]

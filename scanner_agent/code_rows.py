"""A decoded file as rows, one per code found: what `scanner-agent decode --csv/--jsonl` writes,
for a clerk who goes through a morning's mail (and for anything else that reports files).

    for row in code_rows(report):       # dicts with the keys of COLUMNS, JSON-ready
        print(json.dumps(row, ensure_ascii=False))
    with CsvRows(open("matin.csv", "wb")) as out:
        out.write(code_rows(report))    # UTF-8 with BOM, `;`: opens as is in French Excel

Every file has at least one row, so that the batch shows every file: `status` says what the row
is. `code`: a code found (its `decision`, French `headline`, `reasons`, refusal `errors`, and
the attestation's elements, member number masked); `unreadable_code`: a place that looks like a
Data Matrix that no pass could read (scan it again, better); `no_code`: a file read without any
code; `file_error`: a file that could not be read (`error_code`, a stable code of
`decoders.documents`; the codes of the pages read before the problem keep their rows).

Never the payload, never a plain member number: rows are safe to mail to a colleague.
"""

from __future__ import annotations

import csv
import io
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from scanner_agent.attestation import mask
from scanner_agent.wording import UNREADABLE_CODE

if TYPE_CHECKING:
    from scanner_agent.file_decoding import FileReport

COLUMNS: tuple[str, ...] = (
    "file",
    "page",
    "status",
    "decision",
    "headline",
    "reasons",
    "errors",
    "error_code",
    "amc_number",
    "member_number",
    "valid_from",
    "valid_to",
    "roc",
    "symbology",
)
"""The keys of a row, in the CSV's column order. Stable: extend, never rename.

- `file`: the file as named (a folder's files: the folder's path joined to theirs).
- `page`: 1-based (1 for a single image); null for `no_code` and `file_error`.
- `status`: `code`, `unreadable_code`, `no_code`, `file_error`.
- `decision`: `covered`, `check`, `not_covered`, `refused` (only for `code`).
- `headline`: in French, "Couverte le 01/03/2026", "À vérifier le 01/03/2026", "Non couverte le
  …", "Refusée", "Code détecté mais illisible : …", "Aucun code trouvé", "Fichier non lu : …".
- `reasons`: why the decision is not `covered` (`scanner_agent.attestation.ReasonCode`).
- `errors`: why a code is refused (`ErrorCode`: `wrong_symbology`, `gs1_code`…).
- `error_code`: why a file could not be read (`not_an_image`, `corrupt_pdf`…).
- `amc_number`, `member_number` (masked: `••••••78`), `valid_from`, `valid_to` (YYYY-MM-DD):
  the attestation's elements, null when not read.
- `roc`: `roc`, `hors_roc`, `unknown` (null when refused).
- `symbology`: the AIM identifier (`]d1`; `]Q1` for a QR Code…), null when the reader gave none.

In JSON lines, `reasons` and `errors` are lists; in the CSV, their codes joined by `,`.
"""

UNREADABLE_HEADLINE = UNREADABLE_CODE[0].upper() + UNREADABLE_CODE[1:]
NO_CODE_HEADLINE = "Aucun code trouvé"
FILE_ERROR_WORDS: dict[str, str] = {
    "file_not_found": "fichier introuvable",
    "unreadable_file": "fichier inaccessible",
    "empty_file": "fichier vide",
    "file_too_large": "fichier trop gros",
    "not_an_image": "ni une image ni un PDF",
    "unsupported_format": "format d'image non pris en charge",
    "corrupt_image": "image endommagée",
    "image_too_large": "image trop grande",
    "corrupt_pdf": "PDF endommagé",
    "encrypted_pdf": "PDF protégé par un mot de passe",
    "too_many_pages": "trop de pages",
    "decode_cancelled": "lecture interrompue",
}
"""A file error's code (`decoders.documents`) in the French of `headline`."""


def code_rows(report: FileReport) -> list[dict[str, Any]]:
    """The rows of one decoded file (keys: `COLUMNS`): one per code found, one per code seen
    but not read, then one for the file's error; a file read without any code has one
    `no_code` row."""
    from scanner_agent.wording import headline  # noqa: PLC0415 - the French words, when used

    rows: list[dict[str, Any]] = []
    for code in report.codes:
        result = code.attestation
        rows.append(
            _row(
                report.file,
                page=code.page,
                status="code",
                decision=result.decision,
                headline=headline(result),
                reasons=result.reason_codes(),
                errors=result.error_codes(),
                amc_number=result.amc_number,
                member_number=mask(result.member_number),
                valid_from=result.valid_from.isoformat() if result.valid_from else None,
                valid_to=result.valid_to.isoformat() if result.valid_to else None,
                roc=result.roc.status if result.valid else None,
                symbology=code.symbology,
            )
        )
    for seen in report.unreadable:
        rows.append(
            _row(
                report.file, page=seen.page, status="unreadable_code", headline=UNREADABLE_HEADLINE
            )
        )
    if report.error is not None:
        words = FILE_ERROR_WORDS.get(report.error.code, report.error.code)
        rows.append(
            _row(
                report.file,
                status="file_error",
                headline=f"Fichier non lu : {words}",
                error_code=report.error.code,
            )
        )
    elif not rows:
        rows.append(_row(report.file, status="no_code", headline=NO_CODE_HEADLINE))
    return rows


def _row(file: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update({"file": file, "reasons": [], "errors": []})
    row.update(values)
    return row


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")."""


def csv_cell(value: Any) -> str:
    """A row's value as a CSV cell: lists joined by `,`, null empty, and a text that a
    spreadsheet would take for a formula (a file named `=HYPERLINK(…).pdf`, a payload's field)
    prefixed with `'`, shown but never run."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


CSV_DELIMITER = ";"
CSV_ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark, `;` between cells, CRLF line ends: what French Excel opens by a
double click with accents and columns right (a comma-separated file lands in one column
there). LibreOffice and Python's `csv` (encoding `utf-8-sig`, `delimiter=";"`) read it too."""


class CsvRows:
    """Rows written as CSV to a binary stream as they come (the header first, flushed after
    each batch: a file stopped midway keeps what was decoded). Closes the stream on exit
    unless it is told not to (standard output)."""

    def __init__(self, stream: IO[bytes], *, close: bool = True) -> None:
        self._stream = stream
        self._close = close
        self._text = io.TextIOWrapper(stream, encoding=CSV_ENCODING, newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=CSV_DELIMITER)
        self._writer.writerow(COLUMNS)
        self.count = 0
        """Rows written, the header aside."""

    def write(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._writer.writerow([csv_cell(row[column]) for column in COLUMNS])
        self.count += len(rows)
        self._text.flush()

    def __enter__(self) -> CsvRows:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._text.flush()
        if self._close:
            self._text.close()
        else:
            self._text.detach()


__all__ = [
    "COLUMNS",
    "CSV_DELIMITER",
    "CSV_ENCODING",
    "FILE_ERROR_WORDS",
    "CsvRows",
    "code_rows",
    "csv_cell",
]

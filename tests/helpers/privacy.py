"""Looking for member numbers where none may be: a database dumped as text, its raw files, the
journal, export files, logs.

    hits = find_member_numbers({"scans.db": path, "dump": text}, ["12345678", "185057800608491"])
    assert hits == []                   # [(where, number), ...] otherwise

Each place is text, bytes, or a `Path` (the file's bytes; a missing file is skipped); a plain list
names them by their index. A number is looked for as UTF-8 (and so ASCII, and inside JSON) and as
UTF-16 (both byte orders), and also without its separators (`AB-123/45` as `AB12345`). Numbers of
fewer than 6 characters are refused: they would match by chance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

Place = str | bytes | Path

MIN_LENGTH = 6


def _forms(number: str) -> set[bytes]:
    texts = {number, re.sub(r"[^0-9A-Za-z]", "", number)}
    forms: set[bytes] = set()
    for text in texts:
        if len(text) < MIN_LENGTH:
            continue
        forms.update(text.encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
    return forms


def _bytes_of(place: Place) -> bytes | None:
    if isinstance(place, Path):
        try:
            return place.read_bytes()
        except FileNotFoundError:
            return None
    if isinstance(place, str):
        return place.encode("utf-8")
    return place


def find_member_numbers(
    places: Mapping[str, Place] | Iterable[Place], numbers: Iterable[str]
) -> list[tuple[str, str]]:
    """`(where, number)` for every member number found in every place (empty: none found)."""
    named = dict(places) if isinstance(places, Mapping) else dict(enumerate(places))
    wanted = list(dict.fromkeys(numbers))
    for number in wanted:
        if len(number) < MIN_LENGTH:
            raise ValueError(f"{number!r} is too short to be looked for without false alarms")
    hits: list[tuple[str, str]] = []
    for where, place in named.items():
        data = _bytes_of(place)
        if data is None:
            continue
        for number in wanted:
            if any(form in data for form in _forms(number)):
                hits.append((str(where), number))
    return hits


def sqlite_dump(path: Path) -> str:
    """Every row of every table of a SQLite file, every column as text (read-only)."""
    import sqlite3

    lines: list[str] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                lines.append(table + ": " + " | ".join(_text(v) for v in row))
    return "\n".join(lines)


def postgres_dump(url: str) -> str:
    """Every row of every table of the database's `public` schema, as PostgreSQL writes a row
    as text."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    lines: list[str] = []
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            for table in list(tables):
                rows = conn.execute(text(f'SELECT t::text FROM "{table}" AS t')).scalars()
                lines.extend(f"{table}: {row}" for row in rows)
    finally:
        engine.dispose()
    return "\n".join(lines)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


__all__ = ["MIN_LENGTH", "find_member_numbers", "postgres_dump", "sqlite_dump"]

"""Import a team's own question document into a bank file.

Formats: numbered text (`Q12: ...`, `12. (Core) ...`, `QF3: question? answer`, headings
repeated twice, `Series #N - Title` posts), plain markdown (`## Question` headings) and
CSV (`prompt,answer[,track,level]`). Every block that cannot be read is reported with its
line number; nothing is invented. `drillbot bank import` (command.py) is the front end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bank.importers.build import build_questions
from bank.importers.csvfile import looks_like_csv, parse_csv
from bank.importers.model import Draft, ImportResult, Parsed, Problem
from bank.importers.numbered import parse_numbered
from bank.importers.writer import render, write

FORMATS = ("numbered", "markdown", "csv")

__all__ = [
    "FORMATS",
    "Draft",
    "ImportResult",
    "Parsed",
    "Problem",
    "build_questions",
    "detect_format",
    "import_file",
    "import_text",
    "parse",
    "render",
    "write",
]


def detect_format(text: str, *, suffix: str = "") -> str:
    """CSV by extension or header; markdown when it has '#' headings; numbered text otherwise."""
    suffix = suffix.lower()
    if suffix == ".csv" or looks_like_csv(text):
        return "csv"
    from bank.importers.headings import markdown_heading

    if suffix in (".md", ".markdown") or any(
        markdown_heading(line) for line in text.splitlines() if line.startswith("#")
    ):
        return "markdown"
    return "numbered"


def parse(text: str, *, fmt: str) -> Parsed:
    if fmt == "csv":
        return parse_csv(text)
    return parse_numbered(text, markdown=fmt == "markdown")


def import_text(
    text: str,
    *,
    source_name: str,
    stem: str,
    fmt: str | None = None,
    track: str | None = None,
    level: str | None = None,
    advance: Callable[[], None] | None = None,
) -> ImportResult:
    parsed = parse(text, fmt=fmt or detect_format(text))
    return build_questions(
        parsed, source_name=source_name, stem=stem, track=track, level=level, advance=advance
    )


def import_file(path: Path, *, track: str | None = None, level: str | None = None) -> ImportResult:
    text = path.read_text(encoding="utf-8-sig")
    return import_text(
        text,
        source_name=path.name,
        stem=path.stem,
        fmt=detect_format(text, suffix=path.suffix),
        track=track,
        level=level,
    )

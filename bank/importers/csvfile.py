"""Spreadsheet exports: `prompt,answer[,track,level]`, with or without a header row."""

from __future__ import annotations

import csv
import io

from bank.importers.model import Draft, Parsed, Problem, excerpt
from bank.importers.vocabulary import normalise_level, normalise_track
from bank.schema import LEVELS, TRACKS

COLUMNS = ("prompt", "answer", "track", "level")


def looks_like_csv(text: str) -> bool:
    """A first line naming the prompt and answer columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    cells = [cell.strip().strip('"').lower() for cell in first.split(",")]
    return len(cells) >= 2 and cells[:2] == ["prompt", "answer"]


def parse_csv(text: str) -> Parsed:
    parsed = Parsed(format="csv")
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = list(COLUMNS)
    record_start = 1
    number = 0
    try:
        for index, row in enumerate(reader):
            line = record_start
            record_start = reader.line_num + 1
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if index == 0 and [cell.lower() for cell in cells[:2]] == ["prompt", "answer"]:
                columns = _header(cells, line, parsed)
                continue
            number += 1
            _row(parsed, dict(zip(columns, cells, strict=False)), len(cells), line, number)
    except csv.Error as error:
        parsed.problems.append(Problem(reader.line_num, f"not valid CSV: {error}"))
    return parsed


def _header(cells: list[str], line: int, parsed: Parsed) -> list[str]:
    columns = [cell.lower() for cell in cells]
    unknown = [column for column in columns if column not in COLUMNS]
    if unknown:
        parsed.problems.append(
            Problem(
                line,
                f"unknown column(s) {', '.join(unknown)} are ignored (known: {', '.join(COLUMNS)})",
            )
        )
    return columns


def _row(parsed: Parsed, row: dict[str, str], width: int, line: int, number: int) -> None:
    prompt, answer = row.get("prompt", ""), row.get("answer", "")
    if width < 2 or not prompt or not answer:
        missing = "prompt" if not prompt else "answer"
        parsed.problems.append(
            Problem(
                line,
                f"row has no {missing} (expected prompt,answer[,track,level])",
                excerpt(prompt or answer),
            )
        )
        return
    chosen: dict[str, str | None] = {"track": None, "level": None}
    for field, normalise, allowed in (
        ("track", normalise_track, TRACKS),
        ("level", normalise_level, LEVELS),
    ):
        if row.get(field):
            chosen[field] = normalise(row[field])
            if chosen[field] is None:
                parsed.problems.append(
                    Problem(
                        line,
                        f"unknown {field} {row[field]!r} (one of: {', '.join(allowed)})",
                        excerpt(prompt),
                    )
                )
                return
    parsed.drafts.append(
        Draft(line=line, label=f"R{number}", prompt=prompt, answer=answer, **chosen)
    )

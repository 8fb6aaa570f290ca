"""`drillbot bank import FILE -o OUT.yaml`: turn a team's question document into a bank file.

It says what it found (a count per level), names every block it could not read with its
line number, and writes a file that `drillbot bank validate` accepts. Exit codes: 0 when
a file was written, 1 when nothing could be parsed, 2 when the input cannot be read.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from bank.importers import FORMATS, build_questions, detect_format, parse, write
from bank.importers.model import ImportResult
from bank.loader import read_file
from bank.schema import LEVELS, TRACKS

logger = logging.getLogger(__name__)

MAX_INPUT_BYTES = 20 * 1024 * 1024
PROGRESS_AFTER_BLOCKS = 200
EXIT_NOTHING = 1
EXIT_UNREADABLE = 2


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bank file to write (YAML); add it under bank.paths once edited.",
)
@click.option(
    "--track",
    type=click.Choice(TRACKS),
    default=None,
    help="Put every question in this track (default: the track the document's titles name).",
)
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    default=None,
    help="Level for questions whose section or marker names none (default: screening).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format (default: detected from the name and the content).",
)
def import_command(
    file: Path, output: Path, track: str | None, level: str | None, fmt: str | None
) -> None:
    """Read a question document (numbered text, markdown or CSV) and write a bank file."""
    text = _read(file)
    fmt = fmt or detect_format(text, suffix=file.suffix)
    parsed = parse(text, fmt=fmt)
    result = _build(parsed, file=file, track=track, level=level)
    _report(result, file=file)
    if not result.questions:
        click.echo(f"drillbot: nothing written: no question in {file} could be parsed", err=True)
        sys.exit(EXIT_NOTHING)
    write(result, output)
    _check_written(output)
    click.echo(
        f"wrote {output}: {len(result.questions)} questions. Edit the placeholders, add the file "
        "under bank.paths in drillbot.yaml, then run: drillbot bank validate"
    )


def _read(file: Path) -> str:
    size = file.stat().st_size
    if size > MAX_INPUT_BYTES:
        click.echo(f"drillbot: {file} is {size} bytes, over the {MAX_INPUT_BYTES} limit", err=True)
        sys.exit(EXIT_UNREADABLE)
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        click.echo(f"drillbot: {file}: not UTF-8 text ({error.reason})", err=True)
        sys.exit(EXIT_UNREADABLE)


def _build(parsed, *, file: Path, track: str | None, level: str | None) -> ImportResult:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    total = len(parsed.drafts)
    with Progress(
        TextColumn("reading questions"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=total <= PROGRESS_AFTER_BLOCKS,
    ) as progress:
        task = progress.add_task("import", total=total)
        return build_questions(
            parsed,
            source_name=file.name,
            stem=file.stem,
            track=track,
            level=level,
            advance=lambda: progress.advance(task),
        )


def _report(result: ImportResult, *, file: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    counts = result.by_level
    table = Table(title=escape(f"{file.name}: {len(result.questions)} questions ({result.format})"))
    table.add_column("level")
    table.add_column("questions", justify="right")
    for level in LEVELS:
        if counts.get(level):
            table.add_row(level, str(counts[level]))
    table.add_row("total", str(len(result.questions)), style="bold")
    Console(soft_wrap=True).print(table)
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.problems:
        count = len(result.problems)
        click.echo(f"could not parse {count} block(s); nothing was guessed for them:")
        for problem in sorted(result.problems, key=lambda item: item.line):
            click.echo(f"  {file}:{problem}".replace(f"{file}:line ", f"{file}:"))


def _check_written(output: Path) -> None:
    """The written file must load as it is; anything else is a bug worth stopping on."""
    _, issues = read_file(output)
    if issues:
        for issue in issues:
            click.echo(str(issue), err=True)
        click.echo(f"drillbot: {output} does not validate; please report this", err=True)
        sys.exit(EXIT_NOTHING)

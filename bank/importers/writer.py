"""Write imported questions as a bank file a person will edit.

Each question is preceded by a comment naming the line it came from, multi-line answers
are written as literal blocks so they read like the source, and only PyYAML's safe
dumper is used.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bank.importers.build import ANSWER_PLACEHOLDER
from bank.importers.model import ImportResult


class _BankDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text as `|-` blocks and indents nested lists."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BankDumper.add_representer(str, _text)


def render(result: ImportResult) -> str:
    header = [
        f"# Imported from {result.source_name} by `drillbot bank import` "
        f"({len(result.questions)} questions, format: {result.format}).",
        "# Edit freely, then check with: drillbot bank validate THIS_FILE",
        "# Text reading '(not given in the source: ...)' is a placeholder for you to write;",
        f"# '{ANSWER_PLACEHOLDER}' marks a question without an answer.",
    ]
    parts = ["\n".join(header)]
    for line, question in zip(result.lines, result.questions, strict=True):
        body = yaml.dump(
            [question],
            Dumper=_BankDumper,
            allow_unicode=True,
            sort_keys=False,
            default_flow_style=False,
            width=100,
        )
        parts.append(f"# {result.source_name} line {line}\n{body.rstrip()}")
    return "\n\n".join(parts) + "\n"


def write(result: ImportResult, path: Path) -> None:
    path.write_text(render(result), encoding="utf-8")

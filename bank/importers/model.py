"""What a parser hands over: drafts of questions and the blocks it could not read.

Parsers only cut a document into drafts (a heading, its body lines, and what the
document said about level, track and company). Turning a draft into a schema-valid
question is one shared step (build.py), so every format gets the same rules for ids,
placeholders and validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Line = tuple[int, str]  # (1-based line number in the source, text)


@dataclass
class Draft:
    """One question as found, before it is checked against the schema."""

    line: int
    label: str  # the document's own number: "Q12", "QF3", "#33", "C4", "R7"
    prompt: str
    body: list[Line] = field(default_factory=list)
    answer: str | None = None  # given on the heading line itself (quick-fire, CSV)
    level: str | None = None  # stated by a marker, a section title or a column
    track: str | None = None
    companies: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    time_limit_s: int | None = None
    answer_missing_by_design: bool = False  # checklist items: the source has no answer
    heading: str = ""  # the raw heading line, to recognise a repeated copy of it


@dataclass(frozen=True)
class Problem:
    """A block the importer could not turn into a question, and why."""

    line: int
    message: str
    excerpt: str = ""

    def __str__(self) -> str:
        excerpt = f": {self.excerpt!r}" if self.excerpt else ""
        return f"line {self.line}: {self.message}{excerpt}"


@dataclass
class Parsed:
    """A parser's output: drafts in document order, problems, and document-wide facts."""

    format: str
    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    document_track: str | None = None


@dataclass
class ImportResult:
    """Schema-valid question mappings (ready to write) and everything that was not."""

    format: str
    source_name: str
    questions: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each question
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def by_level(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for question in self.questions:
            counts[question["level"]] = counts.get(question["level"], 0) + 1
        return counts


def excerpt(text: str, *, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

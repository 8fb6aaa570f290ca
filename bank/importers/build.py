"""Turn drafts into schema-valid question mappings, the same way for every format.

The team's text is kept as written. What the document does not give is filled in with
placeholders that say so, so the file validates today and the team can see what to
write; what cannot be read at all (a heading with no answer, a value the schema refuses)
is reported with its line instead of being made up.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from bank.importers.fields import split_fields
from bank.importers.model import Draft, ImportResult, Parsed, Problem, excerpt
from bank.importers.vocabulary import slug
from bank.schema import Question

logger = logging.getLogger(__name__)

RUBRIC_PLACEHOLDERS = {
    "strong": "(not given in the source: write what a strong answer covers)",
    "lean": "(not given in the source: write what a partly right answer sounds like)",
    "no": "(not given in the source: write what a failing answer sounds like)",
}
ANSWER_PLACEHOLDER = "(not given in the source: write the model answer)"
FALLBACK_TRACK = "ai-engineering"
FALLBACK_LEVEL = "screening"


def build_questions(
    parsed: Parsed,
    *,
    source_name: str,
    stem: str,
    track: str | None = None,
    level: str | None = None,
    advance: Callable[[], None] | None = None,
) -> ImportResult:
    """`track` puts every question in that track; `level` is used where the document is silent."""
    result = ImportResult(format=parsed.format, source_name=source_name)
    result.problems.extend(parsed.problems)
    prefix = slug(stem, max_length=60) or "imported"
    labels: Counter = Counter()
    ids: set[str] = set()
    fallback_track = missing_answers = placeholder_rubrics = 0
    for draft in parsed.drafts:
        if advance:
            advance()
        question, problem = _question(draft, track=track, level=level, parsed=parsed)
        if problem:
            result.problems.append(problem)
            continue
        labels[draft.label] += 1
        label = draft.label if labels[draft.label] == 1 else f"{draft.label}-{labels[draft.label]}"
        question["id"] = _unique(f"{prefix}-{slug(label, max_length=30)}", ids)
        question["source"] = f"{stem} {label}"
        try:
            Question.model_validate(question)
        except ValidationError as error:
            detail = error.errors()[0]
            where = ".".join(str(part) for part in detail["loc"])
            result.problems.append(
                Problem(
                    draft.line, f"{draft.label}: {where}: {detail['msg']}", excerpt(draft.prompt)
                )
            )
            continue
        fallback_track += track is None and not draft.track and not parsed.document_track
        missing_answers += draft.answer_missing_by_design
        placeholder_rubrics += any(
            value in RUBRIC_PLACEHOLDERS.values() for value in question["rubric"].values()
        )
        result.questions.append(_ordered(question))
        result.lines.append(draft.line)
    _notes(result, fallback_track, missing_answers, placeholder_rubrics)
    logger.debug("built %d questions from %s", len(result.questions), source_name)
    return result


def _question(
    draft: Draft, *, track: str | None, level: str | None, parsed: Parsed
) -> tuple[dict[str, Any], Problem | None]:
    body = list(draft.body)
    prompt = draft.prompt.strip()
    if not prompt:
        prompt, body = _leading_paragraph(body)
    if not prompt:
        return {}, Problem(draft.line, f"{draft.label}: heading has no question text")
    fields = split_fields(body)
    answer = (draft.answer or "").strip() or fields.answer
    if not answer:
        if not draft.answer_missing_by_design:
            return {}, Problem(
                draft.line, f"{draft.label}: no answer under this question", excerpt(prompt)
            )
        answer = ANSWER_PLACEHOLDER
    question: dict[str, Any] = {
        "track": track or draft.track or parsed.document_track or FALLBACK_TRACK,
        "level": draft.level or level or FALLBACK_LEVEL,
        "prompt": prompt,
        "answer": answer,
        "rubric": {
            grade: fields.rubric.get(grade) or text for grade, text in RUBRIC_PLACEHOLDERS.items()
        },
        "follow_ups": fields.follow_ups,
        "red_flags": fields.red_flags,
        "tags": _merge(draft.tags, fields.tags),
        "companies": _merge(draft.companies, fields.companies),
        "time_limit_s": draft.time_limit_s,
        "study": fields.study,
    }
    return question, None


def _leading_paragraph(body: list[tuple[int, str]]) -> tuple[str, list[tuple[int, str]]]:
    """Under a bare '## Question' heading the prompt is the first paragraph of the body."""
    lines: list[str] = []
    for index, (_, text) in enumerate(body):
        if not text.strip():
            if lines:
                return " ".join(lines), body[index + 1 :]
            continue
        if text.rstrip().endswith(":") and lines:
            return " ".join(lines), body[index:]
        lines.append(text.strip())
    return " ".join(lines), []


def _merge(first: list[str], second: list[str]) -> list[str]:
    merged: list[str] = []
    for value in (*first, *second):
        if value and value not in merged:
            merged.append(value)
    return merged


def _unique(candidate: str, ids: set[str]) -> str:
    value, counter = candidate, 1
    while value in ids:
        counter += 1
        value = f"{candidate}-{counter}"
    ids.add(value)
    return value


_ORDER = (
    "id",
    "track",
    "level",
    "prompt",
    "answer",
    "rubric",
    "follow_ups",
    "red_flags",
    "tags",
    "companies",
    "time_limit_s",
    "study",
    "source",
)


def _ordered(question: dict[str, Any]) -> dict[str, Any]:
    """The schema's field order (as in docs/bank-format.md), without empty optional fields."""
    return {key: question[key] for key in _ORDER if question.get(key) not in (None, "", [])}


def _notes(result: ImportResult, fallback_track: int, answers: int, rubrics: int) -> None:
    if fallback_track:
        result.notes.append(
            f"{fallback_track} question(s) are in track {FALLBACK_TRACK!r} because the document "
            "names none; choose one with --track"
        )
    if answers:
        result.notes.append(
            f"{answers} question(s) have no answer in the source (checklist items): their "
            f"answer reads {ANSWER_PLACEHOLDER!r}"
        )
    if rubrics:
        result.notes.append(
            f"{rubrics} question(s) lack some Strong / Lean / No Hire rubric entries: they read "
            "'(not given in the source: ...)'"
        )

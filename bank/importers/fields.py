"""Split the body under a question heading into answer, rubric, follow-ups and red flags.

Documents label these parts (`Model Answer:`, `Expected depth:`, `Follow-up:`,
`Red flag:`, `Scoring: Strong Hire = ... Lean Hire = ... No Hire = ...`), sometimes at
the start of a line and sometimes run into the previous sentence when the text was
copied from a web page ("...weight decay).Follow-up:- “Why ...”"). Interview follow-ups
are also often just quoted questions in a bullet list at the end of the answer.
Unlabelled text is the answer, kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bank.importers.model import Line
from bank.importers.vocabulary import slug

_KINDS = {
    "answer": r"model answer|sample answer|expected answer|expected depth|answer|a",
    "scoring": r"scoring|rubric|grading",
    "follow": r"follow[- ]?ups?(?: questions?)?",
    "red": r"red[- ]?flags?(?: answers?)?",
    "study": r"deep[- ]dive|study|further reading",
    "tags": r"tags|topics",
    "companies": r"companies|asked at",
}
_MARKER = re.compile(
    r"^(?:[-*•]\s+)?(?:\*\*)?(?P<name>"
    + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _KINDS.items())
    + r")(?:\*\*)?\s*:(?:\*\*)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
# Labels run into the previous sentence: "...decay).Follow-up:- ..." or "...end. Red flag: ..."
_INLINE = re.compile(
    r"(?<=[.!?)\]”\"'`])\s*(?=(?:follow[- ]?ups?|red[- ]?flags?(?: answers?)?|scoring)\s*:)",
    re.IGNORECASE,
)
_GRADE_LINE = re.compile(r"^(?:[-*•]\s+)?(?:strong|lean|no)(?:\s+hire)?\s*[:=]", re.IGNORECASE)
_GRADE_KEYS = re.compile(r"\b(strong|lean|no)(?:\s+hire)?\s*[:=]\s*", re.IGNORECASE)
_QUOTED_BULLET = re.compile(r"^[-*•]\s*[“\"]")
_BULLET = re.compile(r"^[-*•]\s+")
_QUOTED = re.compile(r"[“\"]([^“”\"]+)[”\"“]")


@dataclass
class Fields:
    answer: str = ""
    rubric: dict[str, str] = field(default_factory=dict)
    follow_ups: list[str] = field(default_factory=list)
    red_flags: list[str] = field(default_factory=list)
    study: str = ""
    tags: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)


def is_labelled(text: str) -> bool:
    """'Deep dive: Attention', 'Red flag: ...': a labelled part of a question, never a title."""
    return bool(_MARKER.match(text.strip()))


def split_inline_labels(lines: list[Line]) -> list[Line]:
    """One line per label, even when a label was glued to the end of a sentence."""
    result: list[Line] = []
    for number, text in lines:
        parts = _INLINE.split(text)
        result.extend((number, part) for part in parts if part.strip() or len(parts) == 1)
    return result


def split_fields(lines: list[Line]) -> Fields:
    regions: dict[str, list[str]] = {kind: [] for kind in ("lead", *_KINDS)}
    saw_answer_label = False
    region = "lead"
    pending: list[str] = []  # quoted bullets that count as follow-ups only at the very end
    for _, raw in split_inline_labels(lines):
        text = raw.strip()
        marker = _MARKER.match(text)
        if region in ("lead", "answer") and not marker and _is_quoted_bullet(text):
            pending.append(text)
            continue
        if pending and not marker and not _is_closed(pending):
            pending.append(text)  # a quoted follow-up that runs over several lines
            continue
        regions[region].extend(pending)
        pending = []
        if marker:
            region = next(kind for kind in _KINDS if marker.group(kind) is not None)
            saw_answer_label = saw_answer_label or region == "answer"
            text = marker.group("rest").strip()
            if not text:
                continue
        elif _GRADE_LINE.match(text):
            region = "scoring"
        elif region == "scoring":
            region = "answer" if saw_answer_label else "lead"  # a rubric is its labelled lines
        regions[region].append(text)
    regions["follow"].extend(pending)
    return _assemble(regions, saw_answer_label)


def _is_quoted_bullet(text: str) -> bool:
    """'- “How would you ...?”': a whole bullet in quotes, as interview follow-ups are written."""
    return (
        bool(_QUOTED_BULLET.match(text))
        and len(text.split()) >= 4
        and (text.rstrip()[-1] in '”"“' or not _is_closed([text]))
    )


def _is_closed(follow_lines: list[str]) -> bool:
    """True when every quoted follow-up so far has its closing quote."""
    joined = " ".join(follow_lines)
    return joined.count("“") <= joined.count("”") and joined.count('"') % 2 == 0


def _assemble(regions: dict[str, list[str]], saw_answer_label: bool) -> Fields:
    lead = _unquote(_paragraphs(regions["lead"]))
    answer = _unquote(_paragraphs(regions["answer"])) if saw_answer_label else lead
    if saw_answer_label and lead:
        answer = f"{answer}\n\nContext: {lead}" if answer else lead
    rubric, unlabelled = _rubric(" ".join(_strip_bullet(line) for line in regions["scoring"]))
    if unlabelled and answer:
        answer = f"{answer}\n\nScoring: {unlabelled}"
    return Fields(
        answer=answer,
        rubric=rubric,
        follow_ups=_follow_ups(regions["follow"]),
        red_flags=[item for item in (_unquote(_strip_bullet(t)) for t in regions["red"]) if item],
        study=" ".join(" ".join(regions["study"]).split()),
        tags=_slugs(regions["tags"]),
        companies=_slugs(regions["companies"]),
    )


def _paragraphs(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line.strip()).strip()


def _rubric(text: str) -> tuple[dict[str, str], str]:
    """'Strong Hire = a. Lean Hire = b. No Hire = c.' -> {strong: 'a.', lean: 'b.', no: 'c.'}"""
    keys = list(_GRADE_KEYS.finditer(text))
    if not keys:
        return {}, " ".join(text.split())
    rubric: dict[str, str] = {}
    for index, match in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(text)
        value = " ".join(text[match.end() : end].split())
        grade = match.group(1).lower()
        if value and grade not in rubric:
            rubric[grade] = value
    return rubric, " ".join(text[: keys[0].start()].split())


def _follow_ups(lines: list[str]) -> list[str]:
    joined = " ".join(" ".join(lines).split())
    quoted = [" ".join(text.split()) for text in _QUOTED.findall(joined)]
    quoted = [text for text in quoted if len(text) > 3]
    if quoted:
        return quoted
    return [item for item in (_unquote(_strip_bullet(line)) for line in lines) if item]


def _strip_bullet(text: str) -> str:
    return _BULLET.sub("", text.strip()).lstrip("-").strip()


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) > 1 and text[0] in '"“' and text[-1] in '"”“':
        inner = text[1:-1].strip()
        if inner:
            return inner
    return text


def _slugs(lines: list[str]) -> list[str]:
    values = []
    for part in re.split(r"[,;/]", " ".join(lines).strip("[] ")):
        value = slug(part.strip(" []"))
        if value and value not in values:
            values.append(value)
    return values

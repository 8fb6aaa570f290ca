"""Documents whose questions sit under headings: numbered text, and plain markdown.

The walk keeps the current section (which may state a level, a track, a time budget and
a topic) and the current question, whose body runs until the next heading or section.
Text outside any question is skipped, but text that looks like a question, and sections
that promise questions without holding any, are reported with their line numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from bank.importers import headings as hd
from bank.importers.model import Draft, Parsed, Problem, excerpt
from bank.importers.vocabulary import level_in, time_limit_in, topic_of, track_in

_BULLET = re.compile(r"^[-*•]\s+(?P<text>\S.*)$")
_TABLE_ROW = re.compile(r"^\|(?P<cells>.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]*-{3,}[\s:|-]*\|?\s*$")
_CONCEPT_SECTION = re.compile(r"quick|concept|glossary|flash ?card|key terms", re.IGNORECASE)
_PROMISES_QUESTIONS = re.compile(r"\bquestions?\b|\bfaqs?\b", re.IGNORECASE)
_REPEAT_WINDOW = 3  # non-blank lines allowed between a heading and its repeated copy


@dataclass
class _Line:
    number: int
    text: str
    pilcrow: bool


@dataclass
class _Section:
    line: int
    title: str
    depth: int
    level: str | None
    track: str | None
    time_limit_s: int | None
    topic: str | None
    drafts: int = 0
    loose_lines: int = 0
    concept_table: bool = False  # a term | summary table opened this section


@dataclass
class _Walk:
    lines: list[_Line]
    markdown: bool
    parsed: Parsed
    question_depth: int = 0
    plain_numbers: bool = False
    sections: list[_Section] = field(default_factory=list)
    current: Draft | None = None
    last_plain_number: int = 0
    counters: Counter = field(default_factory=Counter)
    title_line: int = 0
    repeated_headings: bool = False  # headings come twice, as web pages render them


def parse_numbered(text: str, *, markdown: bool = False) -> Parsed:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        cleaned, pilcrow = hd.clean(raw)
        lines.append(_Line(number, cleaned, pilcrow))
    walk = _Walk(lines, markdown, Parsed(format="markdown" if markdown else "numbered"))
    _survey(walk)
    index = 0
    while index < len(lines):
        _step(walk, index)
        index += 1
    _close_question(walk)
    _close_sections(walk, depth=0)
    _drop_boilerplate(walk.parsed)
    return walk.parsed


def _drop_boilerplate(parsed: Parsed) -> None:
    """Drop short lines repeated under many questions ('By Some Author'): page chrome.

    Labelled lines ('Model Answer:', 'Deep dive: ...') are never chrome.
    """
    seen: Counter = Counter()
    for draft in parsed.drafts:
        seen.update({text for _, text in draft.body if text and ":" not in text and len(text) < 60})
    threshold = max(3, len(parsed.drafts) // 3)
    chrome = {text for text, count in seen.items() if count >= threshold}
    if chrome:
        for draft in parsed.drafts:
            draft.body = [(number, text) for number, text in draft.body if text not in chrome]


def _survey(walk: _Walk) -> None:
    """Facts about the whole document that decide how single lines are read."""
    non_blank = [line for line in walk.lines if line.text]
    walk.title_line = non_blank[0].number if non_blank else 0
    labelled = any(hd.labelled_heading(line.text) for line in non_blank)
    doubled = any(_is_doubled(walk, i) for i in range(len(walk.lines)))
    if walk.markdown:
        walk.question_depth = _question_depth(non_blank)
    walk.plain_numbers = not (labelled or doubled or walk.markdown)
    walk.repeated_headings = doubled or any(
        hd.labelled_heading(line.text) and _repeats_soon(walk, index)
        for index, line in enumerate(walk.lines)
        if line.text
    )
    for line in non_blank[:6]:
        if hd.labelled_heading(line.text):
            break
        track = track_in(line.text)
        if track:
            walk.parsed.document_track = track
            break


def _question_depth(lines: list[_Line]) -> int:
    """The markdown heading depth that holds questions: the most used one (deeper on ties)."""
    depths: Counter = Counter()
    labelled: Counter = Counter()
    for line in lines:
        heading = hd.markdown_heading(line.text)
        if heading is None or hd.is_field_heading(heading[1]):
            continue
        depth, text = heading
        if hd.labelled_heading(text) or hd.is_bare_question(text):
            labelled[depth] += 1
        elif not level_in(text):
            depths[depth] += 1
    counts = labelled or depths
    if not counts:
        return 2
    return max(counts, key=lambda depth: (counts[depth], depth))


def _step(walk: _Walk, index: int) -> None:
    line = walk.lines[index]
    text = line.text
    if not text:
        return
    if walk.markdown:
        heading = hd.markdown_heading(text)
        if heading is not None:
            _markdown_heading(walk, index, *heading)
            return
    if _is_repeat_of_current(walk, text):
        walk.current.body.clear()
        return
    heading = _question_heading(walk, index)
    if heading is not None:
        _open_question(walk, line, heading)
        return
    if walk.repeated_headings and _is_unnumbered_repeat(walk, index):
        _close_question(walk)
        walk.parsed.problems.append(
            Problem(
                line.number,
                "repeated like the question headings but has no number "
                "(Q12:, 12., #12); skipped with the text under it",
                excerpt(text),
            )
        )
        return
    if line.number != walk.title_line and (
        (not walk.markdown and hd.section_title(text, pilcrow=line.pilcrow))
        or _is_numbered_section(walk, index)
    ):
        _open_section(walk, line, text, depth=1)
        return
    if walk.current is not None:
        label = hd.is_field_label(text) and not text.endswith(":")
        walk.current.body.append((line.number, f"{text}:" if label else text))
        return
    _loose_line(walk, index)


def _markdown_heading(walk: _Walk, index: int, depth: int, text: str) -> None:
    line = walk.lines[index]
    if walk.current is not None and depth > walk.question_depth:
        label = text.rstrip(":")
        walk.current.body.append((line.number, f"{label}:" if hd.is_field_heading(text) else text))
        return
    labelled = hd.labelled_heading(text)
    if labelled is not None or depth == walk.question_depth:
        if labelled is None:
            walk.counters["md"] += 1
            number = walk.counters["md"]
            labelled = hd.plain_heading(number, "" if hd.is_bare_question(text) else text)
        _open_question(walk, line, labelled)
        return
    if depth < walk.question_depth:
        _open_section(walk, line, text, depth=depth)
        return
    _loose_line(walk, index)


def _question_heading(walk: _Walk, index: int) -> hd.Heading | None:
    text = walk.lines[index].text
    heading = hd.labelled_heading(text)
    if heading is not None:
        return heading
    numbered = hd.numbered(text)
    if numbered is None:
        return None
    number, rest = numbered
    if _is_doubled(walk, index):
        return hd.plain_heading(number, rest)
    if walk.plain_numbers and _plain_question(walk, index, number, rest):
        walk.last_plain_number = number
        return hd.plain_heading(number, rest)
    return None


def _plain_question(walk: _Walk, index: int, number: int, rest: str) -> bool:
    """'3. What is X?' in a document with no other heading style, numbered in sequence."""
    in_sequence = number == walk.last_plain_number + 1 or (number == 1 and walk.current is None)
    previous = walk.lines[index - 1].text if index else ""
    in_a_list = hd.numbered(previous) is not None  # "1. ..." then "2. ...": an answer's list
    following = _next_text(walk, index)
    asks = rest.endswith("?") or bool(following and hd.starts_answer(following))
    return in_sequence and not in_a_list and asks


def _is_doubled(walk: _Walk, index: int) -> bool:
    """'12. Title' immediately repeated on the next line: how some sites render headings."""
    text = walk.lines[index].text
    return bool(text) and hd.numbered(text) is not None and _next_text(walk, index) == text


def _repeats_soon(walk: _Walk, index: int) -> bool:
    """The same line again within the next few non-blank lines."""
    text, seen = walk.lines[index].text, 0
    for following in walk.lines[index + 1 :]:
        if not following.text:
            continue
        if following.text == text:
            return True
        seen += 1
        if seen > _REPEAT_WINDOW:
            return False
    return False


def _is_unnumbered_repeat(walk: _Walk, index: int) -> bool:
    """A title shown twice like the question headings, but without a question number."""
    text = walk.lines[index].text
    if _BULLET.match(text) or text.startswith("|") or len(text) > 160 or text[-1] in ".:;,":
        return False
    if len(re.findall(r"[^\W\d_]", text)) < 3 or text == walk.lines[walk.title_line - 1].text:
        return False  # list markers on their own line; the document's title shown twice
    if walk.current is not None and text == walk.current.heading:
        return False
    return _repeats_soon(walk, index)


def _is_repeat_of_current(walk: _Walk, text: str) -> bool:
    """The second copy of the current heading; anything between the copies is page chrome."""
    current = walk.current
    if current is None or text != current.heading:
        return False
    return sum(1 for _, body in current.body if body) <= _REPEAT_WINDOW


def _is_numbered_section(walk: _Walk, index: int) -> bool:
    """'3. Machine Learning Fundamentals' followed directly by a question heading."""
    if hd.numbered(walk.lines[index].text) is None or walk.plain_numbers:
        return False
    following = _next_index(walk, index)
    if following is None:
        return False
    text = walk.lines[following].text
    return hd.labelled_heading(text) is not None or _is_doubled(walk, following)


def _next_index(walk: _Walk, index: int) -> int | None:
    for following in range(index + 1, len(walk.lines)):
        if walk.lines[following].text:
            return following
    return None


def _next_text(walk: _Walk, index: int) -> str | None:
    following = _next_index(walk, index)
    return walk.lines[following].text if following is not None else None


def _open_section(walk: _Walk, line: _Line, title: str, *, depth: int) -> None:
    _close_question(walk)
    _close_sections(walk, depth=depth)
    walk.last_plain_number = 0
    walk.sections.append(
        _Section(
            line=line.number,
            title=title,
            depth=depth,
            level=level_in(title),
            track=track_in(title),
            time_limit_s=time_limit_in(title),
            topic=topic_of(title),
        )
    )


def _close_sections(walk: _Walk, *, depth: int) -> None:
    while walk.sections and walk.sections[-1].depth >= depth:
        section = walk.sections.pop()
        if (
            section.drafts == 0
            and section.loose_lines
            and _PROMISES_QUESTIONS.search(section.title)
        ):
            walk.parsed.problems.append(
                Problem(
                    section.line,
                    f"section has {section.loose_lines} line(s) of text but no question "
                    "heading this importer recognises",
                    excerpt(section.title),
                )
            )
        if walk.sections:
            walk.sections[-1].drafts += section.drafts


def _inherited(walk: _Walk, attribute: str):
    for section in reversed(walk.sections):
        value = getattr(section, attribute)
        if value:
            return value
    return None


def _open_question(walk: _Walk, line: _Line, heading: hd.Heading) -> None:
    _close_question(walk)
    draft = Draft(
        line=line.number,
        label=heading.label,
        prompt=heading.prompt,
        answer=heading.answer,
        level=heading.level or _inherited(walk, "level"),
        track=track_in(heading.context) if heading.context else None,
        companies=list(heading.companies),
        time_limit_s=_inherited(walk, "time_limit_s"),
        heading=line.text,
    )
    draft.track = draft.track or _inherited(walk, "track")
    topic = _inherited(walk, "topic")
    draft.tags = [topic] if topic else []
    if heading.quickfire and heading.answer:
        _keep(walk, draft)
        return
    walk.current = draft


def _close_question(walk: _Walk) -> None:
    if walk.current is not None:
        _keep(walk, walk.current)
        walk.current = None


def _keep(walk: _Walk, draft: Draft) -> None:
    walk.parsed.drafts.append(draft)
    if walk.sections:
        walk.sections[-1].drafts += 1


def _loose_line(walk: _Walk, index: int) -> None:
    """Text outside any question: checklist items, concept tables, or skipped prose."""
    line = walk.lines[index]
    section = walk.sections[-1] if walk.sections else None
    title = section.title if section else ""
    bullet = _BULLET.match(line.text)
    if section and bullet and "checklist" in title.lower():
        _checklist_item(walk, line, bullet.group("text"))
        return
    row = _TABLE_ROW.match(line.text)
    if section and row and _opens_concept_table(walk, section, index, row.group("cells")):
        section.concept_table = True
        return
    if section and row and section.concept_table:
        _concept_row(walk, index, row.group("cells"))
        return
    if row or _TABLE_RULE.match(line.text):
        return
    if section:
        section.loose_lines += 1
    if not bullet and line.text.endswith("?") and 15 <= len(line.text) <= 300:
        walk.parsed.problems.append(
            Problem(
                line.number,
                "looks like a question but has no question heading (Q12:, 12. (Core), ## ...)",
                excerpt(line.text),
            )
        )


def _checklist_item(walk: _Walk, line: _Line, text: str) -> None:
    """'- Explain X' under 'Your Final Checklist': a prompt whose answer the team writes."""
    walk.counters["C"] += 1
    draft = Draft(
        line=line.number,
        label=f"C{walk.counters['C']}",
        prompt=text.strip(),
        level=_inherited(walk, "level"),
        track=_inherited(walk, "track"),
        time_limit_s=_inherited(walk, "time_limit_s"),
        answer_missing_by_design=True,
    )
    _keep(walk, draft)


def _opens_concept_table(walk: _Walk, section: _Section, index: int, cells: str) -> bool:
    """A two-column table that is the first thing in a quick-reference section."""
    following = _next_text(walk, index)
    return (
        bool(_CONCEPT_SECTION.search(section.title))
        and section.drafts == 0
        and section.loose_lines == 0
        and len(cells.split("|")) == 2
        and bool(following and _TABLE_RULE.match(following))
    )


def _concept_row(walk: _Walk, index: int, cells_text: str) -> None:
    """'| Term | One-sentence summary |' rows of a quick-reference table become quick-fire cards."""
    line = walk.lines[index]
    if _TABLE_RULE.match(line.text):
        return
    cells = [cell.strip() for cell in cells_text.split("|")]
    if len(cells) != 2 or not all(cells):
        walk.parsed.problems.append(
            Problem(
                line.number, "table row needs exactly two cells: term | summary", excerpt(line.text)
            )
        )
        return
    walk.counters["C"] += 1
    draft = Draft(
        line=line.number,
        label=f"C{walk.counters['C']}",
        prompt=cells[0],
        answer=cells[1],
        level=_inherited(walk, "level") or "quickfire",
        track=_inherited(walk, "track"),
        time_limit_s=_inherited(walk, "time_limit_s"),
    )
    _keep(walk, draft)

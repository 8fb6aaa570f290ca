"""Recognise the heading lines of question documents.

Each function looks at one line (and, where the format needs it, the next non-blank
line) and says what it is. Keeping this apart from the walk over the document keeps the
rules for "what is a question heading" in one place, each with its example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bank.importers.fields import is_labelled
from bank.importers.vocabulary import MARKER_PATTERN, level_in, marker_level, slug

# "Q12: ...", "Q12. ...", "Question 12: ..."
_Q = re.compile(r"^(?:Q|Question\s*)(?P<num>\d{1,4})\s*[:.)]\s*(?P<rest>.*)$", re.IGNORECASE)
# "QF3: What is X? X is ..." (quick-fire: the answer follows on the same line)
_QF = re.compile(r"^QF\s*(?P<num>\d{1,4})\s*[:.)]\s*(?P<rest>.*)$", re.IGNORECASE)
# "12. (Core) ..."
_MARKED = re.compile(
    rf"^(?P<num>\d{{1,4}})[.)]\s*\((?P<marker>{MARKER_PATTERN})\)\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
# "12. ..."
_NUMBERED = re.compile(r"^(?P<num>\d{1,4})[.)]\s+(?P<rest>\S.*)$")
# "LLM System Design Interview #50 - The Rejection Sampling Paradox"
_HASH = re.compile(r"^(?P<prefix>[^#|]{0,100}?)\s*#(?P<num>\d{1,4})\s*[-–—:]\s*(?P<rest>\S.*)$")
# "[Google] ...", "[OpenAI/Anthropic] ..."
_COMPANIES = re.compile(r"^\[(?P<names>[^\]]{1,60})\]\s*(?P<rest>.*)$")
# "... Architecture (System Design)": a difficulty marker at the end of a heading
_TRAILING_MARKER = re.compile(rf"\((?P<marker>{MARKER_PATTERN})\)\s*$", re.IGNORECASE)
_SECTION_WORD = re.compile(r"^(?:section|part|chapter|module|round)\s+[\dIVX]+\b", re.IGNORECASE)
_SECTION_NOUN = re.compile(
    r"\b(?:questions|faqs?|checklist|quick reference|concepts|glossary)\b", re.IGNORECASE
)
_MD_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_FIELD_HEADING = re.compile(
    r"^(?:model answer|sample answer|expected answer|answer|expected depth|rubric|scoring|"
    r"follow[- ]?ups?(?: questions?)?|red[- ]?flags?(?: answers?)?|study|deep[- ]dive|"
    r"further reading|tags|topics|companies|strong(?: hire)?|lean(?: hire)?|no(?: hire)?)"
    r"\s*:?\s*$",
    re.IGNORECASE,
)
_BARE_QUESTION = re.compile(r"^question(?:\s*\d{1,4})?\s*[:.]?\s*$", re.IGNORECASE)
_ANSWER_LABEL = re.compile(r"^(?:model answer|answer|expected depth|a)\s*:", re.IGNORECASE)


@dataclass
class Heading:
    """A question heading: its label, prompt, and what it states about the question."""

    label: str
    number: int
    prompt: str
    level: str | None = None
    answer: str | None = None
    companies: list[str] = field(default_factory=list)
    context: str = ""  # e.g. the series name before "#33" ("LLM System Design Interview")
    quickfire: bool = False


def clean(text: str) -> tuple[str, bool]:
    """Strip what web pages add to a line: trailing pilcrows (section links) and bold marks."""
    text = text.rstrip()
    pilcrow = text.endswith("¶")
    text = text.rstrip("¶").rstrip()
    if text.startswith("**"):
        text = text.replace("**", "")
    return text, pilcrow


def markdown_heading(text: str) -> tuple[int, str] | None:
    match = _MD_HEADING.match(text)
    return (len(match.group("hashes")), match.group("text").strip()) if match else None


def is_field_heading(text: str) -> bool:
    return bool(_FIELD_HEADING.match(text))


def is_field_label(text: str) -> bool:
    """'Follow-ups' or '**Answer**' alone on a line (grade words alone are too ambiguous)."""
    return is_field_heading(text) and text.rstrip(": ").lower() not in ("strong", "lean", "no")


def is_bare_question(text: str) -> bool:
    """'## Question' or '## Question 3': the prompt is the paragraph under it."""
    return bool(_BARE_QUESTION.match(text))


def starts_answer(text: str) -> bool:
    return bool(_ANSWER_LABEL.match(text))


def labelled_heading(text: str) -> Heading | None:
    """Headings that carry their own label: Q12:, QF3:, 12. (Core), Series #33 - Title."""
    match = _QF.match(text)
    if match:
        return _quickfire(int(match.group("num")), match.group("rest"))
    match = _Q.match(text)
    if match and match.group("rest").strip():
        return _with_companies(
            Heading("Q" + match.group("num"), int(match.group("num")), ""), match.group("rest")
        )
    match = _MARKED.match(text)
    if match:
        level = marker_level(match.group("marker"))
        heading = Heading("Q" + match.group("num"), int(match.group("num")), "", level=level)
        return _with_companies(heading, match.group("rest"))
    match = _HASH.match(text)
    if match and len(text) <= 160 and not text.endswith(".") and len(text.split()) <= 20:
        number = int(match.group("num"))
        heading = Heading(
            f"#{number}", number, "", level="scenario", context=match.group("prefix").strip(" -–—:")
        )
        return _with_companies(heading, match.group("rest"))
    return None


def numbered(text: str) -> tuple[int, str] | None:
    """'12. Some title' -> (12, 'Some title'); used for doubled and plain numbered headings."""
    match = _NUMBERED.match(text)
    return (int(match.group("num")), match.group("rest").strip()) if match else None


def plain_heading(number: int, rest: str) -> Heading:
    return _with_companies(Heading(f"Q{number}", number, ""), rest)


def section_title(text: str, *, pilcrow: bool) -> bool:
    """Lines that open a section: 'Section 2 - ...', mkdocs titles (¶), 'Your Final Checklist'."""
    if pilcrow or _SECTION_WORD.match(text):
        return True
    if is_labelled(text):
        return False
    if len(text) > 70 or len(text.split()) > 8 or text[-1] in ".?!:;,":
        return False
    if text[0] in '-*•|>"“(' or (text[0].isdigit() and not _SECTION_NOUN.search(text)):
        return False
    return bool(level_in(text) or _SECTION_NOUN.search(text))


def _quickfire(number: int, rest: str) -> Heading:
    """'What is X? X is a ...' -> prompt 'What is X?', answer 'X is a ...'."""
    heading = _with_companies(Heading(f"QF{number}", number, "", level="quickfire"), rest)
    heading.quickfire = True
    prompt, mark, answer = heading.prompt.partition("? ")
    if mark:
        heading.prompt = prompt + "?"
        answer = answer.strip()
        heading.answer = (answer[2:] if answer.startswith("- ") else answer).strip() or None
    return heading


def _with_companies(heading: Heading, rest: str) -> Heading:
    rest = rest.strip()
    match = _COMPANIES.match(rest)
    if match:
        names = re.split(r"[/,&]|\band\b", match.group("names"))
        heading.companies = [s for s in (slug(name) for name in names) if s]
        rest = match.group("rest").strip()
    trailing = _TRAILING_MARKER.search(rest)
    if trailing and heading.level is None:
        heading.level = marker_level(trailing.group("marker"))
    heading.prompt = rest
    return heading

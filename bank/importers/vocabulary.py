"""The words in a question document that decide a question's level, track, time and topic.

Interview-prep documents say what kind of question follows in their section titles
("Section 2 - Technical Deep Dive", "Quick-Fire Questions (30 Seconds Each)") and in
difficulty markers ("12. (Advanced) ..."). Reading those words is not guessing: the
document states them. Anything the document does not state falls back to the options the
person running the import chose.
"""

from __future__ import annotations

import re

from bank.schema import LEVELS, MAX_TIME_LIMIT_S, MIN_TIME_LIMIT_S, TRACKS

# First match wins, so the more specific phrases come first.
_LEVEL_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (level, re.compile(pattern, re.IGNORECASE))
    for level, pattern in (
        ("quickfire", r"quick[- ]?fire|rapid[- ]?fire|quick[- ]reference|flash[- ]?cards?"),
        ("system-design", r"system[- ]design"),
        ("staff", r"\bstaff\b|\bsenior\b"),
        ("deep-dive", r"deep[- ]?dives?\b|\bon[- ]?site\b"),
        ("screening", r"\bscreen(?:ing)?s?\b"),
        ("research", r"\bresearch\b"),
        ("scenario", r"\bscenarios?\b|\btraps?\b"),
    )
)

# Difficulty markers such as "12. (Core) ..." and what they mean for the self-drill.
MARKER_LEVELS = {
    "core": "screening",
    "screening": "screening",
    "advanced": "deep-dive",
    "deep dive": "deep-dive",
    "system design": "system-design",
    "research": "research",
    "staff": "staff",
    "senior": "staff",
    "quick fire": "quickfire",
    "scenario": "scenario",
}
MARKER_PATTERN = "|".join(
    word.replace(" ", "[ -]?") for word in sorted(MARKER_LEVELS, key=len, reverse=True)
)
_MARKERS_SQUASHED = {word.replace(" ", ""): level for word, level in MARKER_LEVELS.items()}


def marker_level(word: str) -> str | None:
    """'System Design', 'deep-dive', 'Quickfire' -> the level that marker stands for."""
    return _MARKERS_SQUASHED.get(re.sub(r"[\s-]+", "", word.lower()))


_TRACK_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (track, re.compile(pattern, re.IGNORECASE))
    for track, pattern in (
        ("llm", r"\bLLMs?\b|large language models?|\blanguage models?\b"),
        ("ml-system-design", r"\b(?:ml|machine[- ]learning) system[- ]design\b"),
        ("deep-learning", r"\bdeep[- ]learning\b|\bneural networks?\b"),
        ("ai-engineering", r"\bAI[- ]engineer(?:s|ing)?\b"),
    )
)

_TIME = re.compile(r"\(\s*(\d{1,4})\s*(seconds?|secs?|s|minutes?|mins?|m)\b[^)]*\)", re.IGNORECASE)
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)

LEVEL_ALIASES = {
    "quick-fire": "quickfire",
    "quick fire": "quickfire",
    "rapid-fire": "quickfire",
    "deep dive": "deep-dive",
    "deepdive": "deep-dive",
    "system design": "system-design",
    "core": "screening",
    "advanced": "deep-dive",
    "senior": "staff",
}


def level_in(title: str) -> str | None:
    """The level a section title names, if it names one."""
    for level, pattern in _LEVEL_WORDS:
        if pattern.search(title):
            return level
    return None


def track_in(title: str) -> str | None:
    """The track a title names, if it names one (a link's text never counts)."""
    if _URL.search(title):
        return None
    for track, pattern in _TRACK_WORDS:
        if pattern.search(title):
            return track
    return None


def time_limit_in(title: str) -> int | None:
    """'Quick-Fire Questions (30 Seconds Each)' -> 30, when within the allowed range."""
    match = _TIME.search(title)
    if not match:
        return None
    amount = int(match.group(1))
    seconds = amount * 60 if match.group(2).lower().startswith("m") else amount
    return seconds if MIN_TIME_LIMIT_S <= seconds <= MAX_TIME_LIMIT_S else None


def normalise_level(value: str) -> str | None:
    """A level as people write it ('Deep dive', 'quick-fire') -> the schema's name, or None."""
    text = " ".join(value.strip().lower().replace("_", " ").split())
    text = LEVEL_ALIASES.get(text, text).replace(" ", "-")
    return text if text in LEVELS else None


def normalise_track(value: str) -> str | None:
    text = "-".join(value.strip().lower().replace("_", " ").split())
    aliases = {"dl": "deep-learning", "ai-engineer": "ai-engineering", "sd": "ml-system-design"}
    text = aliases.get(text, text)
    return text if text in TRACKS else None


def slug(text: str, *, max_length: int = 60) -> str:
    """Lowercase letters, digits and single dashes: usable in ids, tags and company names."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:max_length].rstrip("-")


def topic_of(title: str) -> str | None:
    """A section title that names a topic ('Word Embeddings') -> a tag ('word-embeddings').

    Titles that only describe the round ('Section 2 - Technical Deep Dive', 'Foundations
    (30 Questions)') are not topics.
    """
    text = re.sub(r"\([^)]*\)", " ", title)
    text = re.sub(r"^\s*(?:(?:section|part|chapter|module)\s+)?[\dIVX]+\s*[.:)\-–—]\s*", "", text)
    text = text.strip(" -–—:")
    words = text.split()
    if not words or len(words) > 5 or level_in(text) or re.search(r"question|faq", text, re.I):
        return None
    return slug(text, max_length=40) or None

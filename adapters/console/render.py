"""Core messages -> terminal text. Pure."""

from __future__ import annotations

import re

from bot.domain.grades import Grade
from bot.messages import (
    AnswerReveal,
    Image,
    LeaderboardView,
    Message,
    QuestionCard,
    ReviewDigest,
    Text,
    time_budget_label,
)

RULE = "─" * 8


def render(message: Message) -> str:
    match message:
        case QuestionCard():
            return _card(message)
        case ReviewDigest():
            return _digest(message)
        case AnswerReveal():
            return _reveal(message)
        case Text():
            return _plain(message.text)
        case LeaderboardView():
            return _leaderboard(message)
        case Image():
            return f"[image] {message.title or message.filename}"
    raise TypeError(f"cannot render {type(message).__name__}")


def _plain(text: str) -> str:
    """Drop the light markup: *bold* and `code` read fine without their marks."""
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)
    return re.sub(r"`([^`\n]+)`", r"\1", text)


def _card_lines(card: QuestionCard, *, grade_with: str) -> list[str]:
    """A card's lines, alone or as an item of a digest; `grade_with` is the word that
    grades it (``react`` for a card of its own, ``/grade`` for a digest's item)."""
    heading = f" · {card.heading}" if card.heading else ""
    companies = f" · asked at {', '.join(card.companies)}" if card.companies else ""
    return [
        f"{RULE} card #{card.post_id}{heading} {RULE}",
        f"{card.track} · {card.level} · {time_budget_label(card.time_limit_s)}"
        f" · {card.question_id}{companies}",
        f"Q: {card.prompt}",
        f"   reveal: /reveal {card.post_id}   grade: {grade_with} {card.post_id} strong|lean|no",
    ]


def _card(card: QuestionCard) -> str:
    return "\n".join(_card_lines(card, grade_with="react"))


def _digest(digest: ReviewDigest) -> str:
    """Each review as its card, graded with /grade: the digest is one message, so a
    reaction to it could not say which review it grades."""
    lines = [digest.title]
    for item in digest.items:
        lines += _card_lines(item, grade_with="/grade")
    return "\n".join(lines)


def _reveal(reveal: AnswerReveal) -> str:
    lines = [f"{RULE} answer to card #{reveal.post_id} ({reveal.question_id}) {RULE}"]
    lines.append(f"Q: {reveal.prompt}")
    lines.append("Model answer:")
    lines.extend(f"  {line}" for line in reveal.answer.splitlines())
    lines.append("Rubric:")
    for grade in Grade:
        lines.append(f"  {grade.emoji} {grade.label}: {reveal.rubric[grade]}")
    if reveal.follow_ups:
        lines.append("Follow-ups:")
        lines.extend(f"  - {item}" for item in reveal.follow_ups)
    if reveal.red_flags:
        lines.append("Red flags:")
        lines.extend(f"  - {item}" for item in reveal.red_flags)
    if reveal.study:
        lines.append(f"Study after a No Hire: {reveal.study}")
    lines.append(f"   grade: react {reveal.post_id} strong|lean|no")
    return "\n".join(lines)


def _leaderboard(view: LeaderboardView) -> str:
    lines = [view.title]
    if not view.rows:
        lines.append("  (no completed mock rounds that week)")
    for row in view.rows:
        mean = "-" if row.mean_grade is None else f"{row.mean_grade:.2f}"
        rounds = "round " if row.completed == 1 else "rounds"
        lines.append(
            f"  {row.rank:>3}. {row.display_name:<24} {row.completed:>3} {rounds}"
            f"  streak {row.streak_weeks}w  mean grade {mean}"
        )
    return "\n".join(lines)

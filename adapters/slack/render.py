"""Core messages -> Slack message payloads (Block Kit). Pure: no I/O, no client.

Every payload has a plain `text` (what notifications and screen readers show) and
`blocks`. Cards get a header with track, level and time budget, the prompt, and the
buttons Reveal answer / Strong / Lean / No Hire; each button's action id and value carry
the card's post id, so a press is understood without any state kept between requests.
A review digest is several cards in one message: each item keeps its own buttons, so it
is revealed and graded on its own exactly like a lone card.

Slack has one slash command, `/drill`, and every core command is a subcommand of it:
`/drill quickfire 10`, `/drill subscribe 07:45`. Text from the core names commands the
neutral way (`/quickfire`, `/drillbot subscribe`), so it is rewritten to the Slack form
here, derived from the catalog like everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.commands import CORE_COMMANDS, CommandCatalog
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

SLASH_COMMAND = "/drill"
"""The one slash command the app registers (deploy/slack/manifest*.yml)."""

DEFAULT_COMMAND = "drill"
"""What `/drill` alone, or followed only by arguments (`/drill 5 track=llm`), runs."""

ACTION_PREFIX = "drillbot"
REVEAL = "reveal"
CARD_ACTION = re.compile(
    rf"^{ACTION_PREFIX}:(?P<action>{REVEAL}|{'|'.join(g.value for g in Grade)}):(?P<post_id>\d+)$"
)
"""Action ids of card buttons: ``drillbot:reveal:42``, ``drillbot:strong:42`` ..."""

# Slack's published Block Kit limits.
HEADER_MAX = 150
SECTION_MAX = 3000
CONTEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
FALLBACK_MAX = 3000
MAX_BLOCKS = 50

DIGEST_PROMPTS_MAX = 9000
"""Prompt text one review digest carries, shared by its items. Slack rejects a message
whose blocks hold more than about 13,000 characters in all (`msg_blocks_too_long`, a
limit it does not document), well before 50 sections of 3000 would be reached."""
SUMMARY_MAX = 150
"""A digest item's line in the fallback text: short enough that every card is named."""

GRADE_STYLES = {Grade.STRONG: "primary", Grade.LEAN: None, Grade.NO: "danger"}


# ---- commands, the Slack way -------------------------------------------------------------


def group_words(catalog: CommandCatalog) -> tuple[str, ...]:
    """First words that only group other commands (``drillbot``): Slack drops them, so
    `/drillbot subscribe` is `/drill subscribe`."""
    single = {command.path[0] for command in catalog if len(command.path) == 1}
    groups: list[str] = []
    for command in catalog:
        word = command.path[0]
        if len(command.path) > 1 and word not in single and word not in groups:
            groups.append(word)
    return tuple(groups)


def slack_words(path: tuple[str, ...], catalog: CommandCatalog) -> tuple[str, ...]:
    """The words after `/drill` that run the command with this core path."""
    if path == (DEFAULT_COMMAND,):
        return ()
    if path[0] in group_words(catalog):
        return path[1:]
    return path


def slack_usage(path: tuple[str, ...], catalog: CommandCatalog = CORE_COMMANDS) -> str:
    command = catalog.get(" ".join(path))
    if command is None:
        raise KeyError(path)
    words = [SLASH_COMMAND, *slack_words(path, catalog), *(p.usage() for p in command.params)]
    return " ".join(words)


def _command_pattern(catalog: CommandCatalog) -> re.Pattern[str]:
    tops: list[str] = []
    for command in catalog:
        if command.path[0] not in tops:
            tops.append(command.path[0])
    names = "|".join(re.escape(top) for top in sorted(tops, key=len, reverse=True))
    return re.compile(rf"(?<![\w/<:.])/(?P<top>{names})(?![\w-])")


def slack_commands(text: str, *, catalog: CommandCatalog = CORE_COMMANDS) -> str:
    """Rewrite command names in core text to what a Slack member types."""
    groups = group_words(catalog)

    def replace(match: re.Match[str]) -> str:
        top = match["top"]
        if top == DEFAULT_COMMAND or top in groups:
            return SLASH_COMMAND
        return f"{SLASH_COMMAND} {top}"

    return _command_pattern(catalog).sub(replace, text)


# ---- text --------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters; everything else is taken literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, *, catalog: CommandCatalog = CORE_COMMANDS) -> str:
    """Core light markup as Slack mrkdwn: `*bold*` and `code` carry over, `- ` bullets
    become •, and commands are named the Slack way."""
    text = slack_commands(escape(text), catalog=catalog)
    return re.sub(r"(?m)^(\s*)- ", r"\1• ", text)


def plain(text: str, *, catalog: CommandCatalog = CORE_COMMANDS) -> str:
    """Fallback text for notifications: the markup marks dropped."""
    text = slack_commands(text, catalog=catalog)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)
    return re.sub(r"`([^`\n]+)`", r"\1", text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chunks(text: str, limit: int = SECTION_MAX) -> Iterator[str]:
    """Split on line breaks (or hard, for a very long line) into pieces Slack accepts."""
    piece = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if piece:
                yield piece
                piece = ""
            yield line[:limit]
            line = line[limit:]
        candidate = f"{piece}\n{line}" if piece else line
        if len(candidate) > limit:
            yield piece
            piece = line
        else:
            piece = candidate
    if piece.strip():
        yield piece


# ---- blocks ------------------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True},
    }


def _sections(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in chunks(text)]


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, CONTEXT_MAX)}]}


def card_action_id(action: str, post_id: int) -> str:
    return f"{ACTION_PREFIX}:{action}:{post_id}"


def parse_card_action(action_id: str) -> tuple[str, int] | None:
    """(``reveal`` or a grade value, post id) from a card button's action id."""
    match = CARD_ACTION.fullmatch(action_id or "")
    if match is None:
        return None
    return match["action"], int(match["post_id"])


def _button(text: str, *, action: str, post_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_MAX), "emoji": True},
        "action_id": card_action_id(action, post_id),
        "value": str(post_id),
    }
    if style:
        button["style"] = style
    return button


def grade_buttons(post_id: int, *, reveal: bool) -> dict[str, Any]:
    elements = [_button("Reveal answer", action=REVEAL, post_id=post_id)] if reveal else []
    elements += [
        _button(
            f"{grade.emoji} {grade.label}",
            action=grade.value,
            post_id=post_id,
            style=GRADE_STYLES[grade],
        )
        for grade in Grade
    ]
    kind = "card" if reveal else "answer"
    return {
        "type": "actions",
        "block_id": f"{ACTION_PREFIX}-{kind}-{post_id}",
        "elements": elements,
    }


def _payload(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """`text` is raw core text: escaped here, as Slack reads it as mrkdwn too."""
    if len(blocks) > MAX_BLOCKS:  # keep the head and the buttons at the end
        blocks = [*blocks[: MAX_BLOCKS - 2], _context("(shortened)"), blocks[-1]]
    return {"text": clip(escape(text), FALLBACK_MAX), "blocks": blocks}


def _card_line(card: QuestionCard, *, face: bool) -> str:
    """A card's context line: number, heading, question id and companies. `face` adds
    track, level and budget, which a lone card shows in its header instead."""
    details = [f"*Card #{card.post_id}*"]
    if card.heading:
        details.append(escape(card.heading))
    if face:
        details += [escape(card.track), escape(card.level), time_budget_label(card.time_limit_s)]
    details.append(f"`{escape(card.question_id)}`")
    if card.companies:
        details.append("asked at " + escape(", ".join(card.companies)))
    return " · ".join(details)


def _card_summary(card: QuestionCard) -> str:
    """A card in plain text, for notifications."""
    budget = time_budget_label(card.time_limit_s)
    return f"Card #{card.post_id} ({card.track} · {card.level} · {budget}): {card.prompt}"


def _card(card: QuestionCard) -> dict[str, Any]:
    budget = time_budget_label(card.time_limit_s)
    blocks = [
        _header(f"{card.track} · {card.level} · {budget}"),
        _context(_card_line(card, face=False)),
        *_sections(escape(card.prompt)),
        grade_buttons(card.post_id, reveal=True),
        _context(
            "Answer out loud or on paper, then grade yourself: react "
            + " ".join(grade.emoji for grade in Grade)
            + " or press a button."
        ),
    ]
    return _payload(_card_summary(card), blocks)


def _clip_escaped(text: str, limit: int) -> str:
    """`text` escaped and clipped, without leaving half an entity (``&am…``) at the cut."""
    return re.sub(r"&[a-z]{0,3}…$", "…", clip(escape(text), limit))


def _digest(digest: ReviewDigest) -> dict[str, Any]:
    """One message, one block of buttons per review: a press carries that item's post id,
    so the existing card path reveals and grades it. Reactions are not offered, as one
    reaction on the message could not say which review it grades."""
    heading = digest.title
    # One section per prompt keeps the message at 2 + 3 blocks a review.
    room = min(SECTION_MAX, DIGEST_PROMPTS_MAX // max(len(digest.items), 1))
    blocks = [_header(heading)]
    for item in digest.items:
        blocks += [
            _context(_card_line(item, face=True)),
            *_sections(_clip_escaped(item.prompt, room)),
            grade_buttons(item.post_id, reveal=True),
        ]
    blocks.append(
        _context(
            "Answer each review out loud or on paper, then press its own *Reveal answer* "
            "and grade it with the buttons under it: "
            + " / ".join(f"{grade.emoji} {grade.label}" for grade in Grade)
            + "."
        )
    )
    lines = [clip(_card_summary(item), SUMMARY_MAX) for item in digest.items]
    return _payload("\n".join([heading, *lines]), blocks)


def _reveal(reveal: AnswerReveal) -> dict[str, Any]:
    blocks = [
        _header(f"Answer · card #{reveal.post_id}"),
        _context(f"`{escape(reveal.question_id)}`"),
        *_sections(f"*Q:* {escape(reveal.prompt)}"),
        *_sections(f"*Model answer*\n{escape(reveal.answer)}"),
        *_sections(
            "*Rubric*\n"
            + "\n".join(
                f"{grade.emoji} *{grade.label}*: {escape(reveal.rubric[grade])}"
                for grade in Grade
                if grade in reveal.rubric
            )
        ),
    ]
    if reveal.follow_ups:
        items = "\n".join(f"• {escape(item)}" for item in reveal.follow_ups)
        blocks += _sections(f"*Follow-ups*\n{items}")
    if reveal.red_flags:
        items = "\n".join(f"• {escape(item)}" for item in reveal.red_flags)
        blocks += _sections(f"*Red flags*\n{items}")
    if reveal.study:
        blocks += _sections(f"*Study after a No Hire:* {escape(reveal.study)}")
    blocks.append(grade_buttons(reveal.post_id, reveal=False))
    text = f"Answer to card #{reveal.post_id}: {reveal.answer}"
    return _payload(text, blocks)


def _text(message: Text, catalog: CommandCatalog) -> dict[str, Any]:
    return _payload(
        plain(message.text, catalog=catalog), _sections(mrkdwn(message.text, catalog=catalog))
    )


def _leaderboard(view: LeaderboardView) -> dict[str, Any]:
    if not view.rows:
        lines = ["No completed mock rounds yet."]
    else:
        lines = []
        for row in view.rows:
            mean = "-" if row.mean_grade is None else f"{row.mean_grade:.2f}"
            rounds = "round" if row.completed == 1 else "rounds"
            lines.append(
                f"{row.rank}. *{escape(row.display_name)}*: {row.completed} {rounds}"
                f" · streak {row.streak_weeks} wk · mean grade {mean}"
            )
    body = "\n".join(lines)
    return _payload(f"{view.title}\n{body}", [_header(view.title), *_sections(body)])


def render(message: Message, *, catalog: CommandCatalog = CORE_COMMANDS) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage, chat.update, chat.postEphemeral and
    response URLs. An Image is uploaded as a file by the port; its text stands in."""
    match message:
        case QuestionCard():
            return _card(message)
        case ReviewDigest():
            return _digest(message)
        case AnswerReveal():
            return _reveal(message)
        case Text():
            return _text(message, catalog)
        case LeaderboardView():
            return _leaderboard(message)
        case Image():
            return {"text": message.title or message.filename, "blocks": []}
    raise TypeError(f"cannot render {type(message).__name__}")

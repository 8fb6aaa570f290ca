"""Core messages -> what discord.py sends: content, an embed, buttons, a file. Pure.

Cards become embeds with four persistent buttons (Reveal, Strong, Lean, No Hire). Each
button is a `CardButton`, a discord.py `DynamicItem` whose custom id carries the action
and the post id, so a press is understood from the id alone, after any restart and on
any replica, without keeping a view in memory. A review digest lists several cards in
one embed and gives each its own row of those buttons, so each review is revealed and
graded on its own.

Discord's limits are enforced here rather than discovered as a 400: 2000 characters of
content, 4096 of embed description, 1024 per field, 6000 per embed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

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

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
TITLE_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
ROWS_LIMIT = 5
"""Action rows a message may have: one per card, so at most five cards' buttons."""

CARD_BUTTON_TEMPLATE = r"drillbot:card:(?P<action>reveal|strong|lean|no):(?P<post_id>[0-9]{1,19})"
"""The custom id of every card button: the action and the post id it acts on."""

CARD_COLOUR = discord.Colour(0x5865F2)
REVEAL_COLOUR = discord.Colour(0x57F287)
BOARD_COLOUR = discord.Colour(0xFEE75C)

_STYLES = {
    "reveal": discord.ButtonStyle.primary,
    Grade.STRONG.value: discord.ButtonStyle.success,
    Grade.LEAN.value: discord.ButtonStyle.secondary,
    Grade.NO.value: discord.ButtonStyle.danger,
}


def card_button_id(*, action: str, post_id: int) -> str:
    return f"drillbot:card:{action}:{post_id}"


class CardButton(discord.ui.DynamicItem[discord.ui.Button], template=CARD_BUTTON_TEMPLATE):
    """Reveal / Strong / Lean / No Hire on a card, rebuilt from its custom id on every press.

    The press itself is handled by the client (`card_button_pressed`), which owns the
    core; the button only knows what it is.
    """

    def __init__(
        self, *, action: str, post_id: int, row: int | None = None, name_card: bool = False
    ) -> None:
        """`row`: the action row (0-4) to sit in; `name_card`: say which card Reveal is
        for, where a message carries several cards' buttons."""
        if action == "reveal":
            label, emoji = f"Reveal card #{post_id}" if name_card else "Reveal answer", "📖"
        else:
            grade = Grade(action)
            label, emoji = grade.label, grade.emoji
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=_STYLES[action],
                custom_id=card_button_id(action=action, post_id=post_id),
                row=row,
            )
        )
        self.action = action
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /
    ) -> CardButton:
        return cls(action=match["action"], post_id=int(match["post_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = getattr(interaction.client, "card_button_pressed", None)
        if handler is not None:
            await handler(interaction, action=self.action, post_id=self.post_id)


@dataclass(frozen=True)
class Rendered:
    """One Discord message: the parts discord.py's send, edit and followup calls take."""

    content: str | None = None
    embed: discord.Embed | None = None
    buttons: tuple[tuple[str, int], ...] = ()  # (action, post id) per CardButton
    file: Image | None = None

    def view(self) -> discord.ui.View | None:
        """Each card's buttons in a row of their own, in the order the cards come.

        Left to itself, discord.py fills rows five buttons at a time, which would put one
        card's grades beside the next card's Reveal in a digest.
        """
        if not self.buttons:
            return None
        rows: dict[int, int] = {}
        for _, post_id in self.buttons:
            rows.setdefault(post_id, len(rows))
        view = discord.ui.View(timeout=None)
        for action, post_id in self.buttons:
            view.add_item(
                CardButton(
                    action=action, post_id=post_id, row=rows[post_id], name_card=len(rows) > 1
                )
            )
        return view

    def discord_file(self) -> discord.File | None:
        if self.file is None:
            return None
        return discord.File(io.BytesIO(self.file.png), filename=self.file.filename)

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `Messageable.send` and `Webhook.send`."""
        kwargs: dict[str, Any] = {}
        if self.content is not None:
            kwargs["content"] = self.content
        if self.embed is not None:
            kwargs["embed"] = self.embed
        view = self.view()
        if view is not None:
            kwargs["view"] = view
        file = self.discord_file()
        if file is not None:
            kwargs["file"] = file
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for editing a message into this one, replacing every part."""
        file = self.discord_file()
        return {
            "content": self.content,
            "embed": self.embed,
            "view": self.view(),
            "attachments": [file] if file is not None else [],
        }


def render(message: Message, *, renames: Mapping[str, str] | None = None) -> Rendered:
    """`renames`: core command names that Discord spells differently (``mock status`` is
    ``/mock-status`` there), so texts such as /help name what members can type."""
    match message:
        case QuestionCard():
            return _card(message)
        case ReviewDigest():
            return _digest(message)
        case AnswerReveal():
            return _reveal(message)
        case Text():
            return _text(rename_commands(message.text, renames or {}))
        case LeaderboardView():
            return _leaderboard(message)
        case Image():
            title = f"**{clip(message.title, 200)}**" if message.title else None
            return Rendered(content=title, file=message)
    raise TypeError(f"cannot render {type(message).__name__}")


def rename_commands(text: str, renames: Mapping[str, str]) -> str:
    for core in sorted(renames, key=len, reverse=True):
        text = re.sub(rf"/{re.escape(core)}(?![\w-])", f"/{renames[core]}", text)
    return text


def markup(text: str) -> str:
    """The core's light markup in Discord's: `*bold*` is `**bold**` there."""
    return re.sub(r"(?<![*\w])\*(?=\S)([^*\n]*?\S)\*(?![*\w])", r"**\1**", text)


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def literal(text: str) -> str:
    """Question text shown as written.

    Indented code becomes a code block and inline `code` stays code; nothing else turns
    into Discord formatting by accident (``rho*s^2 + (1 - rho)*s^2``, ``top_p`` and
    ``top_k``, a ``#`` at the start of a line).
    """
    lines: list[str] = []
    code: list[str] = []

    def close_code() -> None:
        if code:
            lines.append("```\n" + "\n".join(line[4:] for line in code) + "\n```")
            code.clear()

    for line in text.split("\n"):
        if line.startswith("    ") and line.strip():
            code.append(line)
            continue
        close_code()
        parts = _CODE_SPAN.split(line)
        escaped = "".join(
            part if index % 2 else re.sub(r"([\\*_~|])", r"\\\1", part)
            for index, part in enumerate(parts)
        )
        lines.append(re.sub(r"^(\s*)([#>])", r"\1\\\2", escaped))
    close_code()
    return "\n".join(lines)


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut (and closing a cut code block)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip() + "…"
    if cut.count("```") % 2:
        cut = text[: limit - 6].rstrip() + "…\n```"
    return cut


def _grade_buttons(post_id: int) -> tuple[tuple[str, int], ...]:
    return tuple((grade.value, post_id) for grade in Grade)


def _card_buttons(post_id: int) -> tuple[tuple[str, int], ...]:
    return (("reveal", post_id), *_grade_buttons(post_id))


def _card(card: QuestionCard) -> Rendered:
    heading = f" · {card.heading}" if card.heading else ""
    details = [card.track, card.level, time_budget_label(card.time_limit_s), card.question_id]
    if card.companies:
        details.append("asked at " + ", ".join(card.companies))
    embed = discord.Embed(
        title=clip(f"Card #{card.post_id}{heading}", TITLE_LIMIT),
        description=clip(literal(card.prompt), DESCRIPTION_LIMIT),
        colour=CARD_COLOUR,
    )
    embed.add_field(
        name="How",
        value=(
            f"Answer out loud or on paper within {time_budget_label(card.time_limit_s)}, "
            "press *Reveal answer*, then grade yourself with a button or a reaction: "
            "🟢 Strong / 🟡 Lean / 🔴 No Hire."
        ),
        inline=False,
    )
    embed.set_footer(text=clip(" · ".join(details), 2048))
    return Rendered(embed=embed, buttons=_card_buttons(card.post_id))


def _digest(digest: ReviewDigest) -> Rendered:
    """The reviews numbered in one embed, and a row of buttons per review, in order.

    The prompts share the description (see `_shares`). Reactions are not offered: one
    reaction on the message could not say which review it grades.
    """
    if len(digest.items) > ROWS_LIMIT:  # the core sends at most REVIEWS_PER_MESSAGE
        raise ValueError(f"{len(digest.items)} reviews need more than {ROWS_LIMIT} button rows")
    heads = []
    for number, item in enumerate(digest.items, start=1):
        heading = f" · {literal(item.heading)}" if item.heading else ""
        face = " · ".join(
            [literal(item.track), literal(item.level), time_budget_label(item.time_limit_s)]
        )
        heads.append(f"**{number}. Card #{item.post_id}**{heading} · {face} · `{item.question_id}`")
    prompts = [literal(item.prompt) for item in digest.items]
    # The numbered heads and line breaks first; the prompts share what they leave.
    room = DESCRIPTION_LIMIT - sum(len(head) + 3 for head in heads)
    description = "\n\n".join(
        f"{head}\n{clip(prompt, max(share, 1))}"
        for head, prompt, share in zip(
            heads, prompts, _shares([len(p) for p in prompts], room), strict=True
        )
    )
    embed = discord.Embed(
        title=clip(digest.title, TITLE_LIMIT),
        description=clip(description, DESCRIPTION_LIMIT),
        colour=CARD_COLOUR,
    )
    embed.set_footer(
        text="Each row of buttons is one review, in this order: press its Reveal, "
        "then grade it 🟢 Strong / 🟡 Lean / 🔴 No Hire."
    )
    buttons = tuple(button for item in digest.items for button in _card_buttons(item.post_id))
    return Rendered(embed=embed, buttons=buttons)


def _shares(lengths: Sequence[int], total: int) -> list[int]:
    """How much of `total` characters each of several texts gets: short ones whole, and
    the long ones an equal part of what the short ones leave, so one long prompt does not
    cut the others short."""
    shares = [0] * len(lengths)
    left, count = total, len(lengths)
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        shares[index] = min(lengths[index], left // count)
        left -= shares[index]
        count -= 1
    return shares


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {literal(item)}" for item in items)


def _reveal(reveal: AnswerReveal) -> Rendered:
    fields: list[tuple[str, str]] = [
        (f"{grade.emoji} {grade.label}", literal(reveal.rubric.get(grade, "") or "-"))
        for grade in Grade
    ]
    if reveal.follow_ups:
        fields.append(("Follow-ups", _bullets(reveal.follow_ups)))
    if reveal.red_flags:
        fields.append(("Red flags", _bullets(reveal.red_flags)))
    if reveal.study:
        fields.append(("Study after a No Hire", literal(reveal.study)))
    fields = [(name, clip(value, FIELD_LIMIT)) for name, value in fields]
    title = clip(f"Answer to card #{reveal.post_id} ({reveal.question_id})", TITLE_LIMIT)
    footer = "Grade yourself: 🟢 Strong / 🟡 Lean / 🔴 No Hire"
    used = len(title) + len(footer) + sum(len(name) + len(value) for name, value in fields)
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used)
    question = f"**Q:** {literal(reveal.prompt)}\n\n"
    description = question + literal(reveal.answer)
    if len(description) > room:
        description = clip(description, max(room, len(question) + 1))
    embed = discord.Embed(title=title, description=description, colour=REVEAL_COLOUR)
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=footer)
    return Rendered(embed=embed, buttons=_grade_buttons(reveal.post_id))


def _text(text: str) -> Rendered:
    body = markup(text)
    if len(body) <= CONTENT_LIMIT:
        return Rendered(content=body)
    # Long texts (help, stats) read better as an embed, which also holds twice as much.
    return Rendered(embed=discord.Embed(description=clip(body, DESCRIPTION_LIMIT)))


def _leaderboard(view: LeaderboardView) -> Rendered:
    lines = []
    for row in view.rows:
        mean = "-" if row.mean_grade is None else f"{row.mean_grade:.2f}"
        rounds = "round" if row.completed == 1 else "rounds"
        lines.append(
            f"**{row.rank}.** {discord.utils.escape_markdown(row.display_name)}: "
            f"{row.completed} {rounds} · streak {row.streak_weeks} w · mean grade {mean}"
        )
    description = "\n".join(lines) if lines else "No completed mock rounds yet."
    embed = discord.Embed(
        title=clip(view.title, TITLE_LIMIT),
        description=clip(description, DESCRIPTION_LIMIT),
        colour=BOARD_COLOUR,
    )
    return Rendered(embed=embed)

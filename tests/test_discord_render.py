"""Rendering core messages for Discord and translating discord.py objects: both pure."""

from __future__ import annotations

import re

import discord
import pytest

from adapters.discord.app import command_renames
from adapters.discord.render import (
    CARD_BUTTON_TEMPLATE,
    CardButton,
    literal,
    markup,
    render,
)
from adapters.discord.translate import parse_card_button, reaction_event
from bank.loader import load_bank
from bot.commands import CORE_COMMANDS, help_text
from bot.domain.grades import Grade, GradeVocabulary
from bot.events import ReactionAdded, ReactionRemoved
from bot.messages import (
    AnswerReveal,
    Image,
    LeaderboardRow,
    LeaderboardView,
    QuestionCard,
    QuestionFace,
    ReviewDigest,
    Text,
)
from tests.cards import review
from tests.discord_fakes import BOT_ID, load_fixture

USER, CHANNEL, MESSAGE, GUILD = 1300000000000000500, 1300000000000000800, 1300000000000000900, 1


def within_discord_limits(embed: discord.Embed) -> None:
    assert len(embed) <= 6000
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert 0 < len(field.value) <= 1024 and len(field.name) <= 256
    assert len(embed.footer.text or "") <= 2048


@pytest.mark.parametrize("question", list(load_bank([])), ids=lambda q: q.id)
def test_every_bundled_question_fits_as_card_and_answer(question) -> None:
    card = render(
        QuestionCard(
            post_id=123456,
            question=QuestionFace(
                question_id=question.id,
                track=question.track,
                level=question.level,
                time_limit_s=question.time_budget_s,
                prompt=question.prompt,
                companies=tuple(question.companies),
            ),
            heading="Drill 1/3 · new",
        )
    )
    rubric = question.rubric
    reveal = render(
        AnswerReveal(
            post_id=123456,
            question_id=question.id,
            prompt=question.prompt,
            answer=question.answer,
            rubric={Grade.STRONG: rubric.strong, Grade.LEAN: rubric.lean, Grade.NO: rubric.no},
            follow_ups=tuple(question.follow_ups),
            red_flags=tuple(question.red_flags),
            study=question.study or "",
        )
    )

    within_discord_limits(card.embed)
    within_discord_limits(reveal.embed)
    assert card.embed.description.count("```") % 2 == 0
    assert reveal.embed.description.count("```") % 2 == 0
    assert [action for action, _ in card.buttons] == ["reveal", "strong", "lean", "no"]
    assert [action for action, _ in reveal.buttons] == ["strong", "lean", "no"]


def test_card_buttons_are_persistent_and_carry_the_post_id() -> None:
    rendered = render(
        QuestionCard(
            post_id=42,
            question=QuestionFace(
                question_id="q",
                track="llm",
                level="screening",
                time_limit_s=120,
                prompt="Why?",
            ),
        )
    )
    view = rendered.view()

    ids = [item.custom_id for item in view.children]
    assert ids == [f"drillbot:card:{a}:42" for a in ("reveal", "strong", "lean", "no")]
    assert all(isinstance(item, CardButton) for item in view.children)
    assert view.timeout is None
    assert [parse_card_button(i) for i in ids] == [
        (a, 42) for a in ("reveal", "strong", "lean", "no")
    ]
    assert all(re.fullmatch(CARD_BUTTON_TEMPLATE, i) for i in ids)
    assert parse_card_button("someone-else:button") is None
    labels = [item.item.label for item in view.children]
    assert labels == ["Reveal answer", "Strong Hire", "Lean Hire", "No Hire"]
    assert len(view.to_components()) == 1  # one row


def rows_of(rendered) -> list[list[tuple[str, int]]]:
    """(action, post id) of each button, row by row, as discord.py sends the view."""
    return [
        [parse_card_button(button["custom_id"]) for button in row["components"]]
        for row in rendered.view().to_components()
    ]


def test_a_digest_gives_each_review_a_row_of_its_own_buttons() -> None:
    digest = ReviewDigest(items=tuple(review(post_id) for post_id in range(101, 106)))
    rendered = render(digest)

    within_discord_limits(rendered.embed)
    assert rendered.embed.title == "Reviews due · 5"
    for number, item in enumerate(digest.items, start=1):
        head = f"**{number}. Card #{item.post_id}** · review {number}/5 · llm · screening · 2 min"
        assert f"{head} · `llm-q{item.post_id}`\nWhy does attention" in rendered.embed.description
    assert rows_of(rendered) == [
        [(action, item.post_id) for action in ("reveal", "strong", "lean", "no")]
        for item in digest.items
    ]
    labels = [b.item.label for b in rendered.view().children if b.post_id == 103]
    assert labels == ["Reveal card #103", "Strong Hire", "Lean Hire", "No Hire"]
    assert "view" in rendered.send_kwargs() and rendered.edit_kwargs()["view"] is not None


def test_a_digest_of_long_prompts_fits_discords_limits() -> None:
    code = "Explain:\n" + "\n".join(f"    line_{n} = f(x) * {n}" for n in range(400))
    prompts = ("x" * 5000, code, "*" * 5000, "y" * 500, "z" * 3000)
    digest = ReviewDigest(
        items=tuple(review(101 + n, prompt) for n, prompt in enumerate(prompts)),
        heading="Reviews due · " + "t" * 300,
    )
    rendered = render(digest)

    within_discord_limits(rendered.embed)
    description = rendered.embed.description
    assert description.count("```") % 2 == 0
    assert all(f"Card #{item.post_id}**" in description for item in digest.items)
    assert "y" * 500 + "\n" in description  # a short prompt is not cut for the long ones
    assert len(description) > 4000  # and what it leaves goes to the long ones
    assert [{post_id for _, post_id in row} for row in rows_of(rendered)] == [
        {101},
        {102},
        {103},
        {104},
        {105},
    ]


def test_more_reviews_than_discord_has_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="6 reviews"):
        render(ReviewDigest(items=tuple(review(post_id) for post_id in range(101, 107))))


def test_core_markup_becomes_discord_markup() -> None:
    assert markup("*Daily drill*: 08:30 and `code`") == "**Daily drill**: 08:30 and `code`"
    assert markup("2 * 3 * 4") == "2 * 3 * 4"


def test_question_text_is_shown_as_written() -> None:
    text = "Loss is rho*s^2 + (1 - rho)*s^2; tune top_p.\n# not a heading\nCode:\n    x = a * b"
    assert literal(text) == (
        "Loss is rho\\*s^2 + (1 - rho)\\*s^2; tune top\\_p.\n\\# not a heading\nCode:\n"
        "```\nx = a * b\n```"
    )
    assert literal("stop after `patience` epochs") == "stop after `patience` epochs"


def test_help_names_commands_as_discord_spells_them() -> None:
    renames = command_renames(CORE_COMMANDS)
    rendered = render(Text(text=help_text(CORE_COMMANDS)), renames=renames)
    shown = rendered.content or rendered.embed.description

    for core, spelled in renames.items():
        assert f"/{spelled}" in shown and f"/{core}`" not in shown and f"/{core} " not in shown
    assert "/drillbot channel daily" in shown and "/drill [count]" in shown


def test_long_texts_become_an_embed_and_short_ones_stay_plain() -> None:
    help_message = render(Text(text=help_text(CORE_COMMANDS) * 2))
    short = render(Text(text="*Removed* your grade."))

    assert help_message.content is None and len(help_message.embed.description) <= 4096
    assert short.content == "**Removed** your grade." and short.embed is None


def test_leaderboard_and_images() -> None:
    board = render(
        LeaderboardView(
            title="Mock rounds, 2026-W48",
            rows=(
                LeaderboardRow(
                    rank=1, display_name="a_b", completed=3, streak_weeks=2, mean_grade=0.75
                ),
            ),
        )
    )
    empty = render(LeaderboardView(title="Mock rounds, 2026-W48"))
    chart = render(Image(png=b"png", filename="w48.png", title="This week"))

    assert "a\\_b" in board.embed.description and "3 rounds" in board.embed.description
    assert "No completed mock rounds yet" in empty.embed.description
    assert chart.content == "**This week**" and chart.discord_file().filename == "w48.png"


def reaction(name: str, **values) -> discord.RawReactionActionEvent:
    """What discord.py builds from a recorded MESSAGE_REACTION_ADD / _REMOVE payload."""
    frame = load_fixture(name, **values)
    kind = "REACTION_ADD" if frame["t"] == "MESSAGE_REACTION_ADD" else "REACTION_REMOVE"
    return discord.RawReactionActionEvent(
        frame["d"], discord.PartialEmoji.from_dict(frame["d"]["emoji"]), kind
    )


def translate(payload, **overrides):
    return reaction_event(
        payload,
        bot_user_id=BOT_ID,
        vocabulary=GradeVocabulary(),
        team_ref="app",
        admin_user_ids=frozenset(),
        event_id="gateway:s:1",
        **overrides,
    )


def test_a_guild_reaction_is_a_grade_in_that_channel() -> None:
    payload = reaction(
        "message_reaction_add_guild",
        user_id=USER,
        channel_id=CHANNEL,
        message_id=MESSAGE,
        guild_id=GUILD,
        emoji="🟡",
        bot_id=BOT_ID,
    )

    event = translate(payload)

    assert isinstance(event, ReactionAdded)
    assert event.grade is Grade.LEAN and event.message_ref == str(MESSAGE)
    assert event.conversation.channel_ref == str(CHANNEL) and not event.conversation.is_dm
    assert event.actor.user_ref == str(USER) and event.actor.team_ref == "app"


def test_a_dm_reaction_removed_takes_that_grade_back() -> None:
    payload = reaction(
        "message_reaction_remove_dm",
        user_id=USER,
        channel_id=CHANNEL,
        message_id=MESSAGE,
        emoji="🔴",
    )

    event = translate(payload)

    assert isinstance(event, ReactionRemoved)
    assert event.grade is Grade.NO and event.conversation.is_dm


@pytest.mark.parametrize(
    ("user", "emoji"),
    [(BOT_ID, "🟢"), (USER, "👍"), (USER, "🟢\ufe0f")],
    ids=["own", "other", "vs16"],
)
def test_own_reactions_and_other_emoji_are_not_grades(user: int, emoji: str) -> None:
    payload = reaction(
        "message_reaction_add_dm",
        user_id=user,
        channel_id=CHANNEL,
        message_id=MESSAGE,
        emoji=emoji,
        bot_id=BOT_ID,
    )
    event = translate(payload)
    if emoji == "🟢\ufe0f":  # the same emoji with a variation selector still counts
        assert isinstance(event, ReactionAdded) and event.grade is Grade.STRONG
    else:
        assert event is None

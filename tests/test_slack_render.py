"""Core messages -> Block Kit payloads. Pure; Slack's published limits are checked on every
payload, since Slack rejects a whole message for one block over them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.slack.render import (
    BUTTON_TEXT_MAX,
    CONTEXT_MAX,
    FALLBACK_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_MAX,
    mrkdwn,
    parse_card_action,
    render,
    slack_commands,
)
from bot.commands import CORE_COMMANDS, help_text
from bot.domain.grades import Grade
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
from tests.cards import digest_of, review

CARD = QuestionCard(
    post_id=42,
    question=QuestionFace(
        question_id="llm-q7",
        track="llm",
        level="screening",
        time_limit_s=120,
        prompt="Why does attention scale as O(n^2) <in> sequence length & what helps?",
        companies=("Anthropic", "Google"),
    ),
    heading="Drill 1/3 · new",
)
REVEAL = AnswerReveal(
    post_id=42,
    question_id="llm-q7",
    prompt=CARD.prompt,
    answer="Every token attends to every other token.\nFlash attention helps memory.",
    rubric={
        Grade.STRONG: "Names the n x n score matrix and a remedy.",
        Grade.LEAN: "Knows it is quadratic, not why.",
        Grade.NO: "Thinks it is linear.",
    },
    follow_ups=("What does sliding-window attention trade away?",),
    red_flags=("Confuses parameters with activations.",),
    study="Attention complexity",
)


BLOCKS_TEXT_MAX = 13_000
"""About where Slack starts refusing a message as `msg_blocks_too_long` (undocumented)."""


def within_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert 0 < len(payload["text"]) <= FALLBACK_MAX
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))  # Slack wants them unique per message
    action_ids = []
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= HEADER_MAX
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SECTION_MAX
        if block["type"] == "context":
            assert all(len(element["text"]) <= CONTEXT_MAX for element in block["elements"])
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= BUTTON_TEXT_MAX
                action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids))  # Slack wants them unique per message


def texts(payload: dict[str, Any]) -> str:
    parts = []
    for block in payload["blocks"]:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in payload["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_a_card_has_a_header_the_prompt_and_four_buttons_carrying_its_post_id() -> None:
    payload = render(CARD)
    within_limits(payload)
    header = payload["blocks"][0]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "llm · screening · 2 min", "emoji": True},
    }
    assert "*Card #42* · Drill 1/3 · new · `llm-q7` · asked at Anthropic, Google" in texts(payload)
    assert "O(n^2) &lt;in&gt; sequence length &amp; what helps?" in texts(payload)
    found = buttons(payload)
    assert [b["text"]["text"] for b in found] == [
        "Reveal answer",
        "🟢 Strong Hire",
        "🟡 Lean Hire",
        "🔴 No Hire",
    ]
    assert [b["action_id"] for b in found] == [
        "drillbot:reveal:42",
        "drillbot:strong:42",
        "drillbot:lean:42",
        "drillbot:no:42",
    ]
    assert {b["value"] for b in found} == {"42"}
    assert [parse_card_action(b["action_id"]) for b in found] == [
        ("reveal", 42),
        ("strong", 42),
        ("lean", 42),
        ("no", 42),
    ]
    assert "react 🟢 🟡 🔴" in texts(payload)
    assert payload["text"].startswith("Card #42 (llm · screening · 2 min): Why does attention")


@pytest.mark.parametrize(("seconds", "label"), [(30, "30 s"), (300, "5 min"), (900, "15 min")])
def test_the_header_states_the_time_budget(seconds: int, label: str) -> None:
    card = QuestionCard(
        post_id=1,
        question=QuestionFace(
            question_id="q",
            track="ai-engineering",
            level="staff",
            time_limit_s=seconds,
            prompt="p",
        ),
    )
    assert render(card)["blocks"][0]["text"]["text"] == f"ai-engineering · staff · {label}"


def test_the_answer_shows_rubric_follow_ups_and_red_flags_with_grade_buttons() -> None:
    payload = render(REVEAL)
    within_limits(payload)
    body = texts(payload)
    assert "*Model answer*\nEvery token attends" in body
    assert "🟢 *Strong Hire*: Names the n x n score matrix" in body
    assert "🔴 *No Hire*: Thinks it is linear." in body
    assert "• What does sliding-window attention trade away?" in body
    assert "• Confuses parameters with activations." in body
    assert "*Study after a No Hire:* Attention complexity" in body
    assert [b["action_id"] for b in buttons(payload)] == [
        "drillbot:strong:42",
        "drillbot:lean:42",
        "drillbot:no:42",
    ]


def test_huge_content_still_fits_slacks_limits() -> None:
    card = QuestionCard(
        post_id=7,
        question=QuestionFace(
            question_id="q",
            track="t" * 200,
            level="l",
            time_limit_s=60,
            prompt="x" * 7000,
        ),
    )
    within_limits(render(card))
    long_answer = AnswerReveal(
        post_id=7,
        question_id="q",
        prompt="p",
        answer="\n".join(["y" * 2900] * 80),
        rubric=REVEAL.rubric,
    )
    payload = render(long_answer)
    within_limits(payload)
    assert buttons(payload)  # the grade buttons survive the shortening


def test_text_markup_and_commands_are_written_the_slack_way() -> None:
    text = (
        "*Your settings*\n- daily at 08:30\n  - nested\nRun /drillbot resume or /quickfire 5,"
        " then /drill 3. Not https://example.com/stats nor a/mock. 1 < 2 & 3 > 2"
    )
    rendered = mrkdwn(text)
    assert rendered.startswith("*Your settings*\n• daily at 08:30\n  • nested\n")
    assert "Run /drill resume or /drill quickfire 5, then /drill 3." in rendered
    assert "https://example.com/stats" in rendered and "a/mock" in rendered
    assert "1 &lt; 2 &amp; 3 &gt; 2" in rendered
    payload = render(Text(text=text))
    within_limits(payload)
    assert payload["text"].startswith("Your settings\n- daily")  # no markup in notifications


def test_help_lists_every_command_as_a_drill_subcommand() -> None:
    payload = render(Text(text=help_text(CORE_COMMANDS)))
    within_limits(payload)
    body = texts(payload)
    assert "/drillbot" not in body and "/quickfire" not in body
    for command in CORE_COMMANDS:
        assert slack_commands(command.usage()) in body.replace("&lt;", "<").replace("&gt;", ">")


def test_the_leaderboard() -> None:
    rows = (
        LeaderboardRow(
            rank=1, display_name="Ana <admin>", completed=3, streak_weeks=2, mean_grade=0.83
        ),
        LeaderboardRow(rank=2, display_name="Ben", completed=1, streak_weeks=1, mean_grade=None),
    )
    payload = render(LeaderboardView(title="Mock rounds · week 2026-W47", rows=rows))
    within_limits(payload)
    body = texts(payload)
    assert "1. *Ana &lt;admin&gt;*: 3 rounds · streak 2 wk · mean grade 0.83" in body
    assert "2. *Ben*: 1 round · streak 1 wk · mean grade -" in body
    empty = render(LeaderboardView(title="Mock rounds", rows=()))
    assert "No completed mock rounds yet." in texts(empty)


def test_an_image_stands_in_as_its_title() -> None:
    payload = render(Image(png=b"\x89PNG", filename="stats.png", title="Your last 8 weeks"))
    assert payload == {"text": "Your last 8 weeks", "blocks": []}


# ---- review digests ----------------------------------------------------------------------


DIGEST = digest_of(5)


def test_every_review_in_a_digest_has_its_own_buttons_after_its_prompt() -> None:
    payload = render(DIGEST)
    within_limits(payload)
    blocks = payload["blocks"]
    assert blocks[0]["text"]["text"] == "Reviews due · 5"
    actions = [index for index, block in enumerate(blocks) if block["type"] == "actions"]
    assert len(actions) == 5
    previous = 0
    for item, index in zip(DIGEST.items, actions, strict=True):
        shown = texts({"blocks": blocks[previous:index]})
        assert f"*Card #{item.post_id}* · review {item.post_id - 100}/5 · llm · screening" in shown
        assert f"`llm-q{item.post_id}`" in shown and "attention scale as O(n^2)" in shown
        assert [parse_card_action(b["action_id"]) for b in blocks[index]["elements"]] == [
            (action, item.post_id) for action in ("reveal", "strong", "lean", "no")
        ]
        assert [b["text"]["text"] for b in blocks[index]["elements"]] == [
            "Reveal answer",
            "🟢 Strong Hire",
            "🟡 Lean Hire",
            "🔴 No Hire",
        ]
        previous = index + 1
    assert blocks[-1]["type"] == "context"
    assert "grade it with the buttons under it" in blocks[-1]["elements"][0]["text"]
    assert payload["text"].startswith("Reviews due · 5\n")
    for item in DIGEST.items:
        assert f"Card #{item.post_id} (llm · screening · 2 min): Why does" in payload["text"]


def test_a_digest_says_its_own_heading() -> None:
    payload = render(ReviewDigest(items=DIGEST.items[:2], heading="Tuesday's reviews"))
    assert payload["blocks"][0]["text"]["text"] == "Tuesday's reviews"
    assert payload["text"].startswith("Tuesday's reviews\n")


def test_a_digest_of_long_prompts_is_clipped_and_stays_within_slacks_limits() -> None:
    long_prompts = (
        "x" * 7000,
        "\n".join(["y" * 2900] * 10),
        "&" * 3000,  # five times as long escaped, and cut inside an "&amp;"
        "p" * 20_000,
        "q <= r " * 3000,
    )
    digest = ReviewDigest(
        items=tuple(review(101 + n, prompt) for n, prompt in enumerate(long_prompts))
    )
    payload = render(digest)
    within_limits(payload)
    assert len(texts(payload)) < BLOCKS_TEXT_MAX
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == 5 and all(section.endswith("…") for section in sections)
    for section in sections:  # clipped after escaping, yet no "&am" cut in half
        assert "&" not in re.sub(r"&(amp|lt|gt);", "", section)
    assert [
        {parse_card_action(b["action_id"])[1] for b in buttons({"blocks": [block]})}
        for block in payload["blocks"]
        if block["type"] == "actions"
    ] == [{101}, {102}, {103}, {104}, {105}]
    for item in digest.items:
        assert f"Card #{item.post_id} (" in payload["text"]

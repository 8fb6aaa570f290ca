"""Due reviews arrive five to a message, and each review is graded on its own."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.grades import Grade
from bot.messages import AnswerReveal, QuestionCard, ReviewDigest
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Post
from tests.harness import Harness


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def six_reviews_due_tomorrow(harness: Harness) -> None:
    """Monday: six questions on demand, all No Hire, and a daily drill of one question."""
    await harness.command("drill", count=6)
    for card in harness.port.cards():
        await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.NO)
    await harness.command(
        "drillbot subscribe", time="09:00", timezone="UTC", days="daily", quickfire=1, screening=0
    )


async def test_a_day_of_reviews_is_three_messages_not_seven(harness: Harness) -> None:
    await six_reviews_due_tomorrow(harness)
    await harness.jump_through(utc(2026, 11, 23, 23, 0))  # Monday's own drill
    before = len(harness.port.deliveries)
    await harness.jump_through(utc(2026, 11, 24, 9, 30))
    tuesday = [
        d
        for d in harness.port.deliveries[before:]
        if isinstance(d.message, QuestionCard | ReviewDigest)
    ]
    kinds = [type(d.message).__name__ for d in tuesday]
    assert kinds == ["QuestionCard", "ReviewDigest", "QuestionCard"]
    new, digest, last = (d.message for d in tuesday)
    assert "new" in new.heading
    assert len(digest.items) == 5 and "review 6/6" in last.heading
    posts = {p.id: p for p in await harness.rows(Post, Post.key.like("dm:%:2026-11-24:%"))}
    assert len(posts) == 7 and {p.status for p in posts.values()} == {"sent"}
    refs = {posts[item.post_id].message_ref for item in digest.items}
    assert refs == {tuesday[1].message_ref}  # every review in the digest is on record


async def test_each_review_in_a_digest_is_graded_by_its_own_button(harness: Harness) -> None:
    await six_reviews_due_tomorrow(harness)
    await harness.jump_through(utc(2026, 11, 24, 9, 30))
    (digest,) = harness.port.digests()
    third = digest.items[2]
    await harness.press(third.post_id, "grade", grade=Grade.STRONG)
    grades = await harness.rows(GradeRow, GradeRow.post_id.in_([i.post_id for i in digest.items]))
    assert [(g.post_id, g.grade) for g in grades] == [(third.post_id, "strong")]
    assert "Strong Hire" in harness.last_text()

    # A reaction on the digest cannot say which review it grades: it grades none.
    await harness.react(harness.port.delivery_of_card(third.post_id).message_ref, Grade.NO)
    assert "press the buttons under each review" in harness.last_text()
    grades = await harness.rows(GradeRow, GradeRow.post_id.in_([i.post_id for i in digest.items]))
    assert [(g.post_id, g.grade) for g in grades] == [(third.post_id, "strong")]


async def test_revealing_a_review_keeps_the_digest_and_its_buttons(harness: Harness) -> None:
    await six_reviews_due_tomorrow(harness)
    await harness.jump_through(utc(2026, 11, 24, 9, 30))
    (digest,) = harness.port.digests()
    await harness.press(digest.items[1].post_id, "reveal")
    last = harness.port.deliveries[-1]
    assert last.action == "reply" and isinstance(last.message, AnswerReveal)
    assert last.message.post_id == digest.items[1].post_id
    assert not harness.port.of("update")  # the digest was not replaced


async def test_a_digest_cut_off_before_sending_is_sent_whole_after_a_restart(
    database_url: str,
) -> None:
    first = await Harness.start(database_url=database_url, now=utc(2026, 11, 23, 7, 0))
    await six_reviews_due_tomorrow(first)
    await first.jump_through(utc(2026, 11, 23, 23, 0))
    first.clock.set(utc(2026, 11, 24, 9, 0))
    jobs = await first.app.dispatcher._claim_subscriptions(first.app.dispatcher.totals)
    assert [type(job.message).__name__ for job in jobs] == [
        "QuestionCard",
        "ReviewDigest",
        "QuestionCard",
    ]
    await first.close()  # inserted, then the process dies

    second = await Harness.start(database_url=database_url, now=utc(2026, 11, 24, 9, 5))
    try:
        await second.tick()
        (digest,) = second.port.digests()
        assert len(digest.items) == 5
        assert all(isinstance(item, QuestionCard) for item in digest.items)
        assert digest.items[0].heading.endswith("review 1/6")
        posts = await second.rows(Post, Post.key.like("dm:%:2026-11-24:%"))
        assert len(posts) == 7 and {p.status for p in posts} == {"sent"}
        assert isinstance(second.port.digests()[0], ReviewDigest)
    finally:
        await second.close()

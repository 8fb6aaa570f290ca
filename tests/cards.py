"""Cards for render tests: reviews as a digest carries them."""

from __future__ import annotations

from bot.messages import QuestionCard, QuestionFace, ReviewDigest


def review(post_id: int, prompt: str = "Why does attention scale as O(n^2)?") -> QuestionCard:
    """A screening card numbered from 101, with the heading a digest's items have."""
    return QuestionCard(
        post_id=post_id,
        question=QuestionFace(
            question_id=f"llm-q{post_id}",
            track="llm",
            level="screening",
            time_limit_s=120,
            prompt=prompt,
        ),
        heading=f"review {post_id - 100}/5",
    )


def digest_of(count: int = 5) -> ReviewDigest:
    return ReviewDigest(items=tuple(review(post_id) for post_id in range(101, 101 + count)))

from __future__ import annotations

import fsrs
import pytest

from bot.domain.grades import Grade, GradeVocabulary


@pytest.mark.parametrize(
    ("token", "grade"),
    [
        ("strong", Grade.STRONG),
        ("Strong Hire", Grade.STRONG),
        ("🟢", Grade.STRONG),
        ("🟢\ufe0f", Grade.STRONG),
        (":large_green_circle:", Grade.STRONG),
        ("lean", Grade.LEAN),
        ("large_yellow_circle", Grade.LEAN),
        ("🟡", Grade.LEAN),
        ("NO", Grade.NO),
        ("no_hire", Grade.NO),
        (":red_circle:", Grade.NO),
        ("🔴", Grade.NO),
    ],
)
def test_every_spelling_of_a_grade_is_understood(token: str, grade: Grade) -> None:
    assert GradeVocabulary().parse(token) is grade


@pytest.mark.parametrize("token", ["maybe", "👍", "thumbsup", ""])
def test_other_reactions_are_not_grades(token: str) -> None:
    assert GradeVocabulary().parse(token) is None


def test_teams_can_add_their_own_emoji() -> None:
    vocabulary = GradeVocabulary({Grade.STRONG: ("rocket",), Grade.LEAN: (), Grade.NO: ()})
    assert vocabulary.parse(":rocket:") is Grade.STRONG
    assert vocabulary.parse("large_green_circle") is None


def test_grades_map_to_fsrs_ratings_as_designed() -> None:
    assert Grade.STRONG.rating == fsrs.Rating.Good
    assert Grade.LEAN.rating == fsrs.Rating.Hard
    assert Grade.NO.rating == fsrs.Rating.Again
    assert [g.label for g in Grade] == ["Strong Hire", "Lean Hire", "No Hire"]

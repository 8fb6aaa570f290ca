"""Bank files: every problem is reported with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bank.loader import BankError, load_bank, load_files, read_file

GOOD = """\
- id: my-q1
  track: llm
  level: screening
  prompt: What is a token?
  answer: A unit of text the model reads, usually a subword.
  rubric:
    strong: Subwords, BPE, vocabulary size trade-off.
    lean: Knows subwords only.
    no: Thinks tokens are words.
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    return [str(issue) for issue in read_file(path)[1]]


def test_a_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    (loaded,), issues = read_file(write(tmp_path, "good.yaml", GOOD))
    assert issues == []
    question = loaded.question
    assert question.time_budget_s == 120
    assert question.rubric.no.startswith("Thinks")
    assert loaded.line == 1


def test_a_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        GOOD
        + GOOD.replace("my-q1", "my-q2").replace(
            "  answer: A unit of text the model reads, usually a subword.\n", ""
        ),
    )
    assert problems(path) == [f"{path}:10: question 'my-q2' answer: is required"]


def test_wrong_values_point_at_their_own_line(tmp_path: Path) -> None:
    text = GOOD.replace("level: screening", "level: expert").replace(
        "    lean: Knows subwords only.", "    lean: ''"
    )
    path = write(tmp_path, "bad.yaml", text)
    found = problems(path)
    assert f"{path}:3: question 'my-q1' level: input should be" in found[0]
    assert "expert" in found[0]
    assert found[1] == f"{path}:8: question 'my-q1' rubric.lean: must not be empty"


def test_unknown_keys_and_bad_time_limits_are_refused(tmp_path: Path) -> None:
    text = GOOD + "  difficulty: hard\n  time_limit_s: 5\n"
    found = problems(write(tmp_path, "bad.yaml", text))
    assert any(":10:" in f and "difficulty: is not a known field" in f for f in found)
    assert any(
        ":11:" in f and "time_limit_s" in f and "greater than or equal to 10" in f for f in found
    )


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", "# team copy\n" + GOOD)
    with pytest.raises(BankError) as caught:
        load_files([first, second])
    assert str(caught.value) == (
        f"{second}:2: question 'my-q1' id: duplicate id; first defined at {first}:1"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\n", "expected a list of questions"),
        ("- just text\n", "[0]: expected a mapping"),
        ("", "file is empty"),
        ("- id: [unclosed\n", "invalid YAML"),
        ("- &a {id: x}\n- *a\n", "aliases and anchors are not allowed"),
        ("- !!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_files_that_are_not_a_list_of_questions(tmp_path: Path, text: str, message: str) -> None:
    found = problems(write(tmp_path, "bad.yaml", text))
    assert len(found) == 1 and message in found[0]


def test_alias_bombs_are_refused_before_they_expand(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    assert "aliases" in problems(write(tmp_path, "bomb.yaml", bomb))[0]


def test_oversized_files_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "# " + "x" * (3 * 1024 * 1024) + "\n")
    assert "over the 2097152 byte limit" in problems(path)[0]


def test_yes_and_no_stay_text(tmp_path: Path) -> None:
    text = GOOD.replace("lean: Knows subwords only.", "lean: yes").replace(
        "prompt: What", "prompt: off? What"
    )
    (loaded,), _ = read_file(write(tmp_path, "q.yaml", text))
    assert loaded.question.rubric.lean == "yes"


def test_team_questions_replace_bundled_ones_with_a_warning(tmp_path: Path) -> None:
    bundled = load_bank()
    if not len(bundled):
        pytest.skip("no bundled questions yet")
    some_id = next(iter(bundled)).id
    team = write(tmp_path, "team.yaml", GOOD.replace("my-q1", some_id))
    bank = load_bank([team])
    assert bank.get(some_id).prompt == "What is a token?"
    assert len(bank) == len(bundled)
    assert bank.warnings and "replaces the bundled question" in bank.warnings[0]


def test_a_missing_team_bank_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="no such file or directory"):
        load_bank([tmp_path / "missing.yaml"])

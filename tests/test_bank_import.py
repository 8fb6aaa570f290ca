"""`drillbot bank import`: a team's own question document becomes a bank file that validates.

Each fixture under tests/fixtures/import/ is a small document in one of the formats the
importer reads, written for these tests. The checks are what a person importing it sees:
the questions found, the blocks reported with their line numbers, and a file that
`drillbot bank validate` accepts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bank.importers import detect_format, import_file, import_text, render
from bank.importers.build import ANSWER_PLACEHOLDER, RUBRIC_PLACEHOLDERS
from bank.importers.model import ImportResult
from bank.loader import load_files, read_file
from tests.cli import run_drillbot as drillbot

FIXTURES = Path(__file__).with_name("fixtures") / "import"
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


def imported(name: str, **options) -> ImportResult:
    return import_file(FIXTURES / name, **options)


def by_label(result: ImportResult) -> dict[str, dict]:
    return {question["source"].split(" ", 1)[1]: question for question in result.questions}


def line_of(name: str, text: str) -> int:
    """The line a fixture's text starts on, so expectations follow edits to the fixture."""
    for number, line in enumerate((FIXTURES / name).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {name}")


def problems(result: ImportResult) -> dict[int, str]:
    return {problem.line: problem.message for problem in result.problems}


def written(result: ImportResult, tmp_path: Path) -> Path:
    path = tmp_path / f"{Path(result.source_name).stem}.yaml"
    path.write_text(render(result), encoding="utf-8")
    return path


def test_numbered_questions_with_model_answers_scoring_and_section_levels() -> None:
    result = imported("numbered.txt")
    questions = by_label(result)
    assert list(questions) == ["Q1", "Q2", "Q4", "Q5", "QF1", "QF2"]
    assert {q["track"] for q in questions.values()} == {"deep-learning"}  # from the title
    assert [q["level"] for q in questions.values()] == [
        "screening",
        "screening",
        "deep-dive",
        "staff",
        "quickfire",
        "quickfire",
    ]

    first = questions["Q1"]
    assert first["prompt"] == "What problem does a residual connection solve?"
    assert first["answer"].startswith("It gives gradients a short path")
    assert not first["answer"].startswith('"')
    assert first["rubric"] == {
        "strong": "identity path + gradient flow + learns a correction.",
        "lean": "says it helps depth but not why.",
        "no": "thinks it adds parameters.",
    }
    assert first["study"] == "Residual networks"
    assert first["id"] == "numbered-q1"
    assert first["source"] == "numbered Q1"

    tagged = questions["Q2"]
    assert tagged["companies"] == ["acme", "globex"]
    assert tagged["prompt"] == "Why does batch size change the best learning rate?"
    assert tagged["answer"].splitlines()[:2] == [
        "Bigger batches give a less noisy gradient estimate.",
        "You can take larger steps with the same risk, roughly scaling the rate with the batch.",
    ]
    assert "Context: Teams at Acme like to ask this one" in tagged["answer"]

    deep = questions["Q4"]
    assert deep["follow_ups"] == ["What happens if you skip warmup with Adam?"]
    assert deep["red_flags"] == ["Says warmup is only for speed."]
    assert deep["rubric"]["lean"] == RUBRIC_PLACEHOLDERS["lean"]  # the source gives none

    assert questions["QF1"]["answer"] == "One full pass of the training set through the model."
    assert questions["QF2"]["answer"].startswith("Halting training")
    assert questions["QF1"]["time_limit_s"] == 30  # "(30 Seconds Each)" in the section title
    assert "time_limit_s" not in first


def test_unparseable_blocks_are_reported_with_their_lines_not_guessed() -> None:
    result = imported("numbered.txt")
    found = problems(result)
    assert sorted(found) == [
        line_of("numbered.txt", "Q3: Name two ways"),
        line_of("numbered.txt", "Is a weekly checkpoint"),
        line_of("numbered.txt", "QF3:"),
    ]
    assert "Q3: no answer" in found[line_of("numbered.txt", "Q3:")]
    assert "no question heading" in found[line_of("numbered.txt", "Is a weekly checkpoint")]
    assert "QF3: no answer" in found[line_of("numbered.txt", "QF3:")]
    prompts = " ".join(q["prompt"] for q in result.questions)
    assert "overfitting" not in prompts and "label smoothing" not in prompts


def test_difficulty_markers_follow_ups_red_flags_and_a_quick_reference_table() -> None:
    result = imported("marked.txt")
    questions = by_label(result)
    assert list(questions) == ["Q1", "Q2", "Q3", "C1", "C2"]
    assert {q["track"] for q in questions.values()} == {"llm"}
    assert [q["level"] for q in questions.values()] == [
        "screening",
        "deep-dive",
        "system-design",
        "quickfire",
        "quickfire",
    ]
    core = questions["Q1"]
    assert core["answer"].startswith("The number of tokens the model can attend to")
    assert core["follow_ups"] == ["How would you handle a document twice that length?"]
    assert core["red_flags"] == [
        "Thinks the window counts words.",
        "Has never heard of truncation.",
    ]
    assert core["tags"] == ["basics"]  # the section title names the topic
    assert questions["C2"]["prompt"] == "Logit"
    assert questions["C2"]["answer"].startswith("A raw score before the softmax")
    found = problems(result)
    assert "Q4: no answer" in found[line_of("marked.txt", "4. (Research)")]
    assert "two cells" in found[line_of("marked.txt", "| Sampling temperature")]


def test_headings_repeated_twice_as_copied_from_a_web_page() -> None:
    result = imported("doubled.txt")
    questions = by_label(result)
    assert list(questions) == ["Q1", "Q2", "Q1-2"]  # numbering restarts in the second part
    assert len({q["id"] for q in questions.values()}) == 3
    assert {q["track"] for q in questions.values()} == {"ai-engineering"}  # not the link's text

    prompting = questions["Q1"]
    assert prompting["prompt"] == "Zero-shot versus few-shot"
    assert prompting["tags"] == ["prompting"]
    assert "- Few-shot costs more tokens on every call." in prompting["answer"]
    assert prompting["follow_ups"] == [
        "Your examples help English users but hurt Spanish ones. Why?",
        "When would you drop the examples again?",
    ]
    guard = questions["Q2"]
    assert guard["level"] == "system-design"  # "(System Design)" at the end of the heading
    assert guard["answer"].endswith("never put secrets in the prompt.")
    assert guard["red_flags"] == ["Just tell the model to keep it secret."]
    bias = questions["Q1-2"]
    assert bias["tags"] == ["classic-ml"]
    assert bias["answer"] == "High bias underfits; high variance overfits."
    assert bias["follow_ups"] == [
        "Which one does bagging reduce?",
        "Which one does boosting reduce?",
    ]
    assert list(problems(result)) == [line_of("doubled.txt", "2. Why scale features")]


def test_numbered_series_posts_become_scenarios_without_page_chrome() -> None:
    result = imported("scenarios.txt")
    questions = by_label(result)
    assert list(questions) == ["#7", "#6", "#6-2"]
    assert {q["level"] for q in questions.values()} == {"scenario"}
    assert questions["#7"]["prompt"] == "The Midnight Backfill Trap"
    assert questions["#7"]["answer"].startswith("A nightly job recomputes every feature")
    everything = " ".join(q["answer"] for q in questions.values())
    assert "PostJan" not in everything and "By The Drill Authors" not in everything
    assert "Sign-ups" not in everything
    assert questions["#6-2"]["track"] == "llm"  # "LLM System Design Interview #6"
    assert any("names none" in note for note in result.notes)  # the other series names no track
    found = problems(result)
    assert list(found) == [line_of("scenarios.txt", "Announcing the Spring Study Group")]
    assert "no number" in next(iter(found.values()))


def test_checklist_items_get_marked_answers_and_empty_question_sections_are_reported() -> None:
    result = imported("checklist.txt", track="deep-learning")
    assert [q["prompt"] for q in result.questions] == [
        "Sketch a transformer block and label the residual paths",
        "Compute the parameter count of a dense layer",
        "Explain why the validation score can beat the training score",
    ]
    assert {q["answer"] for q in result.questions} == {ANSWER_PLACEHOLDER}
    assert {q["track"] for q in result.questions} == {"deep-learning"}
    assert any("checklist" in note for note in result.notes)
    assert sorted(problems(result)) == [
        line_of("checklist.txt", "12 Rapid-Fire Questions"),
        line_of("checklist.txt", "Frequently Asked Questions"),
    ]


def test_plain_markdown_with_question_headings() -> None:
    result = imported("plain.md")
    assert result.format == "markdown"
    questions = by_label(result)
    assert list(questions) == ["Q1", "Q2", "Q3"]
    assert [q["level"] for q in questions.values()] == ["screening", "screening", "deep-dive"]
    assert {q["track"] for q in questions.values()} == {"deep-learning"}
    assert questions["Q1"]["follow_ups"] == ["Is the learning rate schedule a hyperparameter?"]
    bare = questions["Q2"]  # "### Question" with the prompt in the paragraph under it
    assert bare["prompt"] == "Why do we keep a separate validation set?"
    assert bare["answer"].startswith("To choose hyperparameters")
    assert bare["rubric"] == {
        "strong": "separates tuning data from the final estimate and names leakage.",
        "lean": "knows it is for tuning.",
        "no": "uses the test set for tuning.",
    }
    assert questions["Q3"]["red_flags"] == [
        "Clips each value separately and calls it the same thing."
    ]
    assert list(problems(result)) == [line_of("plain.md", "Why is my validation loss lower")]


def test_csv_rows_with_and_without_track_and_level() -> None:
    result = imported("bank.csv", level="deep-dive")
    assert result.format == "csv"
    questions = by_label(result)
    assert list(questions) == ["R1", "R2", "R3", "R6"]
    assert questions["R1"]["level"] == "quickfire"
    assert questions["R2"]["answer"] == (
        "Precision: of the items flagged, how many were right.\n"
        "Recall: of the items that should be flagged, how many were found."
    )
    assert questions["R3"]["level"] == "deep-dive"  # no level in the row: --level fills it
    assert questions["R6"]["level"] == "quickfire"  # "Quick-fire" as people write it
    assert questions["R6"]["track"] == "llm"
    found = problems(result)
    assert "no answer" in found[line_of("bank.csv", "What is a learning curve?")]
    assert "unknown level 'expert'" in found[line_of("bank.csv", "What is dropout?")]


def test_csv_without_a_header_reads_columns_by_position() -> None:
    text = "What is bagging?,Training many models on resampled data and averaging them.,,quickfire"
    result = import_text(text, source_name="team.csv", stem="team", fmt="csv", track="llm")
    assert [(q["prompt"], q["track"], q["level"]) for q in result.questions] == [
        ("What is bagging?", "llm", "quickfire")
    ]


def test_csv_row_with_an_unknown_track_is_reported_not_imported() -> None:
    text = "prompt,answer,track\nWhat is bagging?,Averaging models fit on resamples.,biology\n"
    result = import_text(text, source_name="team.csv", stem="team", fmt="csv", level="quickfire")
    assert result.questions == []
    (problem,) = result.problems
    assert problem.line == 2
    assert "unknown track 'biology' (one of: " in problem.message


def test_plain_numbered_questions_keep_numbered_lists_inside_answers() -> None:
    result = imported("plain-numbered.txt", track="ml-system-design", level="staff")
    questions = by_label(result)
    assert list(questions) == ["Q1", "Q2"]
    assert questions["Q1"]["answer"].splitlines()[-2:] == [
        "1. No skew between training and serving.",
        "2. Can one team reuse another team's features? Yes, by name and version.",
    ]
    assert {(q["track"], q["level"]) for q in questions.values()} == {("ml-system-design", "staff")}
    assert list(problems(result)) == [line_of("plain-numbered.txt", "3. What breaks")]


def test_options_set_the_track_but_never_override_a_stated_level() -> None:
    result = imported("numbered.txt", track="llm", level="research")
    assert {q["track"] for q in result.questions} == {"llm"}
    assert "research" not in {q["level"] for q in result.questions}


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.iterdir()))
def test_every_import_writes_a_file_the_bank_loader_accepts(name: str, tmp_path: Path) -> None:
    result = imported(name)
    loaded, issues = read_file(written(result, tmp_path))
    assert issues == []
    assert [item.question.id for item in loaded] == [q["id"] for q in result.questions]
    text = (tmp_path / f"{Path(name).stem}.yaml").read_text()
    assert f"# {name} line {result.lines[0]}" in text  # each question says where it came from


def test_all_fixtures_import_side_by_side_without_id_clashes(tmp_path: Path) -> None:
    files = [written(imported(path.name), tmp_path) for path in sorted(FIXTURES.iterdir())]
    bank = load_files(files)
    assert len(bank) == sum(len(imported(path.name).questions) for path in FIXTURES.iterdir())


def test_format_detection() -> None:
    assert detect_format("prompt,answer\nq,a\n") == "csv"
    assert detect_format("q,a\n", suffix=".csv") == "csv"
    assert detect_format("# Bank\n\n## What is X?\nIt is Y.\n") == "markdown"
    assert detect_format("Q1: What is X?\nModel Answer: Y.\n") == "numbered"
    assert detect_format("Series #3 - The Trap\n") == "numbered"


def test_cli_reports_counts_and_problems_and_writes_a_valid_bank(tmp_path: Path) -> None:
    source = FIXTURES / "numbered.txt"
    result = drillbot("bank", "import", str(source), "-o", "team.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "numbered.txt: 6 questions (numbered)" in out
    for level, count in (("screening", 2), ("deep-dive", 1), ("staff", 1), ("quickfire", 2)):
        assert any(
            level in row and row.rstrip(" │").endswith(str(count)) for row in out.splitlines()
        ), (level, out)
    assert "could not parse 3 block(s)" in out
    for text in ("Q3:", "Is a weekly checkpoint", "QF3:"):
        assert f"{source}:{line_of('numbered.txt', text)}: " in out
    assert "wrote team.yaml: 6 questions" in out

    validate = drillbot("bank", "validate", "team.yaml", cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    assert "ok: 6 questions in 1 files" in validate.stdout


def test_cli_imported_bank_is_served_next_to_the_bundled_one(tmp_path: Path) -> None:
    imported_file = drillbot(
        "bank", "import", str(FIXTURES / "marked.txt"), "-o", "team.yaml", cwd=tmp_path
    )
    assert imported_file.returncode == 0, imported_file.stderr
    (tmp_path / "drillbot.yaml").write_text("bank:\n  paths: [team.yaml]\n")
    show = drillbot("bank", "show", "marked-q1", cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["prompt"] == "What does the context window limit?"
    stats = json.loads(drillbot("bank", "stats", "--json", cwd=tmp_path).stdout)
    assert stats["by_source"]["marked"] == 5


def test_cli_exit_codes(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("Some notes about studying.\nNothing here is a question heading.\n")
    nothing = drillbot("bank", "import", str(prose), "-o", "out.yaml", cwd=tmp_path)
    assert nothing.returncode == 1
    assert "no question" in nothing.stderr
    assert not (tmp_path / "out.yaml").exists()

    missing = drillbot("bank", "import", "absent.txt", "-o", "out.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert "absent.txt" in missing.stderr

    binary = tmp_path / "bank.txt"
    binary.write_bytes(b"\xff\xfe\x00Q1: \x80\x81")
    unreadable = drillbot("bank", "import", str(binary), "-o", "out.yaml", cwd=tmp_path)
    assert unreadable.returncode == 2
    assert "not UTF-8" in unreadable.stderr


def test_cli_shows_a_progress_bar_on_large_files_only(tmp_path: Path) -> None:
    large = tmp_path / "large.txt"
    large.write_text(
        "Rapid Round\n"
        + "".join(
            f"QF{n}: What is item {n}? Item {n} is entry {n} of the list.\n" for n in range(1, 251)
        )
    )
    terminal = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"}
    big = drillbot("bank", "import", str(large), "-o", "large.yaml", cwd=tmp_path, env=terminal)
    assert big.returncode == 0, big.stderr
    assert "reading questions" in big.stderr
    assert "250 questions" in big.stdout
    small = drillbot(
        "bank",
        "import",
        str(FIXTURES / "numbered.txt"),
        "-o",
        "small.yaml",
        cwd=tmp_path,
        env=terminal,
    )
    assert small.returncode == 0, small.stderr
    assert "reading questions" not in small.stderr


SEED_DOCUMENTS = {  # document prefix -> questions it holds
    "000": 65,  # Q1..Q45 and QF1..QF20
    "001": 79,  # 64 numbered questions and 15 quick-reference concepts
    "002": 72,  # P1..P4 then Q1..Q68 (numbering restarts)
    "003": 12,  # final checklist items
    "004": 48,  # numbered trap posts
}


@pytest.mark.parametrize("prefix", sorted(SEED_DOCUMENTS))
def test_source_documents_import_with_most_questions_found(prefix: str, tmp_path: Path) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not here")
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    result = import_file(path)
    loaded, issues = read_file(written(result, tmp_path))
    assert issues == []
    expected = SEED_DOCUMENTS[prefix]
    print(
        f"{path.name}: {len(loaded)} of {expected} questions; could not parse: "
        + "; ".join(str(problem) for problem in result.problems)
    )
    assert len(loaded) >= 0.9 * expected
    assert len(loaded) <= expected

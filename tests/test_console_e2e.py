"""drillbot as a person uses it: `drillbot run` on the console with typed (piped) input."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from bank.loader import load_bank
from tests.cli import run_drillbot as drillbot

SMALL_BANK = Path(__file__).with_name("fixtures") / "bank" / "small.yaml"


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def card_numbers(stdout: str) -> list[int]:
    return [int(n) for n in re.findall(r"card #(\d+) · Drill", stdout)]


def test_a_drill_session_from_piped_input(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "/drill 3",
                "react 1 strong",
                "/reveal 2",
                "react 2 🔴",
                "react 3 :large_yellow_circle:",
                "react 3 lean",
                "unreact 1",
                "/quit",
                "/drill 3",  # nothing after /quit is read
            ]
        )
        + "\n"
    )
    result = drillbot("run", cwd=tmp_path, stdin=script)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert card_numbers(out) == [1, 2, 3]
    assert re.search(r"\[DM\] ─+ card #1 · Drill 1/3 · new", out)
    assert re.search(r"(deep-learning|llm|ai-engineering|ml-system-design) · \w", out)
    assert "Q: " in out and "react 1 strong|lean|no" in out
    assert "🟢 Strong Hire recorded for card #1" in out
    assert "Model answer:" in out and "🟡 Lean Hire:" in out
    assert "🔴 No Hire recorded for card #2. Next review: tomorrow" in out
    assert "Card #3 is already graded 🟡 Lean Hire." in out
    assert "Removed your grade on card #1." in out
    assert "Traceback" not in result.stderr

    db = tmp_path / "drillbot.db"
    assert query(db, "select post_id, grade from grades order by post_id") == [
        (2, "no"),
        (3, "lean"),
    ]
    actions = query(db, "select post_id, action from grade_events order by id")
    assert actions == [(1, "add"), (2, "add"), (3, "add"), (1, "remove")]
    assert query(db, "select count(*) from posts") == [(3,)]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = drillbot("run", cwd=tmp_path, stdin="/drill 3\nreact 2 no\n")
    second = drillbot("run", cwd=tmp_path, stdin="/drill 3\n/reveal 2\n")
    assert first.returncode == second.returncode == 0
    assert card_numbers(second.stdout) == [4, 5, 6]
    # A card's second line ends with its question id, or with the companies after it.
    question_id = re.compile(r"· ([a-z]+-[a-z0-9-]+)(?: · asked at [^\n]*)?\n")
    first_ids = set(question_id.findall(first.stdout))
    second_ids = set(question_id.findall(second.stdout))
    assert len(first_ids) == len(second_ids) == 3
    assert not first_ids & second_ids
    assert "answer to card #2" in second.stdout


def test_bad_input_gets_a_hint_and_writes_nothing(tmp_path: Path) -> None:
    script = "/dril\nhello\nreact 7 strong\nreact 1 maybe\nreact one strong\n/drill 99\n/reveal\n"
    result = drillbot("run", cwd=tmp_path, stdin=script)
    assert result.returncode == 0
    out = result.stdout
    assert "unknown command /dril; type /help" in out
    assert "'hello' is not a command" in out
    assert "There is no card #7 of yours to grade" in out
    assert "unknown grade 'maybe'; use strong, lean or no" in out
    assert "'one' is not a card number" in out
    assert "count: must be between 1 and 10" in out
    assert "missing <card>. Usage: /reveal <card>" in out
    db = tmp_path / "drillbot.db"
    assert query(db, "select count(*) from grade_events") == [(0,)]
    assert query(db, "select count(*) from posts") == [(0,)]


def test_help_lists_every_command_and_the_console_extras(tmp_path: Path) -> None:
    from bot.commands import CORE_COMMANDS

    out = drillbot("run", cwd=tmp_path, stdin="/help\n").stdout
    for command in CORE_COMMANDS:
        assert command.usage() in out
    assert "react <card> strong|lean|no" in out and "unreact <card>" in out


def test_a_broken_config_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "drillbot.yaml").write_text("team:\n  timezone: Europe/Berlinn\n")
    result = drillbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "drillbot: drillbot.yaml:2: team.timezone: unknown timezone 'Europe/Berlinn' "
        "(use a name like Europe/Berlin or UTC) (got 'Europe/Berlinn')"
    ]


def test_a_broken_team_bank_stops_run_and_fails_validate(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        SMALL_BANK.read_text().replace("  answer: The exponential", "  answr: The exponential")
    )
    (tmp_path / "drillbot.yaml").write_text("bank:\n  paths: [team.yaml]\n")

    run = drillbot("run", cwd=tmp_path, stdin="/drill\n")
    assert run.returncode == 1 and run.stdout == ""
    assert "team.yaml:41: question 't-perplexity' answer: is required" in run.stderr
    assert "team.yaml:45: question 't-perplexity' answr: is not a known field" in run.stderr
    assert "Traceback" not in run.stderr

    validate = drillbot("bank", "validate", "team.yaml", cwd=tmp_path)
    assert validate.returncode == 1
    assert "team.yaml:41: question 't-perplexity' answer: is required" in validate.stderr


def test_validate_passes_on_good_files_and_the_bundled_bank(tmp_path: Path) -> None:
    good = drillbot("bank", "validate", str(SMALL_BANK), cwd=tmp_path)
    assert good.returncode == 0 and good.stdout.startswith("ok: 8 questions in 1 files")
    bundled = drillbot("bank", "validate", cwd=tmp_path)
    assert bundled.returncode == 0, bundled.stderr
    assert f"ok: {len(load_bank())} questions" in bundled.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:////nonexistent-folder/drillbot.db", "folder /nonexistent-folder does not exist"),
        (
            "postgresql://drillbot:secret@127.0.0.1:1/none",
            "database postgresql://drillbot:***@127.0.0.1:1/none: connection failed",
        ),
        ("nonsense://x", "database nonsense://x"),
    ],
)
def test_an_unreachable_database_stops_with_one_line_and_exit_2(
    tmp_path: Path, url: str, message: str
) -> None:
    result = drillbot("run", "--db", url, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "secret" not in result.stderr


def test_an_unwritable_database_file_stops_with_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "drillbot.db").write_text("this is not a database")
    result = drillbot("run", "--db", f"sqlite:///{folder / 'drillbot.db'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "file is not a database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    from bot.storage.database import head_revision

    result = drillbot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0
    assert f"is at revision {head_revision()}" in result.stdout
    assert (tmp_path / "drillbot.db").exists()


@pytest.mark.parametrize(
    "words",
    [
        (),
        ("run",),
        ("db",),
        ("db", "upgrade"),
        ("bank",),
        ("bank", "validate"),
        ("bank", "stats"),
        ("bank", "show"),
        ("bank", "search"),
        ("commands",),
    ],
)
def test_every_command_has_help(tmp_path: Path, words: tuple[str, ...]) -> None:
    result = drillbot(*words, "--help", cwd=tmp_path)
    assert result.returncode == 0 and "Usage: drillbot" in result.stdout


def test_console_runs_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    result = drillbot("run", "--db", postgres_url, cwd=tmp_path, stdin="/drill 2\nreact 1 lean\n")
    assert result.returncode == 0, result.stderr
    assert card_numbers(result.stdout) == [1, 2]
    assert "🟡 Lean Hire recorded for card #1" in result.stdout


def test_the_clock_command_brings_tomorrows_drill_now(tmp_path: Path) -> None:
    """A newcomer sees the daily drill within a minute of `make run`, not tomorrow."""
    script = "/drillbot subscribe 08:00 UTC daily\n/clock\n/clock +1d\n/clock +2x\n/quit\n"
    result = drillbot("run", cwd=tmp_path, stdin=script)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"Console time: \w{3} \d{2} \w{3} \d{2}:\d{2} UTC\. Move it with", out)
    assert re.search(r"card #1 · Daily drill 1/4", out) and "Daily drill 4/4" in out
    assert "Console time is now" in out
    assert "⚠ usage: /clock [+1d | +3h" in out
    db = tmp_path / "drillbot.db"
    assert query(db, "select count(*) from posts where kind = 'dm' and status = 'sent'") == [(4,)]


def test_a_member_finds_their_id_and_the_cli_names_the_known_ones(tmp_path: Path) -> None:
    result = drillbot("run", cwd=tmp_path, stdin="/drill 1\nreact 1 lean\n/drillbot settings\n")
    assert result.returncode == 0, result.stderr
    assert "Your member id: you" in result.stdout

    wrong = drillbot("export", "--member", "You", cwd=tmp_path)
    assert wrong.returncode != 0
    assert "no member with id 'You'; known ids: you (You)" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    right = drillbot("export", "--member", "you", cwd=tmp_path)
    assert right.returncode == 0, right.stderr
    assert json.loads(right.stdout)["grades"][0]["grade"] == "lean"

    board = drillbot("leaderboard", "--team", "Study group", cwd=tmp_path)
    assert "known ids: console (Study group)" in board.stderr

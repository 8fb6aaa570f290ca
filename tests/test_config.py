"""drillbot.yaml: defaults, environment, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "drillbot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.team.timezone == "UTC"
    assert settings.console.admin is True


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).parents[1] / "drillbot.example.yaml"
    settings = load_settings(example, env={})
    assert settings.team.timezone == "Europe/Berlin"


def test_environment_beats_file_and_flag_beats_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  url: sqlite:///from-file.db\n")
    assert load_settings(path, env={}).database_url == "sqlite:///from-file.db"
    env = {"DRILLBOT_DATABASE_URL": "sqlite:///from-env.db"}
    assert load_settings(path, env=env).database_url == "sqlite:///from-env.db"
    flagged = load_settings(path, env=env, database_url="sqlite:///flag.db")
    assert flagged.database_url == "sqlite:///flag.db"


def test_bank_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bank:\n  paths: [team-bank]\n")
    assert load_settings(path, env={}).bank.paths == (tmp_path / "team-bank",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team:\n  name: x\n  colour: red\n", ":3: team.colour: unknown key"),
        ("team:\n  timezone: Mars/Base\n", ":2: team.timezone: unknown timezone"),
        (
            "srs:\n  max_reviews_per_day: 0\n",
            ":2: srs.max_reviews_per_day: Input should be greater",
        ),
        ("log_level: loud\n", ":1: log_level: must be DEBUG"),
        ("- a list\n", ":1: expected a mapping of settings"),
        ("team: [unclosed\n", ":2: invalid YAML"),
    ],
)
def test_bad_settings_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", env={})

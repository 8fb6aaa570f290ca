"""Command declarations: parsing what members type, and the help built from them."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.commands import (
    CORE_COMMANDS,
    Command,
    CommandCatalog,
    DateType,
    IntType,
    ListType,
    LocalTimeType,
    Param,
    TimeZoneType,
    UsageError,
    WeekdaysType,
    help_text,
    markdown_table,
)


def test_drill_parses_count_and_keyword_filters() -> None:
    command, args = CORE_COMMANDS.parse_line("/drill 5 track=llm")
    assert command.name == "drill"
    assert args == {"count": 5, "track": "llm", "level": None}


def test_drill_defaults_and_limits() -> None:
    assert CORE_COMMANDS.parse_line("/drill")[1]["count"] == 3
    with pytest.raises(UsageError, match=r"between 1 and 10.*Usage: /drill \[count\]"):
        CORE_COMMANDS.parse_line("/drill 50")
    with pytest.raises(UsageError, match="expected one of deep-learning"):
        CORE_COMMANDS.parse_line("/drill track=cooking")


def test_missing_and_extra_arguments_explain_usage() -> None:
    with pytest.raises(UsageError, match=r"missing <card>\. Usage: /reveal <card>"):
        CORE_COMMANDS.parse_line("/reveal")
    with pytest.raises(UsageError, match="unexpected 'extra'"):
        CORE_COMMANDS.parse_line("/reveal 3 extra")


def test_unknown_command_points_to_help() -> None:
    with pytest.raises(UsageError, match="unknown command /dril; type /help"):
        CORE_COMMANDS.parse_line("/dril")


SUBSCRIBE = Command(
    ("drillbot", "subscribe"),
    "Daily DM drill.",
    (
        Param("time", LocalTimeType("HH:MM"), "local time", default=time(8, 30)),
        Param("timezone", TimeZoneType("timezone"), "IANA timezone"),
        Param("days", WeekdaysType("days"), "which days", default=(0, 1, 2, 3, 4)),
        Param("tracks", ListType("tracks", ("llm", "deep-learning")), "tracks", keyword=True),
        Param("quickfire", IntType("n", 0, 10), "quick-fire count", default=3, keyword=True),
    ),
)
GROUP = CommandCatalog([SUBSCRIBE, Command(("drillbot", "resume"), "Resume.")])


def test_optional_positionals_are_matched_by_type_in_any_order() -> None:
    _, args = GROUP.parse_line("/drillbot subscribe mon-fri Europe/Berlin 07:15 quickfire=2")
    assert args["time"] == time(7, 15)
    assert args["timezone"] == "Europe/Berlin"
    assert args["days"] == (0, 1, 2, 3, 4)
    assert args["quickfire"] == 2
    _, args = GROUP.parse_line("/drillbot subscribe weekends tracks=llm,deep-learning")
    assert args["days"] == (5, 6) and args["time"] == time(8, 30)
    assert args["tracks"] == ("llm", "deep-learning")


def test_unknown_subcommand_lists_the_group() -> None:
    with pytest.raises(UsageError, match="try one of: subscribe, resume"):
        GROUP.parse_line("/drillbot subscrib")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("daily", (0, 1, 2, 3, 4, 5, 6)), ("fri-mon", (0, 4, 5, 6)), ("mon,wed", (0, 2))],
)
def test_weekday_spellings(text: str, expected: tuple[int, ...]) -> None:
    assert WeekdaysType("days").parse(text) == expected


@pytest.mark.parametrize(
    ("param_type", "bad"),
    [
        (LocalTimeType("HH:MM"), "25:00"),
        (TimeZoneType("tz"), "Mars/Olympus"),
        (DateType("date"), "2026-13-01"),
        (WeekdaysType("days"), "someday"),
    ],
)
def test_bad_values_are_refused_with_a_reason(param_type, bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected|unknown"):
        param_type.parse(bad)


def test_coerce_checks_platform_options_against_the_declaration() -> None:
    drill = CORE_COMMANDS.get("drill")
    assert drill.coerce({"count": 4, "track": "llm"}) == {"count": 4, "track": "llm", "level": None}
    with pytest.raises(UsageError):
        drill.coerce({"count": 0})


def test_help_and_readme_table_list_every_command() -> None:
    text = help_text(CORE_COMMANDS)
    table = markdown_table(CORE_COMMANDS)
    for command in CORE_COMMANDS:
        assert command.usage() in text
        # Pipes escaped, so that a choice like on|off stays in its table cell.
        assert f"`{command.usage().replace('|', chr(92) + '|')}`" in table
    rows = table.splitlines()[2:]
    assert all(row.replace("\\|", "").count("|") == 4 for row in rows)  # three cells each


def test_readme_command_table_is_current() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table(CORE_COMMANDS) in readme, "run `drillbot commands --markdown`"


def test_catalog_refuses_two_commands_with_one_name() -> None:
    with pytest.raises(ValueError, match="share a name"):
        CommandCatalog([Command(("x",), "a"), Command(("x",), "b")])


def test_date_type_reads_iso_dates() -> None:
    assert DateType("date").parse("2026-12-01") == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("7am", time(7, 0)), ("7:30pm", time(19, 30)), ("12pm", time(12, 0)), ("12am", time(0, 0))],
)
def test_times_are_read_the_way_people_write_them(typed: str, expected: time) -> None:
    _, args = CORE_COMMANDS.parse_line(f"/drillbot subscribe {typed} UTC")
    assert args["time"] == expected


def test_a_city_alone_gets_its_zone_suggested() -> None:
    with pytest.raises(UsageError, match=r"did you mean Europe/Berlin\? Usage:"):
        CORE_COMMANDS.parse_line("/drillbot subscribe 07:45 berlin")
    with pytest.raises(UsageError, match="did you mean America/New_York"):
        CORE_COMMANDS.parse_line("/drillbot subscribe 07:45 new_york")


def test_a_long_bad_argument_is_not_echoed_back_whole() -> None:
    with pytest.raises(UsageError) as error:
        CORE_COMMANDS.parse_line("/drill " + "x" * 5000)
    assert len(str(error.value)) < 200 and "x" * 40 + "…" in str(error.value)
    with pytest.raises(UsageError) as error:
        CORE_COMMANDS.parse_line("/" + "y" * 5000)
    assert len(str(error.value)) < 200


def test_drill_help_names_its_limit() -> None:
    assert "1 to 10" in CORE_COMMANDS.get("drill").help


def test_console_clock_targets() -> None:
    from datetime import UTC, datetime

    from adapters.console.translate import clock_target

    tuesday = datetime(2026, 12, 8, 1, 27, tzinfo=UTC)
    assert clock_target("+1d", now=tuesday, timezone="UTC") == datetime(
        2026, 12, 9, 1, 27, tzinfo=UTC
    )
    assert clock_target("+1d3h", now=tuesday, timezone="UTC") == datetime(
        2026, 12, 9, 4, 27, tzinfo=UTC
    )
    monday = clock_target("monday 09:00", now=tuesday, timezone="Europe/Berlin")
    assert monday == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert clock_target("tomorrow", now=tuesday, timezone="UTC").hour == 9
    for bad in ("+", "+2x", "yesterday", "monday 25:00"):
        with pytest.raises(UsageError):
            clock_target(bad, now=tuesday, timezone="UTC")

"""The `drillbot` command. Thin: parse options, build the app, report errors in one line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import replace
from functools import wraps
from pathlib import Path
from typing import Any

import click

from bank.importers.command import import_command
from bank.loader import BankError, bundled_files, expand_paths, load_bank, load_files
from bot.bootstrap import DatabaseUnavailable, build, open_database
from bot.commands import CORE_COMMANDS, markdown_table
from bot.config import ConfigError, Settings, load_settings
from bot.ops.logs import configure_logging
from bot.ops.serving import DEFAULT_GRACE_SECONDS, ServeError, ServeOptions, serving
from bot.storage.database import InstanceLocked

logger = logging.getLogger("drillbot")

EXIT_BANK = 1
EXIT_CONFIG = 2


def _fail(message: str, code: int) -> None:
    click.echo(f"drillbot: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context, database_url: str | None = None) -> Settings:
    try:
        settings = load_settings(ctx.obj["config"], database_url=database_url)
    except ConfigError as error:
        _fail(str(error), EXIT_CONFIG)
    # A report (plan, export, leaderboard...) prints its own output: only warnings go
    # above it unless asked for; a running bot logs at the configured level.
    default = settings.log_level if ctx.command.name == "run" else "WARNING"
    configure_logging(level=ctx.obj.get("log_level") or default, fmt=ctx.obj["log_format"])
    return settings


def _async(function: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            asyncio.run(function(*args, **kwargs))
        except (DatabaseUnavailable, InstanceLocked, ServeError) as error:
            _fail(str(error), EXIT_CONFIG)
        except BankError as error:
            _fail(f"the question bank has problems:\n{error}", EXIT_BANK)
        except KeyboardInterrupt:
            click.echo("", err=True)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: ./drillbot.yaml if present).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Override log_level from the settings file.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="DRILLBOT_LOG_FORMAT",
    help="Log lines for people, or JSON lines for a log pipeline (env DRILLBOT_LOG_FORMAT).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, log_level: str | None, log_format: str) -> None:
    """drillbot: daily ML / AI interview drills for study channels."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["log_level"] = log_level
    ctx.obj["log_format"] = log_format


DB_OPTION = click.option(
    "--db",
    "database_url",
    default=None,
    metavar="URL",
    help="Database URL (default: DRILLBOT_DATABASE_URL, then database.url, then ./drillbot.db).",
)


@main.command()
@click.option(
    "--platform",
    type=click.Choice(["console", "slack", "discord"]),
    default="console",
    show_default=True,
    help="Where drillbot talks to people.",
)
@click.option(
    "--slack-mode",
    type=click.Choice(["socket", "http"]),
    default=None,
    help="Slack: Socket Mode or HTTP (Events API); default: slack.mode in the settings.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Slack HTTP mode: the port to listen on; default: slack.http_port in the settings.",
)
@click.option(
    "--http-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="DRILLBOT_HTTP_PORT",
    help="Serve /healthz, /readyz and /metrics on this port (env DRILLBOT_HTTP_PORT).",
)
@click.option(
    "--grace",
    "grace_seconds",
    type=click.FloatRange(0, 600),
    default=DEFAULT_GRACE_SECONDS,
    show_default=True,
    help="On SIGTERM / SIGINT: seconds to let in-flight sends finish before stopping.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Same as `drillbot --log-format`, accepted here too.",
)
@DB_OPTION
@click.pass_context
def run(
    ctx: click.Context,
    platform: str,
    slack_mode: str | None,
    port: int | None,
    http_port: int | None,
    grace_seconds: float,
    log_format: str | None,
    database_url: str | None,
) -> None:
    """Start drillbot: migrate the database, load the bank, serve the platform."""
    if log_format:
        ctx.obj["log_format"] = log_format
    settings = _settings(ctx, database_url)
    options = ServeOptions(http_port=http_port, grace_seconds=grace_seconds)
    _run(settings, platform, options=options, slack_mode=slack_mode, slack_port=port)


@_async
async def _run(
    settings: Settings,
    platform: str,
    *,
    options: ServeOptions,
    slack_mode: str | None = None,
    slack_port: int | None = None,
) -> None:
    if platform == "slack":
        from adapters.slack.runner import SlackSetupError, serve_slack

        try:
            await serve_slack(settings=settings, mode=slack_mode, port=slack_port, options=options)
        except SlackSetupError as error:
            _fail(str(error), EXIT_CONFIG)
        return
    if platform == "discord":
        from adapters.discord.app import DiscordSetupError
        from adapters.discord.runner import serve_discord

        try:
            await serve_discord(settings=settings, options=options)
        except DiscordSetupError as error:
            _fail(str(error), EXIT_CONFIG)
        return
    from adapters.console.app import run_console
    from adapters.console.port import ConsolePort
    from bot.clock import ShiftedClock

    port = ConsolePort(
        out=sys.stdout, channel=settings.console.channel, charts_dir=settings.console.charts_dir
    )
    # The console is a terminal session: Ctrl-C ends it as in any program.
    console_options = replace(options, signals=())
    clock = ShiftedClock()  # /clock moves it forward
    async with serving(
        settings, ports={"console": port}, options=console_options, clock=clock
    ) as running:
        await running.until_stopped(
            run_console(running.app.service, clock=clock, dispatcher=running.app.dispatcher)
        )


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@DB_OPTION
@click.pass_context
def db_upgrade(ctx: click.Context, database_url: str | None) -> None:
    """Apply every pending migration (drillbot also does this on start)."""
    settings = _settings(ctx, database_url)
    _upgrade(settings)


@_async
async def _upgrade(settings: Settings) -> None:
    from bot.storage.database import current_revision, redact_url

    engine = await open_database(settings)
    try:
        revision = await current_revision(engine)
    finally:
        await engine.dispose()
    click.echo(f"database {redact_url(settings.database_url)} is at revision {revision}")


@db.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace DESTINATION if it exists.")
@DB_OPTION
@click.pass_context
def db_backup(ctx: click.Context, destination: Path, overwrite: bool, database_url: str | None):
    """Copy the live SQLite database to DESTINATION (PostgreSQL: prints the pg_dump line)."""
    from bot.ops.backup import BackupError, backup_sqlite

    settings = _settings(ctx, database_url)
    try:
        result = backup_sqlite(
            database_url=settings.database_url, destination=destination, overwrite=overwrite
        )
    except BackupError as error:
        _fail(str(error), EXIT_CONFIG)
    click.echo(f"backed up to {result.path} ({result.size_bytes:,} bytes)")


@main.command()
@click.option(
    "--platforms",
    is_flag=True,
    help="Also log in to Slack (auth.test) and Discord with the tokens that are set.",
)
@DB_OPTION
@click.pass_context
def doctor(ctx: click.Context, platforms: bool, database_url: str | None) -> None:
    """Check config, database, bank and tokens: one line each; exit 1 if any fails."""
    from bot.ops.doctor import diagnose, exit_code

    configure_logging(level=ctx.obj.get("log_level") or "WARNING", fmt=ctx.obj["log_format"])
    checks = asyncio.run(
        diagnose(
            config_path=ctx.obj["config"],
            check_platforms=platforms,
            database_url=database_url,
        )
    )
    for check in checks:
        click.echo(check.line())
    sys.exit(exit_code(checks))


@main.group()
def bank() -> None:
    """Check and explore the question bank."""


bank.add_command(import_command, name="import")


@bank.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def bank_validate(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check bank files (default: the bundled bank plus bank.paths) and name every problem."""
    if paths:
        missing = [path for path in paths if not path.exists()]
        if missing:
            _fail(f"{missing[0]}: no such file or directory", EXIT_BANK)
        files = expand_paths(paths)
        try:
            loaded = load_files(files)
        except BankError as error:
            _report_issues(error)
        click.echo(f"ok: {len(loaded)} questions in {len(files)} files")
        return
    settings = _settings(ctx)
    try:
        loaded = load_bank(list(settings.bank.paths))
    except BankError as error:
        _report_issues(error)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    count = len(bundled_files()) + len(expand_paths(settings.bank.paths))
    click.echo(f"ok: {len(loaded)} questions in {count} files")


def _report_issues(error: BankError) -> None:
    for issue in error.issues:
        click.echo(str(issue), err=True)
    _fail(f"{len(error.issues)} problem(s) found", EXIT_BANK)


def _load_or_fail(ctx: click.Context):
    settings = _settings(ctx)
    try:
        return load_bank(list(settings.bank.paths))
    except BankError as error:
        _report_issues(error)


@bank.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def bank_stats(ctx: click.Context, as_json: bool) -> None:
    """Count questions by track and level."""
    loaded = _load_or_fail(ctx)
    questions = list(loaded)
    by_track = Counter(q.track for q in questions)
    by_level = Counter(q.level for q in questions)
    by_source = Counter(q.source.split()[0] if q.source else "(none)" for q in questions)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "total": len(questions),
                    "by_track": dict(sorted(by_track.items())),
                    "by_level": dict(sorted(by_level.items())),
                    "by_source": dict(sorted(by_source.items())),
                },
                indent=2,
            )
        )
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from bank.schema import LEVELS, TRACKS

    # Levels down, tracks across: four track columns fit an 80-column terminal.
    tracks = [track for track in TRACKS if by_track[track]]
    table = Table(title=f"{len(questions)} questions", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("level", no_wrap=True)
    for track in tracks:
        table.add_column(track, justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold", no_wrap=True, min_width=5)
    cells = Counter((q.track, q.level) for q in questions)
    for level in LEVELS:
        if by_level[level]:
            table.add_row(
                level, *(str(cells[(track, level)] or "") for track in tracks), str(by_level[level])
            )
    table.add_section()
    table.add_row("total", *(str(by_track[track]) for track in tracks), str(len(questions)))
    Console().print(table)


@bank.command("show")
@click.argument("question_id")
@click.pass_context
def bank_show(ctx: click.Context, question_id: str) -> None:
    """Print one question with its answer and rubric."""
    loaded = _load_or_fail(ctx)
    question = loaded.get(question_id)
    if question is None:
        _fail(f"no question with id {question_id!r} (try: drillbot bank search WORDS)", EXIT_BANK)
    click.echo(json.dumps(question.model_dump(mode="json"), indent=2, ensure_ascii=False))


@bank.command("search")
@click.argument("words", nargs=-1, required=True)
@click.pass_context
def bank_search(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Find questions whose id, prompt, tags or answer contain every word."""
    loaded = _load_or_fail(ctx)
    needles = [word.lower() for word in words]
    hits = 0
    for question in loaded:
        haystack = " ".join(
            [question.id, question.prompt, question.answer, *question.tags, *question.companies]
        ).lower()
        if all(needle in haystack for needle in needles):
            hits += 1
            prompt = " ".join(question.prompt.split())
            click.echo(f"{question.id:<12} {question.track:<16} {question.level:<13} {prompt[:90]}")
    if not hits:
        click.echo("no matching questions")


@main.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to plan (default: today, UTC).",
)
@click.option("--member", "member", default=None, help="Only this member (platform user id).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@DB_OPTION
@click.pass_context
def plan(
    ctx: click.Context, day, member: str | None, as_json: bool, database_url: str | None
) -> None:
    """Show who gets which questions when on a day, in local time and UTC, without sending."""
    settings = _settings(ctx, database_url)
    _plan(settings, day.date() if day else None, member, as_json)


@_async
async def _plan(settings: Settings, day, member: str | None, as_json: bool) -> None:
    from datetime import UTC, datetime

    from bot.planning import plan_as_dicts, plan_day

    app = await build(settings, ports={})
    try:
        day = day or datetime.now(UTC).date()
        rows = await plan_day(app.service, day=day, member_ref=member)
    finally:
        await app.close()
    if as_json:
        click.echo(json.dumps({"date": day.isoformat(), "runs": plan_as_dicts(rows)}, indent=2))
        return
    if not rows:
        click.echo(f"nothing scheduled on {day}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"plan for {day}")
    for column in ("kind", "who", "local time", "UTC", "questions"):
        table.add_column(column)
    for row in rows:
        questions = ", ".join(row.questions) if row.kind == "dm" else "(chosen when posted)"
        table.add_row(row.kind, row.target, row.local_time, row.utc_time, questions)
    Console(width=160).print(table)


@main.command()
@click.option("--members", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=28, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--db",
    "database_url",
    default=None,
    metavar="URL",
    help="Run against this database instead of a temporary SQLite file.",
)
@click.pass_context
def simulate(
    ctx: click.Context, members: int, days: int, seed: int, as_json: bool, database_url: str | None
) -> None:
    """Run weeks of team life on a fake clock and check nothing is sent twice or missed."""
    settings = _settings(ctx)
    if not ctx.obj.get("log_level"):
        configure_logging(level="WARNING", fmt=ctx.obj["log_format"])
    _simulate(settings, members, days, seed, as_json, database_url)


@_async
async def _simulate(
    settings: Settings, members: int, days: int, seed: int, as_json: bool, database_url: str | None
) -> None:
    from bot.simulation import simulate as run_simulation

    report = await run_simulation(
        members=members, days=days, seed=seed, database_url=database_url, settings=settings
    )
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo("\n".join(report.summary()))
    if not report.passed:
        sys.exit(1)


@main.command("leaderboard")
@click.option(
    "--team",
    "team_ref",
    required=True,
    help="Team id (Slack workspace, Discord server, or 'console').",
)
@click.option(
    "--week", default="this", show_default=True, help="this, last or a week like 2026-W47."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@DB_OPTION
@click.pass_context
def leaderboard_command(
    ctx: click.Context, team_ref: str, week: str, as_json: bool, database_url: str | None
) -> None:
    """Print a team's weekly leaderboard of completed mock rounds."""
    from bot.commands import UsageError, WeekType

    try:
        week = WeekType("week").parse(week)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--week") from None
    del UsageError
    settings = _settings(ctx, database_url)
    _leaderboard(settings, team_ref, week, as_json)


@_async
async def _leaderboard(settings: Settings, team_ref: str, week: str, as_json: bool) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot.domain.weeks import resolve_week
    from bot.progress import leaderboard
    from bot.storage.database import transaction
    from bot.storage.models import Team

    app = await build(settings, ports={})
    try:
        async with transaction(app.sessions) as session:
            teams = list(await session.scalars(select(Team).where(Team.external_id == team_ref)))
            if len(teams) != 1:
                everyone = await session.execute(select(Team.external_id, Team.name))
                reason = "no team" if not teams else "several teams"
                _fail(f"{reason} with id {team_ref!r}; {_known(everyone.all())}", EXIT_BANK)
            team = teams[0]
            label = resolve_week(week, now=datetime.now(UTC), timezone=team.timezone)
            board = await leaderboard(session, team_id=team.id, week=label, timezone=team.timezone)
    finally:
        await app.close()
    rows = [
        {
            "rank": s.rank,
            "member": s.display_name,
            "completed": s.completed,
            "streak_weeks": s.streak_weeks,
            "mean_grade": None if s.mean_grade is None else round(s.mean_grade, 3),
        }
        for s in board.standings
    ]
    if as_json:
        click.echo(
            json.dumps(
                {"team": team_ref, "week": label, "timezone": team.timezone, "rows": rows}, indent=2
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{team.name}: mock rounds completed, week {label} ({team.timezone})")
    for column in ("rank", "member", "completed", "streak (weeks)", "mean grade"):
        table.add_column(column)
    for row in rows:
        mean = "-" if row["mean_grade"] is None else f"{row['mean_grade']:.2f}"
        table.add_row(
            str(row["rank"]), row["member"], str(row["completed"]), str(row["streak_weeks"]), mean
        )
    Console(width=120).print(table if rows else f"no completed mock rounds in {label}")


@main.command("export")
@click.option("--member", "member_ref", required=True, help="The member's platform user id.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("--team", "team_ref", default=None, help="Team id, when the member id is ambiguous.")
@DB_OPTION
@click.pass_context
def export_command(
    ctx: click.Context, member_ref: str, fmt: str, team_ref: str | None, database_url: str | None
) -> None:
    """Export one member's grades and rounds (their data, in a portable form)."""
    settings = _settings(ctx, database_url)
    _export(settings, member_ref, fmt, team_ref)


def _known(rows, *, limit: int = 20) -> str:
    """`known ids: you (You), U123 (Ana)`: what to type instead, with the names chat shows."""
    if not rows:
        return "none yet"
    named = sorted(f"{ref} ({name})" if name and name != ref else ref for ref, name in rows)
    more = f" and {len(named) - limit} more" if len(named) > limit else ""
    return f"known ids: {', '.join(named[:limit])}{more}"


@_async
async def _export(settings: Settings, member_ref: str, fmt: str, team_ref: str | None) -> None:
    from sqlalchemy import select

    from bot.progress import export_csv, export_json, export_member
    from bot.storage.database import transaction
    from bot.storage.models import Member, Team

    app = await build(settings, ports={})
    try:
        async with transaction(app.sessions) as session:
            query = select(Member).where(Member.external_id == member_ref)
            if team_ref:
                query = query.join(Team, Team.id == Member.team_id).where(
                    Team.external_id == team_ref
                )
            members = list(await session.scalars(query))
            if len(members) != 1:
                reason = "no member" if not members else "several members (add --team)"
                everyone = await session.execute(select(Member.external_id, Member.display_name))
                _fail(f"{reason} with id {member_ref!r}; {_known(everyone.all())}", EXIT_BANK)
            data = await export_member(session, member_id=members[0].id)
    finally:
        await app.close()
    click.echo(export_json(data) if fmt == "json" else export_csv(data), nl=fmt == "json")


@main.command("commands")
@click.option("--markdown", is_flag=True, help="Print the table used in the README.")
def commands(markdown: bool) -> None:
    """List the chat commands every platform offers."""
    if markdown:
        click.echo(markdown_table(CORE_COMMANDS))
        return
    for command in CORE_COMMANDS:
        click.echo(f"{command.usage():<40} {command.help}")


@main.group("discord")
def discord_group() -> None:
    """Discord: the invite link drillbot needs."""


@discord_group.command("invite-url")
@click.option(
    "--application-id",
    type=int,
    default=None,
    help="The application id (developer portal, General Information). "
    "Default: looked up with DISCORD_TOKEN.",
)
def discord_invite_url(application_id: int | None) -> None:
    """Print the invite URL (scopes bot and applications.commands) and its permissions."""
    import os

    from adapters.discord import invite
    from adapters.discord.app import DiscordSetupError

    if application_id is None:
        try:
            application_id = invite.lookup_application_id(env=os.environ)
        except DiscordSetupError as error:
            _fail(f"{error}; or pass --application-id", EXIT_CONFIG)
    click.echo(invite.invite_url(application_id=application_id))
    click.echo(f"permissions integer: {invite.permissions().value}")
    for line in invite.explain():
        click.echo(f"- {line}")


if __name__ == "__main__":  # pragma: no cover
    main()

"""The invite link: the scopes drillbot needs and exactly the permissions its calls use.

The permission list lives next to the calls that need it (`port.PERMISSIONS_USED`); this
module only adds them up, so the invite cannot ask for more, or less, than the code uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import discord

from adapters.discord.app import DiscordSetupError
from adapters.discord.port import PERMISSIONS_USED
from adapters.discord.runner import API_URL_ENV, TOKEN_ENV, discord_endpoints, read_token

SCOPES = ("bot", "applications.commands")


def permissions() -> discord.Permissions:
    total = discord.Permissions.none()
    for needed in PERMISSIONS_USED.values():
        total |= needed
    return total


def invite_url(*, application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=permissions(), scopes=SCOPES)


_DISPLAY_NAMES = {"read_messages": "VIEW_CHANNEL"}  # discord.py's alias for the same bit


def explain() -> list[str]:
    """One line per permission, as Discord's docs name it, and why drillbot needs it."""
    lines = []
    for reason, needed in PERMISSIONS_USED.items():
        names = ", ".join(
            _DISPLAY_NAMES.get(name, name.upper()) for name, granted in needed if granted
        )
        lines.append(f"{names}: {reason}")
    return lines


async def fetch_application_id(*, token: str) -> int:
    """The application behind a bot token, from Discord's API (or the configured proxy)."""
    client = discord.Client(intents=discord.Intents.none())
    async with client:
        await client.login(token)
        application_id = client.application_id
    if application_id is None:  # pragma: no cover - login always sets it
        raise RuntimeError("Discord did not name the application behind this token")
    return application_id


def lookup_application_id(*, env: Mapping[str, str]) -> int:
    """Ask Discord (or DRILLBOT_DISCORD_API_URL) which application DISCORD_TOKEN belongs to."""
    token = read_token(env)

    async def ask() -> int:
        with discord_endpoints(api_url=env.get(API_URL_ENV) or None, gateway_url=None):
            return await fetch_application_id(token=token)

    try:
        return asyncio.run(ask())
    except discord.LoginFailure:
        raise DiscordSetupError(f"Discord refused the token in {TOKEN_ENV}") from None
    except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
        raise DiscordSetupError(f"could not ask Discord for the application id ({error})") from None

"""A local fake of Discord for tests: the REST API and the gateway, on 127.0.0.1.

It answers what discord.py asks in Discord's documented shapes and records what drillbot
did: message creates (with nonces), edits, reactions, DM channel creation, interaction
responses, followups and command syncs. It can be told to fail a call once (429 with
`retry_after`, 403 with 50007, ...). The gateway side speaks the real protocol (HELLO,
IDENTIFY, READY, RESUME, RECONNECT, heartbeats), so discord.py's own connection state
parses every dispatch the tests send.

It also works out which guild permissions each call needed, per Discord's docs, so a
test can check the invite asks for exactly those.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).with_name("fixtures") / "discord"
DISCORD_EPOCH_MS = 1_420_070_400_000

PAYLOAD = web.RequestKey("payload", object)
FILES = web.RequestKey("files", list)

TOKEN = "fake-bot-token"
APPLICATION_ID = 1300000000000000001
BOT_ID = 1300000000000000001  # Discord gives a bot user the application's id
GUILD_CHANNEL, THREAD_CHANNEL, DM_CHANNEL = 0, 11, 1


def load_fixture(name: str, **values: Any) -> dict[str, Any]:
    """A recorded gateway payload with its `$PLACEHOLDER` strings filled in."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return _fill(data, {f"${key.upper()}": value for key, value in values.items()})


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str) and node in values:
        value = values[node]
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return node


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name.lower(),
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


BOT_USER = user_payload(BOT_ID, "drillbot", bot=True)


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclass
class _Session:
    session_id: str
    shard: tuple[int, int]
    history: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    session: _Session | None = None
    received: list[dict[str, Any]] = field(default_factory=list)


class FakeDiscord:
    def __init__(self, *, shards: int = 1) -> None:
        self.shards = shards
        self.calls: list[Call] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.permissions_needed: set[str] = set()
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self._failures: list[_Failure] = []
        self._dm_closed: set[int] = set()
        self._interaction_channels: dict[str, int] = {}
        self._original_ephemeral: dict[str, bool] = {}
        self._nonces: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []
        self._replay_on_resume = 0
        self._server: TestServer | None = None
        self.app = self._build()

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        for connection in list(self._connections):
            await connection.ws.close()
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._server.port}/gateway"  # type: ignore[union-attr]

    # ---- the world the bot lives in --------------------------------------------------

    def snowflake(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (millis << 22) | (next(self._ids) & 0x3FFFFF)

    def guild_for_shard(self, shard: int) -> int:
        """A guild id that Discord routes to `shard`."""
        while True:
            guild_id = self.snowflake()
            if (guild_id >> 22) % self.shards == shard:
                return guild_id

    def add_channel(self, *, guild_id: int | None, kind: int = GUILD_CHANNEL) -> int:
        channel_id = self.snowflake()
        self.channels[channel_id] = {"id": channel_id, "guild_id": guild_id, "type": kind}
        return channel_id

    def remove_channel(self, channel_id: int) -> None:
        """The bot lost access: further posts there answer 50001 Missing Access."""
        self.channels[channel_id]["gone"] = True

    def close_dms(self, user_id: int) -> None:
        """This member does not accept DMs from the bot: sends answer 50007."""
        self._dm_closed.add(user_id)

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        self._failures.append(
            _Failure(
                method=method,
                pattern=re.compile(path_pattern),
                status=status,
                body=body or {},
                headers=headers or {},
                times=times,
            )
        )

    def rate_limit_next(self, method: str, path_pattern: str, *, retry_after: float) -> None:
        """A 429 as Discord sends it (a JSON body with retry_after, a Via header)."""
        self.fail_next(
            method,
            path_pattern,
            status=429,
            body={
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
                "code": 0,
            },
            headers={
                "Retry-After": str(max(1, int(retry_after))),
                "Via": "1.1 google",
                "X-RateLimit-Scope": "user",
            },
        )

    # ---- what tests look at ----------------------------------------------------------

    def of(self, method: str, pattern: str) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if c.method == method and regex.fullmatch(c.path)]

    def created(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Messages that exist now (created by a successful, non-duplicate send)."""
        return [
            m
            for m in self.messages.values()
            if not m.get("_interaction")
            and (channel_id is None or m["channel_id"] == str(channel_id))
        ]

    def reactions(self) -> list[tuple[str, str, str]]:
        found = []
        for call in self.of("PUT", r"/channels/\d+/messages/\d+/reactions/.+/@me"):
            if call.status < 300:
                parts = call.path.split("/")
                found.append((parts[2], parts[4], parts[6]))
        return found

    def interaction_callbacks(self) -> list[Call]:
        return self.of("POST", r"/interactions/\d+/[^/]+/callback")

    def followups(self) -> list[Call]:
        return [c for c in self.of("POST", r"/webhooks/\d+/[^/]+") if c.status < 300]

    def original_edits(self) -> list[Call]:
        return self.of("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")

    def original_deletes(self) -> list[Call]:
        return self.of("DELETE", r"/webhooks/\d+/[^/]+/messages/@original")

    def answers_to(self, token: str) -> list[Call]:
        """Everything that answered one interaction: its edits and followups."""
        return [
            c
            for c in self.calls
            if c.path.startswith(f"/webhooks/{APPLICATION_ID}/{token}") and c.status < 300
        ]

    async def wait_for(self, check: Callable[[], Any], *, within: float = 10.0) -> Any:
        """Poll until `check()` is truthy; the bot works concurrently with the test."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = check()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the bot did not get there in time")
            await asyncio.sleep(0.01)

    # ---- the gateway, from the test's side -------------------------------------------

    def connected_shards(self) -> set[int]:
        return {
            c.session.shard[0]
            for c in self._connections
            if c.session is not None and not c.ws.closed
        }

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH to the shard Discord would route it to; returns its sequence."""
        guild_id = data.get("guild_id")
        routable = isinstance(guild_id, (int, str)) and str(guild_id).isdigit()
        shard = (int(guild_id) >> 22) % self.shards if routable else 0  # garbled: shard 0
        connection = self._connection_for(shard)
        session = connection.session
        assert session is not None
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        await connection.ws.send_str(json.dumps(frame))
        return session.seq

    async def send_fixture(
        self, name: str, *, overrides: dict[str, Any] | None = None, **values: Any
    ) -> dict[str, Any]:
        """Send a recorded payload; `overrides` replaces top-level fields of its data."""
        frame = load_fixture(name, **values)
        data = {**frame["d"], **(overrides or {})}
        if "token" in data:  # an interaction: its answers land in its channel
            self._interaction_channels[data["token"]] = int(data["channel_id"])
        await self.dispatch(frame["t"], data)
        return data

    async def reconnect(self, *, shard: int = 0, replay_last: int = 0) -> None:
        """Ask the shard to reconnect (op 7); on its RESUME, send the last `replay_last`
        dispatches again, as Discord may after a resume."""
        self._replay_on_resume = replay_last
        connection = self._connection_for(shard)
        resumes = len(self.resumes)
        await connection.ws.send_str(json.dumps({"op": 7, "d": None}))
        await self.wait_for(lambda: len(self.resumes) > resumes)

    def _connection_for(self, shard: int) -> _Connection:
        for connection in reversed(self._connections):
            if (
                connection.session is not None
                and connection.session.shard[0] == shard
                and not connection.ws.closed
            ):
                return connection
        raise AssertionError(f"shard {shard} is not connected")

    # ---- the server ------------------------------------------------------------------

    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        api = "/api/v10"
        add = app.router.add_route
        add("GET", f"{api}/users/@me", self._me)
        add("GET", f"{api}/oauth2/applications/@me", self._application)
        add("GET", f"{api}/gateway", self._gateway_info)
        add("GET", f"{api}/gateway/bot", self._gateway_info)
        add("PUT", f"{api}/applications/{{app}}/commands", self._sync)
        add("PUT", f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._sync)
        add("POST", f"{api}/users/@me/channels", self._open_dm)
        add("POST", f"{api}/channels/{{channel}}/messages", self._create_message)
        add("PATCH", f"{api}/channels/{{channel}}/messages/{{message}}", self._edit_message)
        add(
            "PUT",
            f"{api}/channels/{{channel}}/messages/{{message}}/reactions/{{emoji}}/@me",
            self._react,
        )
        add("POST", f"{api}/interactions/{{id}}/{{token}}/callback", self._interaction_callback)
        add("POST", f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        add("PATCH", f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        add("DELETE", f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._delete_original)
        add("GET", "/gateway", self._gateway)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler):
        if request.path == "/gateway":
            return await handler(request)
        path = request.path.removeprefix("/api/v10")
        payload, files = await _read_body(request)
        call = Call(request.method, path, payload, files, dict(request.query))
        self.calls.append(call)
        request[PAYLOAD], request[FILES] = payload, files
        for failure in self._failures:
            if failure.method == request.method and failure.pattern.fullmatch(path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                call.status = failure.status
                return _json(failure.body, status=failure.status, headers=failure.headers)
        response = await handler(request)
        call.status = response.status
        return response

    async def _me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        return _json(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(APPLICATION_ID),
                "name": "drillbot",
                "icon": None,
                "description": "Interview drills",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload(1300000000000000099, "Owner"),
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "bot": BOT_USER,
                "interactions_endpoint_url": None,
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": self.shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        commands = request[PAYLOAD]
        answer = [
            {
                **command,
                "id": str(self.snowflake()),
                "application_id": str(APPLICATION_ID),
                "version": str(self.snowflake()),
                "guild_id": request.match_info.get("guild"),
            }
            for command in commands
        ]
        return _json(answer)

    async def _open_dm(self, request: web.Request) -> web.Response:
        recipient = int(request[PAYLOAD]["recipient_id"])
        for channel in self.channels.values():
            if channel["type"] == DM_CHANNEL and channel.get("recipient") == recipient:
                break
        else:
            channel_id = self.add_channel(guild_id=None, kind=DM_CHANNEL)
            channel = self.channels[channel_id]
            channel["recipient"] = recipient
        return _json(
            {
                "id": str(channel["id"]),
                "type": DM_CHANNEL,
                "last_message_id": None,
                "flags": 0,
                "recipients": [user_payload(recipient, f"user{recipient % 1000}")],
            }
        )

    def _channel_or_error(self, channel_id: int) -> dict[str, Any] | web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        if channel.get("gone"):
            return _error(403, 50001, "Missing Access")
        return channel

    def _need(self, channel: dict[str, Any], *names: str) -> None:
        if channel["guild_id"] is not None:  # DMs need no guild permissions
            self.permissions_needed.update(names)

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel_or_error(int(request.match_info["channel"]))
        if isinstance(channel, web.Response):
            return channel
        payload = request[PAYLOAD] or {}
        if channel["type"] == DM_CHANNEL and channel.get("recipient") in self._dm_closed:
            return _error(403, 50007, "Cannot send messages to this user")
        send = "SEND_MESSAGES_IN_THREADS" if channel["type"] == THREAD_CHANNEL else "SEND_MESSAGES"
        self._need(channel, "VIEW_CHANNEL", send)
        if payload.get("embeds"):
            self._need(channel, "EMBED_LINKS")
        if request[FILES]:
            self._need(channel, "ATTACH_FILES")
        if payload.get("message_reference"):
            self._need(channel, "READ_MESSAGE_HISTORY")
        nonce = payload.get("nonce")
        if nonce and payload.get("enforce_nonce") and nonce in self._nonces:
            # Discord returns the message it already made for this nonce.
            return _json(self.messages[self._nonces[nonce]])
        message = self._message(channel, payload, request[FILES])
        if nonce and payload.get("enforce_nonce"):
            self._nonces[nonce] = int(message["id"])
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel_or_error(int(request.match_info["channel"]))
        if isinstance(channel, web.Response):
            return channel
        message = self.messages.get(int(request.match_info["message"]))
        if message is None:
            return _error(404, 10008, "Unknown Message")
        payload = request[PAYLOAD] or {}
        self._need(channel, "VIEW_CHANNEL")
        if payload.get("embeds"):
            self._need(channel, "EMBED_LINKS")
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = (
                    payload[key] if payload[key] is not None else ([] if key != "content" else "")
                )
        message["edited_timestamp"] = _now()
        return _json(message)

    async def _react(self, request: web.Request) -> web.Response:
        channel = self._channel_or_error(int(request.match_info["channel"]))
        if isinstance(channel, web.Response):
            return channel
        message_id = int(request.match_info["message"])
        if message_id not in self.messages:
            return _error(404, 10008, "Unknown Message")
        self._need(channel, "VIEW_CHANNEL", "READ_MESSAGE_HISTORY", "ADD_REACTIONS")
        data: dict[str, Any] = {
            "user_id": str(BOT_ID),
            "channel_id": str(channel["id"]),
            "message_id": str(message_id),
            "emoji": {"id": None, "name": request.match_info["emoji"]},
            "message_author_id": str(BOT_ID),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if channel["guild_id"] is not None:
            data["guild_id"] = str(channel["guild_id"])
        # Discord tells the bot about its own reaction too; drillbot must ignore it.
        guild_shard = (channel["guild_id"] >> 22) % self.shards if channel["guild_id"] else 0
        if any(
            c.session and c.session.shard[0] == guild_shard and not c.ws.closed
            for c in self._connections
        ):
            await self.dispatch("MESSAGE_REACTION_ADD", data)
        return web.Response(status=204)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        payload = request[PAYLOAD] or {}
        kind = payload.get("type")
        data = payload.get("data") or {}
        ephemeral = bool(data.get("flags", 0) & 64)
        token = request.match_info["token"]
        resource: dict[str, Any] = {"type": kind}
        self._original_ephemeral[token] = ephemeral
        if kind == 4:  # a message right away
            message = self._interaction_message(token, data, files=[], ephemeral=ephemeral)
            resource["message"] = message
        return _json(
            {
                "interaction": {
                    "id": request.match_info["id"],
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": resource,
            }
        )

    async def _followup(self, request: web.Request) -> web.Response:
        payload = request[PAYLOAD] or {}
        ephemeral = bool(payload.get("flags", 0) & 64)
        message = self._interaction_message(
            request.match_info["token"], payload, files=request[FILES], ephemeral=ephemeral
        )
        return _json(message)

    async def _edit_original(self, request: web.Request) -> web.Response:
        payload = request[PAYLOAD] or {}
        token = request.match_info["token"]
        # The original response keeps the visibility its deferral chose.
        message = self._interaction_message(
            token,
            payload,
            files=request[FILES],
            ephemeral=self._original_ephemeral.get(token, False),
        )
        return _json(message)

    async def _delete_original(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    def _interaction_message(
        self,
        token: str,
        payload: dict[str, Any],
        *,
        files: list[tuple[str, bytes]],
        ephemeral: bool,
    ) -> dict[str, Any]:
        channel_id = self._interaction_channels.get(token, 0)
        channel = self.channels.get(channel_id) or {"id": channel_id, "guild_id": None}
        message = self._message(channel, payload, files, flags=64 if ephemeral else 0)
        message["_interaction"] = token
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _message(
        self,
        channel: dict[str, Any],
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
        *,
        flags: int = 0,
    ) -> dict[str, Any]:
        message_id = self.snowflake()
        message = {
            "id": str(message_id),
            "channel_id": str(channel["id"]),
            "author": BOT_USER,
            "content": payload.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(self.snowflake()),
                    "filename": name,
                    "size": len(body),
                    "url": f"{self.base_url}/attachments/{name}",
                    "proxy_url": f"{self.base_url}/attachments/{name}",
                    "content_type": "image/png",
                }
                for name, body in files
            ],
            "embeds": payload.get("embeds") or [],
            "components": copy.deepcopy(payload.get("components") or []),
            "pinned": False,
            "type": 19 if payload.get("message_reference") else 0,
            "flags": flags,
        }
        if payload.get("nonce"):
            message["nonce"] = payload["nonce"]
        if channel.get("guild_id"):
            message["guild_id"] = str(channel["guild_id"])
        if payload.get("message_reference"):
            message["message_reference"] = payload["message_reference"]
        self.messages[message_id] = message
        return message

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = _Connection(ws=ws)
        self._connections.append(connection)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                connection.received.append(frame)
                await self._on_gateway_frame(connection, frame)
        finally:
            if connection in self._connections:
                self._connections.remove(connection)
        return ws

    async def _on_gateway_frame(self, connection: _Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:  # heartbeat
            await connection.ws.send_str(json.dumps({"op": 11}))
        elif op == 2:  # identify
            self.identifies.append(data)
            shard = tuple(data.get("shard") or (0, 1))
            session = _Session(session_id=f"session-{self.snowflake()}", shard=shard)  # type: ignore[arg-type]
            self._sessions[session.session_id] = session
            connection.session = session
            session.seq += 1
            ready = {
                "op": 0,
                "t": "READY",
                "s": session.seq,
                "d": {
                    "v": 10,
                    "user": BOT_USER,
                    "guilds": [],
                    "session_id": session.session_id,
                    "resume_gateway_url": self.gateway_url,
                    "shard": list(shard),
                    "application": {"id": str(APPLICATION_ID), "flags": 0},
                },
            }
            await connection.ws.send_str(json.dumps(ready))
        elif op == 6:  # resume
            self.resumes.append(data)
            session = self._sessions[data["session_id"]]
            connection.session = session
            replay = [f for f in session.history if f["s"] > data["seq"]]
            if self._replay_on_resume:
                replay = session.history[-self._replay_on_resume :] + replay
                self._replay_on_resume = 0
            for replayed in replay:
                await connection.ws.send_str(json.dumps(replayed))
            session.seq += 1
            await connection.ws.send_str(
                json.dumps({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
            )


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    if request.method in ("GET", "DELETE") or not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                files.append((part.filename or part.name or "file", bytes(await part.read())))
        return payload, files
    text = await request.text()
    return (json.loads(text) if text else None), []


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with exactly the content type discord.py checks for."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# ---- drillbot itself, served against the fake -------------------------------------------


@dataclass
class RunningBot:
    """drillbot's Discord runner, started against a FakeDiscord; `stop()` ends it."""

    fake: FakeDiscord
    bot: Any  # adapters.discord.app.DiscordBot
    task: asyncio.Task

    @property
    def service(self):
        return self.bot.service

    async def stop(self) -> None:
        await self.bot.client.close()
        await asyncio.wait_for(self.task, 10)


async def run_bot(
    fake: FakeDiscord,
    *,
    database_url: str,
    config: dict[str, Any] | None = None,
    shards: set[int] | None = None,
) -> RunningBot:
    """serve_discord with DISCORD_TOKEN and both endpoint overrides pointing at `fake`."""
    from adapters.discord.runner import API_URL_ENV, GATEWAY_URL_ENV, TOKEN_ENV, serve_discord
    from bank.loader import load_files
    from bot.config import load_settings
    from tests.harness import SMALL_BANK

    settings = load_settings(env={}, database_url=database_url)
    config = {"schedule": {"tick_seconds": 3600}, **(config or {})}
    settings = settings.model_validate({**settings.model_dump(), **config}).model_copy(
        update={"database_url": database_url}
    )
    started: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_start(bot: Any) -> None:
        async def no_identify_wait(shard_id: int | None, *, initial: bool) -> None:
            """Discord allows one IDENTIFY per 5 s; the fake allows any."""

        bot.client.before_identify_hook = no_identify_wait
        started.set_result(bot)

    env = {
        TOKEN_ENV: TOKEN,
        API_URL_ENV: fake.base_url,
        GATEWAY_URL_ENV: fake.gateway_url,
    }
    task = asyncio.create_task(
        serve_discord(
            settings=settings,
            env=env,
            bank=load_files([SMALL_BANK]),
            client_options={"guild_ready_timeout": 0.05},
            started=on_start,
        )
    )
    done, _ = await asyncio.wait({task, started}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong
        raise AssertionError("the bot stopped before it started")
    if not done:
        task.cancel()
        raise AssertionError("the bot did not log in")
    bot = started.result()
    expected = shards if shards is not None else {0}
    await fake.wait_for(lambda: fake.connected_shards() == expected)
    return RunningBot(fake=fake, bot=bot, task=task)


@pytest.fixture(name="fake")
async def fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """The `fake` fixture: a started FakeDiscord, closed after the test."""
    fake = await FakeDiscord().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture(name="sharded_fake")
async def sharded_fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """The `sharded_fake` fixture: a FakeDiscord that tells clients to use two shards."""
    fake = await FakeDiscord(shards=2).start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture(name="running")
async def running_bot_fixture(fake: FakeDiscord, database_url: str) -> AsyncIterator[RunningBot]:
    """The `running` fixture: drillbot's Discord runner against `fake`, stopped after."""
    running = await run_bot(fake, database_url=database_url)
    try:
        yield running
    finally:
        await running.stop()

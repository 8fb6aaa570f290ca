"""A local fake of Slack for tests, on 127.0.0.1: the Web API, response URLs, file uploads
and the Socket Mode WebSocket.

It answers what slack_sdk asks in Slack's documented shapes and records every call the
bot made (`chat.postMessage`, `chat.update`, `chat.postEphemeral`, `reactions.add`,
`conversations.open`, `users.info`, `files.*`, response URLs ...). It checks the bearer
token like Slack does, can answer 429 with Retry-After or any Slack error once, and knows
channels the bot was removed from and members who cannot be messaged.

The other direction, Slack calling the bot, is `SlackSender`: recorded payloads from
tests/fixtures/slack, signed with the signing secret (v0 signatures) and posted.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

FIXTURES = Path(__file__).with_name("fixtures") / "slack"

TEAM = "T0DRILL001"
APP_ID = "A0DRILL001"
BOT_USER = "U0DRILLBOT"
BOT_ID = "B0DRILLBOT"
BOT_TOKEN = "xoxb-0000000001-0000000002-testbottoken0000000000"
APP_TOKEN = "xapp-1-A0DRILL001-0000000003-testapptoken000000000000"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

ANA, BEN, CARA = "U0ANA00001", "U0BEN00002", "U0CARA0003"
STUDY_CHANNEL = "C0STUDY001"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def dm_channel_of(user: str) -> str:
    """The fake's DM channel id for a member: D + the user id's tail."""
    return "D" + user[1:]


@dataclass
class Call:
    """One request the bot made: a Web API method, `upload` or `response_url`."""

    method: str
    args: dict[str, Any]
    token: str | None = None  # "bot", "app", or None when missing / wrong
    ok: bool = True


@dataclass
class _Failure:
    method: str
    error: str
    status: int = 200
    retry_after: float | None = None
    times: int = 1


@dataclass
class FakeSlack:
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone_channels: dict[str, str] = field(default_factory=dict)
    closed_dms: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    reactions: list[tuple[str, str, str]] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._failures: list[_Failure] = []
        self._holds: dict[str, asyncio.Event] = {}
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._server: TestServer | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acked: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._socket_ready = asyncio.Event()

    # ---- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/commands/{rest:.*}", self._response_url)
        app.router.add_post("/actions/{rest:.*}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, kind: str = "commands") -> str:
        """A fresh response URL in Slack's shape, served by this fake."""
        return f"{self.base_url}/{kind}/{TEAM}/{next(self._ts)}/{uuid.uuid4().hex[:24]}"

    # ---- setting the scene -----------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        tz: str = "UTC",
        admin: bool = False,
        owner: bool = False,
    ) -> None:
        """A member as users.info describes them (Slack's documented user object)."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM,
            "name": name.lower(),
            "deleted": False,
            "real_name": name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": 0,
            "profile": {"real_name": name, "display_name": name, "team": TEAM},
            "is_admin": admin,
            "is_owner": owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1732000000,
        }

    def hold(self, method: str) -> asyncio.Event:
        """Keep every `method` call waiting until the returned event is set."""
        gate = asyncio.Event()
        self._holds[method] = gate
        return gate

    def rate_limit_next(self, method: str, *, retry_after: float, times: int = 1) -> None:
        self._failures.append(
            _Failure(method, "ratelimited", status=429, retry_after=retry_after, times=times)
        )

    def fail_next(self, method: str, error: str, *, status: int = 200, times: int = 1) -> None:
        self._failures.append(_Failure(method, error, status=status, times=times))

    # ---- what tests look at --------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def visible(self) -> list[Call]:
        """Calls a member could notice: everything but bolt's own auth.test."""
        return [call for call in self.calls if call.method != "auth.test"]

    def methods(self) -> set[str]:
        return {call.method for call in self.calls if call.ok}

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """chat.postMessage calls that succeeded, oldest first (with the ts they got)."""
        return [
            call.args
            for call in self.of("chat.postMessage")
            if call.ok
            and "ts" in call.args
            and (channel is None or call.args.get("channel") == channel)
        ]

    def cards(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [args for args in self.posted(channel) if card_post_id(args) is not None]

    def ephemerals(self) -> list[dict[str, Any]]:
        """Private answers, by response URL or chat.postEphemeral."""
        return [c.args for c in self.calls if c.method in ("response_url", "chat.postEphemeral")]

    async def wait_for(self, check: Callable[[], Any], *, within: float = 15.0) -> Any:
        """For a bot in another process or behind a WebSocket; in-process tests drain."""
        deadline = time.monotonic() + within
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("the fake Slack never saw what the test waited for")
            await asyncio.sleep(0.05)

    # ---- Socket Mode -------------------------------------------------------------------

    async def socket_connected(self) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), 15)

    async def socket_send(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Push one envelope (events_api, slash_commands, interactive) and return the
        bot's acknowledgement."""
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acked[envelope_id] = future
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": payload,
            }
        )
        return await asyncio.wait_for(future, 15)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._socket_ready.set()
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            self.socket_acks.append(data)
            future = self._acked.pop(data.get("envelope_id", ""), None)
            if future is not None and not future.done():
                future.set_result(data)
        self._sockets.remove(socket)
        return socket

    # ---- the Web API -------------------------------------------------------------------

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1764000000 + n}.{n:06d}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request)
        kind = {self.bot_token: "bot", self.app_token: "app"}.get(token or "")
        call = Call(method=method, args=args, token=kind)
        self.calls.append(call)
        if method in self._holds:
            await self._holds[method].wait()
        wanted = "app" if method == "apps.connections.open" else "bot"
        if kind != wanted:
            return _slack_error(call, "invalid_auth")
        failure = self._take_failure(method)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(int(failure.retry_after))
            return _slack_error(call, failure.error, status=failure.status, headers=headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _slack_error(call, "unknown_method", status=404)
        result = handler(call)
        if isinstance(result, str):
            return _slack_error(call, result)
        return web.json_response({"ok": True, **result})

    def _take_failure(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _auth_test(self, call: Call) -> dict[str, Any]:
        return {
            "url": "https://drillbot-study.slack.com/",
            "team": "Drillbot Study",
            "user": "drillbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, call: Call) -> dict[str, Any]:
        url = self.base_url.replace("http://", "ws://")
        return {"url": f"{url}/socket?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    def _channel_error(self, channel: str) -> str | None:
        if channel in self.gone_channels:
            return self.gone_channels[channel]
        if channel.startswith("D") and not any(dm_channel_of(u) == channel for u in self.users):
            return "channel_not_found"  # a DM the bot is not part of
        return None

    def _chat_postMessage(self, call: Call) -> dict[str, Any] | str:
        channel = str(call.args.get("channel", ""))
        error = self._channel_error(channel)
        if error:
            return error
        if not call.args.get("text") and not call.args.get("blocks"):
            return "no_text"
        ts = self._next_ts()
        call.args["ts"] = ts
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": call.args.get("text", ""),
            "blocks": call.args.get("blocks", []),
        }
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, call: Call) -> dict[str, Any] | str:
        channel = str(call.args.get("channel", ""))
        error = self._channel_error(channel)
        if error:
            return error
        if not any(p.get("ts") == call.args.get("ts") for p in self.posted(channel)):
            return "message_not_found"
        return {"channel": channel, "ts": call.args["ts"], "text": call.args.get("text", "")}

    def _chat_postEphemeral(self, call: Call) -> dict[str, Any] | str:
        channel = str(call.args.get("channel", ""))
        error = self._channel_error(channel)
        if error:
            return error
        if not call.args.get("user"):
            return "user_not_in_channel"
        return {"message_ts": self._next_ts()}

    def _reactions_add(self, call: Call) -> dict[str, Any] | str:
        channel = str(call.args.get("channel", ""))
        error = self._channel_error(channel)
        if error:
            return error
        key = (channel, str(call.args.get("timestamp")), str(call.args.get("name")))
        if key in self.reactions:
            return "already_reacted"
        self.reactions.append(key)
        return {}

    def _conversations_open(self, call: Call) -> dict[str, Any] | str:
        user = str(call.args.get("users", ""))
        if user in self.closed_dms:
            return self.closed_dms[user]
        if user not in self.users:
            return "user_not_found"
        return {"channel": {"id": dm_channel_of(user)}}

    def _users_info(self, call: Call) -> dict[str, Any] | str:
        user = self.users.get(str(call.args.get("user", "")))
        if user is None:
            return "user_not_found"
        return {"user": copy.deepcopy(user)}

    def _files_getUploadURLExternal(self, call: Call) -> dict[str, Any] | str:
        if not call.args.get("filename") or not call.args.get("length"):
            return "invalid_arguments"
        file_id = f"F0FILE{next(self._files):04d}"
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, call: Call) -> dict[str, Any] | str:
        files = call.args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
            call.args["files"] = files
        channel = call.args.get("channel_id")
        if channel:
            error = self._channel_error(str(channel))
            if error:
                return error
        missing = [f["id"] for f in files if f["id"] not in self.uploads]
        if missing:
            return "file_not_found"
        return {"files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.uploads[file_id] = data
        self.calls.append(Call(method="upload", args={"file_id": file_id, "bytes": len(data)}))
        return web.Response(text=f"OK - {len(data)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["url"] = str(request.url)
        self.calls.append(Call(method="response_url", args=body))
        return web.Response(text="ok")


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in ("blocks", "attachments"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


def _slack_error(
    call: Call, error: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    call.ok = False
    call.args["error"] = error
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


def card_post_id(args: dict[str, Any]) -> int | None:
    """The post id a posted card's Reveal button carries, or None for other messages."""
    for block in args.get("blocks") or []:
        for element in block.get("elements") or []:
            action = str(element.get("action_id") or "")
            if action.startswith("drillbot:reveal:"):
                return int(element["value"])
    return None


def block_text(args: dict[str, Any]) -> str:
    """Everything a member reads in a message: its blocks' text, or its plain text."""
    parts: list[str] = []
    for block in args.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), str):
                parts.append(element["text"])
            elif isinstance(element.get("text"), dict):
                parts.append(element["text"].get("text", ""))
    return "\n".join(parts) if parts else str(args.get("text", ""))


# ---- Slack calling the bot ---------------------------------------------------------------


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    """The headers Slack adds: X-Slack-Request-Timestamp and a v0 signature over both."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


@dataclass
class Delivery:
    status: int
    body: str


class SlackSender:
    """Posts signed requests to the bot the way Slack does, numbering ids as Slack would."""

    def __init__(self, *, url: str, fake: FakeSlack, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.fake = fake
        self.secret = secret
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        retry_num: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Post `body` signed as Slack would; `signature` replaces the signature and
        `headers` any header, as a forger would."""
        sent = {
            "Content-Type": content_type,
            **sign(body, secret=self.secret, timestamp=timestamp),
        }
        if signature is not None:
            sent["X-Slack-Signature"] = signature
        if retry_num is not None:
            sent["X-Slack-Retry-Num"] = str(retry_num)
            sent["X-Slack-Retry-Reason"] = "http_timeout"
        sent.update(headers or {})
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.url, data=body.encode(), headers=sent) as response:
            return Delivery(status=response.status, body=await response.text())

    # -- payloads from the fixtures, filled in ------------------------------------------

    def command_body(self, text: str, *, user: str = ANA, channel: str | None = None) -> dict:
        body = load_fixture("slash_command")
        channel = channel or dm_channel_of(user)
        body.update(
            text=text,
            user_id=user,
            user_name=user.lower(),
            channel_id=channel,
            channel_name="directmessage" if channel.startswith("D") else "study",
            response_url=self.fake.response_url("commands"),
            trigger_id=f"{next(self._ids)}.1234567890.{uuid.uuid4().hex[:16]}",
        )
        return body

    def event_envelope(self, fixture: str, **event: Any) -> dict:
        envelope = load_fixture(fixture)
        envelope["event_id"] = f"Ev0{next(self._ids):09d}"
        envelope["event"].update(event)
        return envelope

    def reaction_envelope(
        self, *, added: bool, user: str, channel: str, ts: str, reaction: str
    ) -> dict:
        envelope = self.event_envelope(
            "event_reaction_added" if added else "event_reaction_removed",
            user=user,
            reaction=reaction,
        )
        envelope["event"]["item"] = {"type": "message", "channel": channel, "ts": ts}
        return envelope

    def action_body(
        self, *, action_id: str, post_id: int, user: str, channel: str, ts: str
    ) -> dict:
        body = load_fixture("block_actions")
        body["user"].update(id=user, username=user.lower(), name=user.lower())
        body["container"].update(channel_id=channel, message_ts=ts)
        body["channel"] = {
            "id": channel,
            "name": "directmessage" if channel.startswith("D") else "study",
        }
        body["message"]["ts"] = ts
        body["actions"][0].update(action_id=action_id, value=str(post_id))
        body["response_url"] = self.fake.response_url("actions")
        body["trigger_id"] = f"{next(self._ids)}.1234567890.{uuid.uuid4().hex[:16]}"
        return body

    # -- sending ---------------------------------------------------------------------------

    async def command(
        self, text: str, *, user: str = ANA, channel: str | None = None, **options: Any
    ) -> Delivery:
        body = urlencode(self.command_body(text, user=user, channel=channel))
        return await self.post(body, content_type="application/x-www-form-urlencoded", **options)

    async def event(self, envelope: dict, **options: Any) -> Delivery:
        return await self.post(json.dumps(envelope), content_type="application/json", **options)

    async def action(self, body: dict, **options: Any) -> Delivery:
        form = urlencode({"payload": json.dumps(body)})
        return await self.post(form, content_type="application/x-www-form-urlencoded", **options)

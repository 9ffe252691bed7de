"""Who may talk to the server, and how much they may send.

Why these rules: the server can spend money (it starts swarms) and shows
prompts and reports. On loopback only local users reach it; anywhere else a
token is required and checked on every request, the event stream included
(``EventSource`` cannot set headers, so ``?token=`` is accepted too, and
answered with an HttpOnly cookie the page's later requests carry). Bodies
are read up to a bound before any handler sees them. Every response says
what the browser may load for it (a Content-Security-Policy): the web view
only its own scripts, styles, images, connections and frames, so markup in
model text could not fetch a remote image (a beacon) or run anything.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swarm_star.errors import ConfigError

__all__ = [
    "MAX_BODY_BYTES",
    "REPORT_CSP",
    "TOKEN_ENV",
    "WEB_VIEW_CSP",
    "BodyLimit",
    "BrowserGuard",
    "SecurityHeaders",
    "TokenGate",
    "check_bind",
    "is_loopback",
]

MAX_BODY_BYTES = 2_000_000
TOKEN_ENV = "SWARM_STAR_TOKEN"
COOKIE = "swarm_star_token"
# The web view: everything from this server only (no inline script or style, no plugins,
# no <base>, framed only by itself). A response that sets its own policy keeps it.
WEB_VIEW_CSP = (
    "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# A report (framed by the web view, or opened alone): no script at all, nothing remote;
# its own inline stylesheet is the one thing it needs.
REPORT_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"binding to {host} exposes the server beyond this machine: give a token with --token or ${TOKEN_ENV}"
        )


async def _send_json(send: Send, status: int, message: str, extra_headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    """An HTTP request gets the JSON error; a WebSocket is closed before it opens (policy violation)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": f"{status}: {message}"[:120]})
        return
    await _send_json(send, status, message, headers)


class TokenGate:
    """ASGI middleware: every HTTP request and WebSocket must carry the token (when one is set)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.token:
            await self.app(scope, receive, send)
            return
        given, from_query = "", False
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value.lower().startswith(b"bearer "):
                given = value[7:].decode("latin-1").strip()
            elif name == b"cookie" and not given:
                cookies = SimpleCookie(value.decode("latin-1"))
                if COOKIE in cookies:
                    given = cookies[COOKIE].value
        if not given:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given, from_query = (query.get("token") or [""])[0], True
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            await _refuse(
                scope,
                send,
                401,
                "a valid token is required: send 'Authorization: Bearer TOKEN' or ?token=TOKEN",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        if not from_query or scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        # Opened as /?token=…: remember it in a strict, HttpOnly cookie so the page's
        # own requests (assets, fetches, the event stream) carry it without the URL.
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _send_json(send, 413, f"request body is larger than {self.limit} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_json(send, 413, f"request body is larger than {self.limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _host_of(value: str) -> str:
    """The host part of a Host header or an Origin URL (no scheme, no port)."""
    value = value.split("://", 1)[-1].split("/", 1)[0]
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class BrowserGuard:
    """ASGI middleware against other web pages driving the server through a browser.

    - A request that changes something (POST) from another origin is refused
      (403): no page elsewhere can start, answer or stop swarms (CSRF). A
      WebSocket from another origin is refused too: browsers let any page open
      one, so without this a page elsewhere could read every frame.
    - Without a token, the Host must be a loopback name, so a DNS-rebinding
      page cannot reach the loopback server under a name of its own.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
        host = headers.get("host", "")
        if not self.token and host and not is_loopback(_host_of(host)):
            why = f"host {host!r} is not a loopback name; use 127.0.0.1 or give the server a token"
            await _refuse(scope, send, 403, why, [])
            return
        origin = headers.get("origin")
        if scope["type"] == "websocket":
            if origin and origin.split("://", 1)[-1].rstrip("/") != host:
                await _refuse(scope, send, 403, f"a WebSocket from another origin ({origin}) is refused", [])
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin and origin != "null":
            if origin.split("://", 1)[-1].rstrip("/") != host:
                await _send_json(send, 403, f"requests from another origin ({origin}) may not change swarms")
                return
        elif scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin == "null":
            await _send_json(send, 403, "requests from an opaque origin may not change swarms")
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: every response carries a Content-Security-Policy (the web view's,
    unless the response set its own), ``nosniff`` and no ``Referer`` to anywhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", WEB_VIEW_CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

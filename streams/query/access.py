"""Who may ask: an optional bearer token, and a Host check for an API bound to loopback.

- **The token** (`TIMELINE_API_TOKEN`): when set, every route but `/health` needs
  `Authorization: Bearer TOKEN`. A browser's EventSource cannot send headers,
  so the page trades the token once for a session cookie (`POST /session`:
  HttpOnly, SameSite=Strict, an HMAC of its expiry under the token, 12 hours).
- **The Host check**: a server on 127.0.0.1 is reachable from a browser through
  DNS rebinding (a name that resolves to 127.0.0.1 after the page loaded), so
  a loopback-bound API answers only requests whose Host names loopback (or
  this worker's advertised URL) with 421.

A pure ASGI middleware, so streaming answers (SSE) pass through untouched.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import orjson

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

COOKIE = "timeline_session"
SESSION_SECONDS = 12 * 3600
OPEN_PATHS = frozenset({"/health", "/"})
"""Answered without the token: /health for supervisors, / (the page, which asks for the token)."""


def is_open(path: str) -> bool:
    """The health check, the page and its static files (the page holds no data)."""
    return path in OPEN_PATHS or path.startswith("/static/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def session_value(token: str, now: float | None = None) -> str:
    """`EXPIRY.HMAC`: valid until EXPIRY, signed with the token (so changing it ends sessions)."""
    expiry = int((time.time() if now is None else now) + SESSION_SECONDS)
    mac = hmac.new(token.encode(), str(expiry).encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{mac}"


def session_valid(token: str, value: str, now: float | None = None) -> bool:
    expiry, _, mac = value.partition(".")
    if not expiry.isdigit():
        return False
    wanted = hmac.new(token.encode(), expiry.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, wanted) and int(expiry) > (time.time() if now is None else now)


class AccessControl:
    """Refuses a request before any route runs: 421 for a foreign Host, 401 without the token."""

    def __init__(self, app: ASGIApp, *, token: str | None, bind_host: str, allowed_hosts: set[str]) -> None:
        self.app = app
        self.token = token
        self.check_host = is_loopback(bind_host)
        self.allowed_hosts = {"localhost", "127.0.0.1", "[::1]", "::1", *allowed_hosts}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        if self.check_host and not self._host_allowed(headers.get("host", "")):
            await _refuse(send, 421, "this API answers only requests addressed to loopback (Host header)")
            return
        path: str = scope["path"]
        if self.token is not None and not is_open(path) and not self._authorised(headers):
            await _refuse(
                send, 401, "this API needs its token: Authorization: Bearer TOKEN (TIMELINE_API_TOKEN)"
            )
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.allowed_hosts

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].encode(), self.token.encode()):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and session_valid(self.token, morsel.value)


def hosts_of(*urls: str) -> set[str]:
    """The host names in these URLs (the advertised URL, the CLI's API URL)."""
    return {host for url in urls if (host := urlsplit(url).hostname)}


async def _refuse(send: Any, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

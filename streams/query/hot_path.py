"""The hottest query, `GET /actors/{id}/stances` with no parameters, answered below the router.

When this worker holds the actor's partition and the answer is one page, the
stored bytes are cut and sent as they are (`local.actor_current_page`); when
another worker holds it, that worker's answer is passed on. The router's
matching and FastAPI's parameter solving cost as much as the rest of the
request (docs/benchmarks.md). Anything else (parameters, an unknown actor,
recovery, an error) goes on to the route, which
gives the same answer the slow way; it sits inside `AccessControl`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import HTTPException

from streams.core.stores import CURRENT
from streams.query import local
from streams.query.access import ASGIApp, Scope
from streams.query.paging import DEFAULT_LIMIT
from streams.query.peers import FORWARDED, Peers

PATH = re.compile(r"/actors/([^/]+)/stances")
FORWARDED_HEADER = FORWARDED.lower().encode()


class HotStances:
    """ASGI middleware: answers the hot query from the stores, or passes the request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = self.answer(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        if isinstance(found, bytes):
            await respond(send, 200, found, {}, "application/json")
            return
        peers, owner = found
        try:
            status, body, headers, content_type = await peers.relay(owner, scope["path"])
        except HTTPException as error:  # the owner did not answer: the 503 the route would give
            body = orjson.dumps({"detail": error.detail})
            await respond(send, error.status_code, body, dict(error.headers or {}), "application/json")
            return
        await respond(send, status, body, headers, content_type)

    @staticmethod
    def answer(scope: Scope) -> bytes | tuple[Peers, str] | None:
        """The page's bytes; or the peers and the URL of the worker holding the actor, to ask it;
        or None when the route must answer."""
        if scope["method"] != "GET" or scope["query_string"]:
            return None
        matched = PATH.fullmatch(scope["path"])
        if matched is None:
            return None
        context = getattr(scope["app"].state, "query", None)
        actor_id = matched[1]  # ASGI's path is percent-decoded already
        if context is None or actor_id not in context.registry.actors:
            return None
        held = context.stores.held()
        if held is None:
            return None
        partition = local.actor_partition(context.stores, actor_id)
        if partition not in held:
            peers = context.peers
            if peers is None or forwarded(scope):
                return None
            owner = peers.owner(CURRENT, partition)
            return None if owner is None or owner == peers.url else (peers, owner)
        try:
            return local.actor_current_page(context.stores, actor_id, DEFAULT_LIMIT)
        except Exception:  # noqa: BLE001 - the route answers instead, with its own error handling
            return None


def forwarded(scope: Scope) -> bool:
    return any(name.lower() == FORWARDED_HEADER and value == b"1" for name, value in scope["headers"])


async def respond(send: Any, status: int, body: bytes, headers: dict[str, str], content_type: str) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})

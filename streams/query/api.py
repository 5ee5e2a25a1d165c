"""The query API, served by every worker (FastAPI; OpenAPI at /docs).

Response models are the schemas themselves. Each worker answers from the
partitions of the tables it holds, forwards a one-actor (or one-event) query
to the worker holding that key, and gathers the matrix and the state hash from
every worker; until the partitions it needs have recovered it answers 503 with
Retry-After, never a stale or partial answer.

Handlers are `async def`: they read the stores on the loop the agents write
them from, so no query sees a half-applied event, and no request hops to a
thread pool. The one exception, `POST /draft`, reads no store: it drafts on a thread of its own.

This module only assembles the app; the routes live in `streams.query.routes`,
one router per resource, and read the `QueryContext` stored on `app.state`.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from streams.query.access import AccessControl
from streams.query.dependencies import QueryContext
from streams.query.hot_path import HotStances
from streams.query.routes import (
    actors,
    changes,
    digests,
    draft,
    events,
    internal,
    issues,
    page,
    session,
    stances,
    state,
)

ROUTERS = (page, state, session, actors, stances, digests, issues, changes, events, draft, internal)


def create_api(
    context: QueryContext,
    changes_reader: Any = None,
    digest_feed: Any = None,
    *,
    token: str | None = None,
    bind_host: str = "127.0.0.1",
    allowed_hosts: frozenset[str] = frozenset(),
) -> FastAPI:
    """The API over `context`; with `token`, every route but /health needs it (streams/query/access.py)."""
    api = FastAPI(
        title="diplomatic-timeline",
        description="Stances of actors on issues, folded from the diplomatic event log.",
        version="0.1.0",
    )
    api.state.query = context
    api.state.token = token
    api.state.changes = changes_reader
    api.state.digests = digest_feed
    api.mount("/static", StaticFiles(directory=str(page.WEB)), name="static")
    for module in ROUTERS:
        api.include_router(module.router)
    api.add_middleware(HotStances)  # inside AccessControl: added first, it runs after it
    api.add_middleware(AccessControl, token=token, bind_host=bind_host, allowed_hosts=set(allowed_hosts))
    return api

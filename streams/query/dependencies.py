"""What the query routers share: the stores, peers and registry `create_api` stored on the app,
the 503-until-ready gate, routing a key to its worker, the 404s for unknown ids, and `as_of`.

Dependencies are `async def`, like the handlers: FastAPI runs a sync dependency in a
thread pool, and these read the stores on the loop the agents write them from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.registry_log import RegistryNames
from schemas.time import Precision, parse_event_time_text
from streams.query.peers import Peers, is_forwarded, recovering
from streams.query.stores import Stores


@dataclass
class QueryContext:
    """What every query reads: this worker's stores, its peers (None: a process of its own)."""

    stores: Stores
    registry: RegistryNames
    """A `Registry`, or the live `RegistryReader` (the registry topic, read as it grows)."""
    peers: Peers | None = None


async def context_of(request: Request) -> QueryContext:
    context: QueryContext = request.app.state.query
    return context


async def registry_of(request: Request) -> RegistryNames:
    registry: RegistryNames = request.app.state.query.registry
    return registry


Context = Annotated[QueryContext, Depends(context_of)]
Known = Annotated[RegistryNames, Depends(registry_of)]


async def ready(request: Request) -> QueryContext:
    """The context once this worker's partitions have recovered; until then 503 with Retry-After."""
    context: QueryContext = request.app.state.query
    if context.stores.held() is None:
        raise recovering("this worker is still recovering its partitions from the changelogs")
    return context


Ready = Annotated[QueryContext, Depends(ready)]


async def forward_unless_held(
    request: Request, context: QueryContext, store: str, key: str
) -> Response | None:
    """None when this worker holds `key`'s partition (answer here); else the owner's answer.

    A request forwarded to us that we no longer hold (the partition moved meanwhile) is a
    503, never forwarded again: two workers with different views of the group cannot loop.
    """
    held = context.stores.held()
    if context.peers is None:
        if held is None:
            raise recovering("this worker is still recovering its partitions from the changelogs")
        return None
    partition, owner = context.peers.owner_of_key(store, key)
    if held is not None and partition in held:
        return None
    if is_forwarded(request) or owner is None or owner == context.peers.url:
        raise recovering(f"partition {partition} is moving between workers or recovering")
    return await context.peers.forward(request, owner)


def known_actor(registry: RegistryNames, actor_id: str) -> Actor:
    actor = registry.actors.get(actor_id)
    if actor is None:
        raise HTTPException(404, f"unknown actor {actor_id!r} (GET /actors lists the known ones)")
    return actor


def known_issue(registry: RegistryNames, issue_id: str) -> Issue:
    issue = registry.issues.get(issue_id)
    if issue is None:
        raise HTTPException(404, f"unknown issue {issue_id!r} (GET /issues lists the known ones)")
    return issue


async def actor_or_404(actor_id: str, request: Request) -> Actor:
    """The `{actor_id}` path parameter's actor."""
    return known_actor(request.app.state.query.registry, actor_id)


async def issue_or_404(issue_id: str, request: Request) -> Issue:
    """The `{issue_id}` path parameter's issue."""
    return known_issue(request.app.state.query.registry, issue_id)


PathActor = Annotated[Actor, Depends(actor_or_404)]
PathIssue = Annotated[Issue, Depends(issue_or_404)]


def end_of(text: str) -> datetime:
    """The last instant a time text covers: "2025-02-18" means up to the end of that day.

    A time past what datetime holds (`9999-12-31` to its end, an offset before year 1) is a 422.
    """
    try:
        start, precision = parse_event_time_text(text)
        if precision is Precision.DAY:
            return start + timedelta(days=1) - timedelta(microseconds=1)
        if precision is Precision.MONTH:
            following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            return following - timedelta(microseconds=1)
        if precision is Precision.YEAR:
            return start.replace(year=start.year + 1) - timedelta(microseconds=1)
        start.timestamp()  # an instant datetime can hold but not place on the clock overflows here
        return start
    except (ValueError, OverflowError) as error:
        raise HTTPException(422, f"as_of: {error}") from error

"""What the query routers share: the view and registry `create_api` stored on the app, the
503-until-ready gate, the 404s for unknown ids, and the `as_of` time parsing.

The dependencies are `async def`, like the handlers: FastAPI runs a sync dependency in a
thread pool, and these read the view on the loop that feeds it. `ready` and the 404s read
`app.state` themselves, not through `View`/`Known`: every nested dependency is solved per request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.registry import Registry
from schemas.time import Precision, parse_event_time_text
from streams.query.view import StanceView


async def view_of(request: Request) -> StanceView:
    """The worker's view, as `create_api` stored it on the app (ready or not)."""
    view: StanceView = request.app.state.view
    return view


async def registry_of(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


View = Annotated[StanceView, Depends(view_of)]
Known = Annotated[Registry, Depends(registry_of)]


async def ready(request: Request) -> StanceView:
    """The view once it has caught up with the changelogs; until then 503 with Retry-After."""
    view: StanceView = request.app.state.view
    if not view.ready:
        raise HTTPException(
            503, "the view is still recovering from the changelogs", headers={"Retry-After": "1"}
        )
    return view


Ready = Annotated[StanceView, Depends(ready)]


def known_actor(registry: Registry, actor_id: str) -> Actor:
    actor = registry.actors.get(actor_id)
    if actor is None:
        raise HTTPException(404, f"unknown actor {actor_id!r} (GET /actors lists the known ones)")
    return actor


def known_issue(registry: Registry, issue_id: str) -> Issue:
    issue = registry.issues.get(issue_id)
    if issue is None:
        raise HTTPException(404, f"unknown issue {issue_id!r} (GET /issues lists the known ones)")
    return issue


async def actor_or_404(actor_id: str, request: Request) -> Actor:
    """The `{actor_id}` path parameter's actor."""
    return known_actor(request.app.state.registry, actor_id)


async def issue_or_404(issue_id: str, request: Request) -> Issue:
    """The `{issue_id}` path parameter's issue."""
    return known_issue(request.app.state.registry, issue_id)


PathActor = Annotated[Actor, Depends(actor_or_404)]
PathIssue = Annotated[Issue, Depends(issue_or_404)]


def end_of(text: str) -> datetime:
    """The last instant a time text covers: "2025-02-18" means up to the end of that day."""
    try:
        start, precision = parse_event_time_text(text)
    except ValueError as error:
        raise HTTPException(422, f"as_of: {error}") from error
    if precision is Precision.DAY:
        return start + timedelta(days=1) - timedelta(microseconds=1)
    if precision is Precision.MONTH:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(microseconds=1)
    if precision is Precision.YEAR:
        return start.replace(year=start.year + 1) - timedelta(microseconds=1)
    return start

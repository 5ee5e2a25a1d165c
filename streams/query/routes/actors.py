"""/actors: the registry's actors, and each actor's stances, timeline and history.

An actor's stances and claims live in one partition (the stance tables are placed
by actor): the worker holding it answers, any other forwards the request there.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from schemas.actors import Actor, Role
from schemas.stances import Stance
from streams.core.records import StoredStance
from streams.core.stores import CURRENT, HISTORY
from streams.query import local
from streams.query.dependencies import (
    Context,
    Known,
    PathActor,
    QueryContext,
    end_of,
    forward_unless_held,
    known_actor,
    known_issue,
)
from streams.query.paging import DEFAULT_LIMIT, Cursor, Limit, Page, micros, page_of
from streams.query.routes.internal import json_response

AsOf = Annotated[str | None, Query(description="A date or an instant: the stances then.")]


class HistoryEntry(BaseModel):
    """A claim on an actor's timeline, with the roles the actor held that day."""

    stance: Stance
    retracted_by: str | None = None
    roles: list[Role] = []


router = APIRouter()


def claim_position(claim: Stance) -> list[Any]:
    """Event-time order, as the fold orders claims (docs/semantics.md), then the issue."""
    return [micros(claim.occurred_at.at), micros(claim.recorded_at), claim.event_id, claim.issue_id]


@router.get("/actors", response_model=Page[Actor])
async def actors(registry: Known, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    return page_of(sorted(registry.actors.values(), key=lambda a: a.id), lambda a: [a.id], cursor, limit)


@router.get("/actors/{actor_id}", response_model=Actor)
async def actor(actor: PathActor) -> Any:
    return actor


@router.get("/actors/{actor_id}/stances", response_model=Page[Stance])
async def actor_stances(
    request: Request,
    actor_id: str,
    as_of: AsOf = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """The actor's stance on each issue, now or as of a moment, by issue."""
    # The context and the 404 without FastAPI's dependency solving: the hottest route pays
    # for each dependency on every request (docs/benchmarks.md).
    context: QueryContext = request.app.state.query
    actor = known_actor(context.registry, actor_id)
    moment = end_of(as_of) if as_of else None
    if (forwarded := await forward_unless_held(request, context, CURRENT, actor.id)) is not None:
        return forwarded
    if moment is None and cursor is None:  # the hot path: the stored JSON cut, not parsed
        if (body := local.actor_current_page(context.stores, actor.id, limit)) is not None:
            return Response(body, media_type="application/json")
    if moment is None:
        documents = local.actor_current_documents(context.stores, actor.id)
        page = page_of(documents, lambda document: [document["issue_id"]], cursor, limit)
        return json_response({"items": page.items, "next": page.next})
    found = local.actor_stances(context.stores, actor.id, moment)
    return page_of(found, lambda stance: [stance.issue_id], cursor, limit)


@router.get("/actors/{actor_id}/timeline", response_model=Page[Stance])
async def actor_timeline(
    request: Request,
    context: Context,
    actor: PathActor,
    registry: Known,
    issue: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """The actor's live claims in event-time order (retracted ones left out)."""
    if issue is not None:
        known_issue(registry, issue)
    if (forwarded := await forward_unless_held(request, context, HISTORY, actor.id)) is not None:
        return forwarded
    return page_of(local.actor_claims(context.stores, actor.id, issue), claim_position, cursor, limit)


@router.get("/actors/{actor_id}/history", response_model=Page[HistoryEntry])
async def actor_history(
    request: Request, context: Context, actor: PathActor, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    """Every claim of the actor, retracted ones included and marked, in event-time order."""
    if (forwarded := await forward_unless_held(request, context, HISTORY, actor.id)) is not None:
        return forwarded
    claims: list[StoredStance] = local.actor_claims(context.stores, actor.id, withdrawn=True)
    page = page_of(claims, claim_position, cursor, limit)
    entries = [
        HistoryEntry(
            stance=claim.as_stance(),
            retracted_by=local.retracted_by(claim),
            roles=actor.roles_on(claim.occurred_at.at.date()),
        )
        for claim in page.items
    ]
    return Page[HistoryEntry](items=entries, next=page.next)

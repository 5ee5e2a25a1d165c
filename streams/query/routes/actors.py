"""/actors: the registry's actors, and each actor's stances, timeline and history from the view."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from schemas.actors import Actor, Role
from schemas.stances import Stance
from streams.core.fold import order_key
from streams.query.dependencies import Known, PathActor, Ready, end_of, known_issue


class HistoryEntry(BaseModel):
    """A claim on an actor's timeline, with the roles the actor held that day."""

    stance: Stance
    retracted_by: str | None = None
    roles: list[Role] = []


router = APIRouter()


@router.get("/actors", response_model=list[Actor])
async def actors(registry: Known) -> Any:
    return sorted(registry.actors.values(), key=lambda actor: actor.id)


@router.get("/actors/{actor_id}", response_model=Actor)
async def actor(actor: PathActor) -> Any:
    return actor


@router.get("/actors/{actor_id}/stances", response_model=list[Stance])
async def actor_stances(
    view: Ready,
    actor: PathActor,
    as_of: Annotated[str | None, Query(description="A date or an instant: the stances then.")] = None,
) -> Any:
    return view.stances_of(actor.id, end_of(as_of) if as_of else None)


@router.get("/actors/{actor_id}/timeline", response_model=list[Stance])
async def actor_timeline(view: Ready, actor: PathActor, registry: Known, issue: str | None = None) -> Any:
    if issue is not None:
        known_issue(registry, issue)
    return view.timeline(actor.id, issue)


@router.get("/actors/{actor_id}/history", response_model=list[HistoryEntry])
async def actor_history(view: Ready, actor: PathActor) -> Any:
    """Every claim of the actor, retracted ones included and marked, in event-time order."""
    entries: list[tuple[Stance, str | None]] = [(claim, None) for claim in view.timeline(actor.id)]
    entries += view.retracted_claims(actor.id)
    entries.sort(key=lambda entry: order_key(entry[0]))
    return [
        HistoryEntry(stance=claim, retracted_by=retracted, roles=actor.roles_on(claim.occurred_at.at.date()))
        for claim, retracted in entries
    ]

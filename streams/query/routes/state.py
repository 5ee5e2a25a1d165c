"""/health and /state/hash: whether the view is ready, and a hash of it to compare workers by.

/health answers without the `ready` gate: while recovering it is a 503 whose body
still says how far the view has got.
"""

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from streams.core.stores import CURRENT, EVENTS
from streams.query.dependencies import Ready, View


class Health(BaseModel):
    status: str
    ready: bool
    events: int
    stances: int
    claims: int


class StateHash(BaseModel):
    sha256: str
    events: int
    stances: int
    claims: int


router = APIRouter()


@router.get("/health", response_model=Health)
async def health(view: View) -> Any:
    body = Health(
        status="ok" if view.ready else "recovering",
        ready=view.ready,
        events=len(view.events),
        stances=len(view.current),
        claims=view.claim_count,
    )
    if not view.ready:
        raise HTTPException(503, body.model_dump(), headers={"Retry-After": "1"})
    return body


@router.get("/state/hash", response_model=StateHash)
async def state(view: Ready) -> Any:
    return StateHash(
        sha256=view.hash(),
        events=len(view.raw[EVENTS]),
        stances=len(view.raw[CURRENT]),
        claims=view.claim_count,
    )

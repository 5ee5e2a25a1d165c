"""/health, /ping and /state/hash: whether this worker serves, and a hash of the whole state.

/health answers without the `ready` gate and only for this worker (cheap, for
supervisors): while recovering it is a 503 whose body still says so. /state/hash
gathers every partition's hash and counts from every worker.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from streams.query.dependencies import Context, Ready
from streams.query.gather import gather, local_summaries, merge_summaries
from streams.query.routes.internal import json_response


class Health(BaseModel):
    status: str
    ready: bool
    partitions: list[int]
    """The partitions this worker serves (empty while it recovers)."""
    workers: int
    """Workers in the group, as the last assignment named them (1 for a worker on its own)."""
    changes_skipped: int = 0
    """Records on the change topic this worker's reader skipped as not a stance change."""


class StateHash(BaseModel):
    sha256: str
    events: int
    stances: int
    claims: int
    partitions: int


router = APIRouter()


@router.get("/health", response_model=Health)
async def health(context: Context, request: Request) -> Any:
    held = context.stores.held()
    peers = context.peers
    reader = request.app.state.changes
    body = Health(
        status="ok" if held is not None else "recovering",
        ready=held is not None,
        partitions=sorted(held or ()),
        workers=len(peers.distribution()) if peers is not None else 1,
        changes_skipped=getattr(reader, "skipped", 0),
    )
    if held is None:
        raise HTTPException(503, body.model_dump(), headers={"Retry-After": "1"})
    return body


@router.get("/ping", include_in_schema=False)
async def ping() -> dict[str, bool]:
    """A fixed small answer: the HTTP floor the bench measures queries against."""
    return {"ok": True}


@router.get("/state/hash", response_model=StateHash)
async def state(context: Ready) -> Any:
    """The hash of every partition's hash, in partition order, with the state's counts."""

    async def read_local(held: frozenset[int]) -> dict[int, Any]:
        return await local_summaries(context, held)

    parts = await gather(context, "/internal/summary", {}, read_local)
    return json_response(merge_summaries(parts))

"""/stances: the stance matrix, every actor on every issue, gathered from every worker.

A router of its own rather than a part of issues.py: the matrix is neither one
actor's nor one issue's, and it reads only the stores, never the registry.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from schemas.stances import Stance
from streams.query.dependencies import QueryContext, Ready, end_of
from streams.query.gather import gather, local_matrix, matrix_params, merge_matrix
from streams.query.paging import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor
from streams.query.routes.internal import json_response

router = APIRouter()


async def matrix(
    context: QueryContext, *, as_of: str | None, issue: str | None, limit: int, cursor: str | None
) -> Response:
    """A page of the matrix (all issues, or one), current or as of a moment."""
    moment = end_of(as_of) if as_of else None
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, str):
        raise HTTPException(422, "cursor: not a cursor of this list")

    async def read_local(held: frozenset[int]) -> dict[int, Any]:
        return await local_matrix(context, held, after=after, limit=limit, moment=moment, issue_id=issue)

    parts = await gather(context, "/internal/matrix", matrix_params(after, limit, as_of, issue), read_local)
    return json_response(merge_matrix(parts, limit, as_of=moment is not None))


@router.get("/stances", response_model=Page[Stance])
async def all_stances(
    context: Ready,
    as_of: Annotated[str | None, Query(description="A date or an instant: the stances then.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """Every actor's stance on every issue (the stance matrix), by actor then issue."""
    return await matrix(context, as_of=as_of, issue=None, limit=limit, cursor=cursor)

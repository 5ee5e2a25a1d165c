"""/internal/...: one worker's answer for each partition it holds, for the worker gathering them.

Not in the OpenAPI schema: a client asks /stances or /state/hash, and whichever
worker it reaches asks the others here (streams/query/gather.py).
"""

from typing import Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from streams.query.dependencies import Ready, end_of
from streams.query.gather import local_matrix, local_summaries
from streams.query.paging import MAX_LIMIT
from streams.query.peers import recovering

router = APIRouter(prefix="/internal", include_in_schema=False)


def json_response(body: Any) -> Response:
    """JSON written by orjson, without validating it again against a response model."""
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), media_type="application/json")


@router.get("/matrix")
async def matrix_parts(
    context: Ready,
    limit: int = Query(ge=1, le=MAX_LIMIT),
    after: str | None = None,
    as_of: str | None = None,
    issue: str | None = None,
) -> Response:
    held = context.stores.held()
    if held is None:
        raise recovering("this worker is still recovering its partitions from the changelogs")
    moment = end_of(as_of) if as_of else None
    parts = await local_matrix(context, held, after=after, limit=limit, moment=moment, issue_id=issue)
    return json_response({"parts": parts})


@router.get("/summary")
async def summary_parts(context: Ready) -> Response:
    held = context.stores.held()
    if held is None:
        raise recovering("this worker is still recovering its partitions from the changelogs")
    return json_response({"parts": await local_summaries(context, held)})

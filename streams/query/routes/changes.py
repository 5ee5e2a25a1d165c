"""/changes: stance changes since an instant, and the same changes live as server-sent events."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter
from streams.query.dependencies import Ready
from streams.query.view import StanceView

router = APIRouter()


async def change_events(
    request: Request, view: StanceView, filters: ChangeFilter, start: int, keep_alive: float = 15.0
) -> AsyncIterator[str]:
    """The SSE body: matching changes from `start` on, then new ones as they arrive."""
    index = start
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        while index < len(view.changes):
            change = view.changes[index]
            index += 1
            if filters.matches(change):
                quiet_since = time.monotonic()
                yield f"id: {change.change_id}\nevent: stance-change\ndata: {change.model_dump_json()}\n\n"
        if time.monotonic() - quiet_since > keep_alive:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(0.2)


@router.get("/changes", response_model=list[StanceChange])
async def changes(view: Ready, since: datetime | None = None) -> Any:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return view.changes_since(since)


@router.get(
    "/changes/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def change_stream(
    request: Request,
    view: Ready,
    actor: Annotated[list[str] | None, Query(description="Only these actors.")] = None,
    issue: Annotated[list[str] | None, Query(description="Only these issues.")] = None,
    from_start: Annotated[bool, Query(description="Send every change so far first.")] = False,
    last_event_id: Annotated[str | None, Header(description="Resume after this change_id.")] = None,
) -> StreamingResponse:
    """Server-sent events, one `stance-change` per change; `id` is the change_id."""
    filters = ChangeFilter(actors=frozenset(actor or ()), issues=frozenset(issue or ()))
    if last_event_id is not None:
        start = view.change_positions.get(last_event_id, -1) + 1
    else:
        start = 0 if from_start else len(view.changes)
    return StreamingResponse(
        change_events(request, view, filters, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

"""/changes: pages of stance changes read from the change topic, and the topic live as server-sent events.

Both read the topic through the worker's one `ChangeReader` (`app.state.changes`); a cursor,
and a stream's event `id`, is a position in the topic, so a page or a reconnecting browser
(Last-Event-ID) resumes exactly where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from schemas.stances import StanceChange
from schemas.subscriptions import ChangeFilter
from streams.query.change_pages import BadCursor, ChangeCursor, ChangePage
from streams.query.change_reader import ChangeFollower, ChangeReader, NotReady
from streams.query.paging import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter()
logger = logging.getLogger(__name__)

KEEP_ALIVE = 15.0
"""Seconds of quiet before a comment line, so proxies keep an idle stream open."""
RETRY_AFTER = {"Retry-After": "1"}


async def change_reader(request: Request) -> ChangeReader | None:
    """The worker's change reader as stored on the app (ready or not; None if the app has none).

    It raises nothing: a dependency runs before the query is validated, and a bad `since` or
    `limit` must be a 422 whatever the reader's state.
    """
    reader: ChangeReader | None = getattr(request.app.state, "changes", None)
    return reader


def served(reader: ChangeReader | None) -> ChangeReader:
    if reader is None:
        raise NotReady("this worker was started without a change reader")
    return reader


Changes = Annotated[ChangeReader | None, Depends(change_reader)]


@router.get("/changes", response_model=Page[StanceChange])
async def changes(
    reader: Changes,
    since: Annotated[
        datetime | None, Query(description="Only changes detected at or after this instant (naive: UTC).")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Any:
    """Stance changes by detection time, each change_id once per page; follow `next` for the rest.

    With a cursor, `since` is the first page's (kept in the cursor)."""
    try:
        position = None if cursor is None else ChangeCursor.decode(cursor)
        page: ChangePage = await served(reader).page(position, since, limit)
    except BadCursor as error:
        raise HTTPException(422, str(error)) from error
    except (NotReady, KafkaError) as error:
        raise HTTPException(
            503, f"the change topic cannot be read now: {error}", headers=RETRY_AFTER
        ) from error
    return {"items": page.items, "next": page.next}


class _StreamResponse(StreamingResponse):
    """A stream that gives its connection slot back however it ends (done, cancelled, failed)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def change_events(
    request: Request, follower: ChangeFollower, filters: ChangeFilter, keep_alive: float = KEEP_ALIVE
) -> AsyncIterator[str]:
    """The SSE body: matching changes after the follower's cursor, then new ones as they arrive;
    each event's `id` is the cursor right after its change."""
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        try:
            found = await follower.next(timeout=0.5)
        except (NotReady, KafkaError) as error:
            if follower.reader.should_stop:
                return  # the worker is stopping: end the stream, the browser reconnects elsewhere
            logger.warning("changes stream: cannot read the change topic now (%s); trying again", error)
            found = []
            await asyncio.sleep(1.0)
        for change, cursor in found:
            if filters.matches(change):
                quiet_since = time.monotonic()
                yield (f"id: {cursor.encode()}\nevent: stance-change\ndata: {change.model_dump_json()}\n\n")
        if time.monotonic() - quiet_since > keep_alive:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"


async def stream_start(reader: ChangeReader, last_event_id: str | None, from_start: bool) -> ChangeCursor:
    """Where a stream starts: after Last-Event-ID (a cursor); from now when that is not one of
    ours (an old change_id, garbage), never from the first change; else from the start or now."""
    if last_event_id is not None:
        try:
            return reader.check(ChangeCursor.decode(last_event_id.strip()))
        except BadCursor:
            return await reader.now()
    return ChangeCursor({}) if from_start else await reader.now()


@router.get(
    "/changes/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        503: {"description": "Too many open streams, or the change topic is not open yet: try again."},
    },
)
async def change_stream(
    request: Request,
    reader: Changes,
    actor: Annotated[list[str] | None, Query(description="Only these actors.")] = None,
    issue: Annotated[list[str] | None, Query(description="Only these issues.")] = None,
    from_start: Annotated[bool, Query(description="Send every change so far first.")] = False,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this event's id (a cursor).")
    ] = None,
) -> StreamingResponse:
    """Server-sent events, one `stance-change` per change; `id` is the cursor after it, so a
    reconnecting EventSource resumes exactly where it stopped."""
    filters = ChangeFilter(actors=frozenset(actor or ()), issues=frozenset(issue or ()))
    if reader is None:
        raise HTTPException(503, "this worker was started without a change reader", RETRY_AFTER)
    cap = reader.settings.sse_max_connections
    if reader.open_streams >= cap:
        raise HTTPException(503, f"{cap} change streams are open, the most this worker serves", RETRY_AFTER)
    reader.open_streams += 1
    try:
        start = await stream_start(reader, last_event_id, from_start)
    except BaseException as error:
        reader.open_streams -= 1
        if isinstance(error, NotReady | KafkaError):
            raise HTTPException(503, f"the change topic cannot be read now: {error}", RETRY_AFTER) from error
        raise

    def release() -> None:
        reader.open_streams -= 1

    return _StreamResponse(change_events(request, reader.follower(start), filters), release)

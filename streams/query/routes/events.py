"""/events/{id}: one event as the log holds it, and the event that retracted it if any.

Events are placed by event_id: the worker holding its partition answers.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from streams.core.stores import EVENTS
from streams.query import local
from streams.query.dependencies import Context, forward_unless_held


class EventDocument(BaseModel):
    event_id: str
    event: dict[str, Any] | None
    retracted_by: str | None


router = APIRouter()


@router.get("/events/{event_id}", response_model=EventDocument)
async def event(event_id: str, request: Request, context: Context) -> Any:
    if (forwarded := await forward_unless_held(request, context, EVENTS, event_id)) is not None:
        return forwarded
    record = local.event_record(context.stores, event_id)
    if record is None or record.event is None:
        raise HTTPException(404, f"no event {event_id!r} in the log")
    return EventDocument(event_id=event_id, event=record.event, retracted_by=record.retracted_by)

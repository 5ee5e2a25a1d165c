"""/events/{id}: one event as the log holds it, and the event that retracted it if any."""

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from streams.query.dependencies import Ready


class EventDocument(BaseModel):
    event_id: str
    event: dict[str, Any] | None
    retracted_by: str | None


router = APIRouter()


@router.get("/events/{event_id}", response_model=EventDocument)
async def event(event_id: str, view: Ready) -> Any:
    record = view.events.get(event_id)
    if record is None or record.event is None:
        raise HTTPException(404, f"no event {event_id!r} in the log")
    return EventDocument(event_id=event_id, event=record.event, retracted_by=record.retracted_by)

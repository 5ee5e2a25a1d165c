"""Test data shared by several test modules: a first stance taken on an issue, as a change."""

from __future__ import annotations

from datetime import datetime

from schemas.stances import ChangeKind, Position, Stance, StanceChange
from schemas.time import EventTime, Precision


def new_stance_change(
    change_id: str,
    event_id: str,
    detected: datetime,
    *,
    occurred: datetime | None = None,
    actor_id: str = "keir-starmer",
    quote: str | None = None,
    score: float = 0.6,
    basis: str | None = None,
) -> StanceChange:
    """A `new` change: `actor_id` takes a first stance on us-backstop at `event_id`."""
    stance = Stance(
        actor_id=actor_id,
        issue_id="us-backstop",
        position=Position.SUPPORT,
        score=score,
        confidence=0.9,
        quote=quote,
        basis=basis,
        event_id=event_id,
        occurred_at=EventTime(at=occurred or detected, precision=Precision.DAY),
        recorded_at=detected,
    )
    return StanceChange(
        change_id=change_id,
        actor_id=actor_id,
        issue_id="us-backstop",
        kind=ChangeKind.NEW,
        current=stance,
        event_id=event_id,
        occurred_at=stance.occurred_at,
        detected_at=detected,
    )

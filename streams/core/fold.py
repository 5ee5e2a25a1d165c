"""The fold: stance claims -> current stance, history, as-of, and changes. Pure.

The current stance of (actor, issue) is the claim with the latest event time
(`occurred_at`); ties go to the later `recorded_at`, then the larger
event_id (docs/semantics.md, "Event time wins"). Claims are a set: the same
claims in any order give the same current stance, so live processing and a
replay agree (docs/semantics.md, "Replay is exact").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas.events import DiplomaticEvent
from schemas.stances import ChangeKind, Position, Stance, StanceChange
from schemas.time import EventTime

OrderKey = tuple[datetime, datetime, str]


def order_key(stance: Stance) -> OrderKey:
    """Event time first, then publication time, then the event id."""
    return (stance.occurred_at.at, stance.recorded_at, stance.event_id)


def claims_of(event: DiplomaticEvent) -> list[Stance]:
    """The stance claims of an accepted (published) event, as stances."""
    assert event.event_id is not None and event.recorded_at is not None
    return [
        Stance(
            actor_id=claim.actor_id,
            issue_id=claim.issue_id,
            position=claim.position,
            score=claim.score,
            confidence=claim.confidence,
            quote=claim.quote,
            basis=claim.basis,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
        )
        for claim in event.stances
    ]


def stance_documents(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stance claims of an accepted event as the JSON of `claims_of`, from the event's JSON.

    `document` is the event dumped with `model_dump(mode="json")`, with its
    event_id and recorded_at set. The event step only sends its claims on, so
    it takes them from the document it already has instead of building a
    `Stance` per claim (a unit test holds the two equal).
    """
    event_id, recorded_at = document["event_id"], document["recorded_at"]
    assert event_id is not None and recorded_at is not None
    occurred_at = document["occurred_at"]
    return [
        {
            "actor_id": claim["actor_id"],
            "issue_id": claim["issue_id"],
            "position": claim["position"],
            "score": claim["score"],
            "confidence": claim["confidence"],
            "quote": claim["quote"],
            # in the model's order, and only when there is one (as the model writes it)
            **({"basis": claim["basis"]} if claim.get("basis") is not None else {}),
            "event_id": event_id,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
        }
        for claim in document["stances"]
    ]


def newer(candidate: Stance, current: Stance | None) -> bool:
    """Whether `candidate` replaces `current` as the current stance."""
    return current is None or order_key(candidate) > order_key(current)


def current_of(claims: Iterable[Stance]) -> Stance | None:
    """The current stance among a key's claims (None for no claims)."""
    return max(claims, key=order_key, default=None)


def as_of(claims: Iterable[Stance], moment: datetime) -> Stance | None:
    """The stance at `moment`: the fold of the claims that happened at or before it.

    See docs/semantics.md, "As of, on two axes" (only the event-time axis is built).
    """
    return current_of(claim for claim in claims if claim.occurred_at.at <= moment)


def _side(stance: Stance) -> int:
    if stance.position is Position.SUPPORT or (stance.position is not Position.OPPOSE and stance.score > 0):
        return 1
    if stance.position is Position.OPPOSE or stance.score < 0:
        return -1
    return 0


def change_kind(previous: Stance | None, current: Stance | None, threshold: float) -> ChangeKind | None:
    """What kind of change going from `previous` to `current` is, or None if it is not one.

    See docs/semantics.md, "A change is a change".

    A first stance is `new`; a stance removed with nothing left is `withdrawn`;
    a flip of side (support to oppose, or the score's sign) is `reversed`; another
    position, or a score move of at least `threshold`, is `shifted`.
    """
    if previous is None:
        return ChangeKind.NEW if current is not None else None
    if current is None:
        return ChangeKind.WITHDRAWN
    if previous.event_id == current.event_id:
        return None
    before, after = _side(previous), _side(current)
    if before * after < 0:
        return ChangeKind.REVERSED
    if previous.position != current.position:
        return ChangeKind.SHIFTED
    if abs(current.score - previous.score) >= threshold - 1e-12:
        return ChangeKind.SHIFTED
    return None


def change_id(actor_id: str, issue_id: str, previous: Stance | None, current: Stance | None) -> str:
    """Deterministic: the same transition re-sent after a crash has the same id."""
    parts = [actor_id, issue_id, previous.event_id if previous else "-", current.event_id if current else "-"]
    return "chg-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def make_change(
    kind: ChangeKind,
    actor_id: str,
    issue_id: str,
    previous: Stance | None,
    current: Stance | None,
    cause_event_id: str,
    cause_occurred_at: EventTime,
    detected_at: datetime,
) -> StanceChange:
    return StanceChange(
        change_id=change_id(actor_id, issue_id, previous, current),
        actor_id=actor_id,
        issue_id=issue_id,
        kind=kind,
        previous=previous,
        current=current,
        event_id=cause_event_id,
        occurred_at=cause_occurred_at,
        detected_at=detected_at,
    )

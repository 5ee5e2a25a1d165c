"""Stances: what an actor holds on an issue, the claims that set it, and its changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.actors import Slug
from schemas.time import EventTime, require_utc


def _absent(value: object) -> bool:
    """`basis` is left out when there is none, so that what was written before it existed (events,
    their fingerprints and ids, stored stances) keeps its bytes (docs/semantics.md, "Replay is exact")."""
    return value is None


class Position(StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    CONDITIONAL = "conditional"
    NEUTRAL = "neutral"
    AMBIGUOUS = "ambiguous"


class StanceClaim(BaseModel):
    """One stance an event attributes to an actor on an issue.

    `actor_id` may be written as an alias ("Sir Keir") by a publisher; the
    registry resolves it to the id before the event is sent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor_id: str = Field(min_length=1, max_length=200)
    issue_id: Slug
    position: Position
    score: float = Field(ge=-1.0, le=1.0, description="-1 fully against … +1 fully for.")
    confidence: float = Field(default=1.0, ge=0.0, le=1.0, description="How sure the reading is.")
    quote: str | None = Field(default=None, max_length=4000)
    basis: str | None = Field(
        default=None,
        max_length=4000,
        exclude_if=_absent,
        description="The analyst's reading behind the claim, in words (the quote is the actor's own).",
    )

    @model_validator(mode="after")
    def _sign_matches_position(self) -> StanceClaim:
        if self.position is Position.SUPPORT and self.score <= 0:
            raise ValueError(f"position 'support' needs a score above 0, got {self.score}")
        if self.position is Position.OPPOSE and self.score >= 0:
            raise ValueError(f"position 'oppose' needs a score below 0, got {self.score}")
        return self


class Stance(BaseModel):
    """The stance an actor holds on an issue, with the event that set it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor_id: Slug
    issue_id: Slug
    position: Position
    score: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    quote: str | None = None
    basis: str | None = Field(default=None, exclude_if=_absent, description="The analyst's reading.")
    event_id: str
    occurred_at: EventTime
    recorded_at: datetime

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return require_utc(value)


class ChangeKind(StrEnum):
    NEW = "new"
    """A first stance of this actor on this issue."""
    SHIFTED = "shifted"
    """Same side, but the position or the score moved by at least the threshold."""
    REVERSED = "reversed"
    """The sign of the stance flipped (support to oppose or back)."""
    WITHDRAWN = "withdrawn"
    """A retraction removed the stance (or every claim behind it)."""


class StanceChange(BaseModel):
    """A change in the current stance of (actor, issue), as published on the change topic.

    `change_id` is deterministic (derived from actor, issue and the stances
    before and after), so a change re-sent after a crash is recognisable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    change_id: str
    actor_id: Slug
    issue_id: Slug
    kind: ChangeKind
    previous: Stance | None = None
    current: Stance | None = None
    event_id: str = Field(description="The event that caused the change.")
    occurred_at: EventTime = Field(description="When the causing event happened.")
    detected_at: datetime

    @field_validator("detected_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return require_utc(value)

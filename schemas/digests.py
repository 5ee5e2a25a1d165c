"""Digests: what changed for one subscription in one window of detection time."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.actors import Slug
from schemas.stances import StanceChange
from schemas.time import require_utc


class DigestGroup(BaseModel):
    """The changes of one (actor, issue) in a window, oldest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor_id: Slug
    issue_id: Slug
    changes: tuple[StanceChange, ...]


class Digest(BaseModel):
    """One subscription's window [window_start, window_end) and what changed in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digest_id: str = Field(description="Derived from (subscription, window): one per window.")
    subscription_id: str = Field(min_length=1)
    window_start: datetime
    window_end: datetime
    generated_at: datetime
    groups: tuple[DigestGroup, ...] = ()
    text: str | None = None
    markdown: str | None = None
    html: str | None = None

    @field_validator("window_start", "window_end", "generated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return require_utc(value)

    @model_validator(mode="after")
    def _window_ordered(self) -> Digest:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self

    @property
    def change_count(self) -> int:
        return sum(len(group.changes) for group in self.groups)

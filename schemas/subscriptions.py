"""What a subscriber or a digest asks for: change filters and digest subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.actors import Slug
from schemas.stances import ChangeKind, StanceChange


def score_move(change: StanceChange) -> float:
    """How far the score moved: a first stance or a withdrawal counts its whole score."""
    before = change.previous.score if change.previous is not None else 0.0
    after = change.current.score if change.current is not None else 0.0
    return abs(after - before)


class ChangeFilter(BaseModel):
    """Which stance changes to keep; an empty set means "any"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actors: frozenset[Slug] = frozenset()
    issues: frozenset[Slug] = frozenset()
    kinds: frozenset[ChangeKind] = frozenset()
    min_score_move: float = Field(default=0.0, ge=0.0, le=2.0)

    def matches(self, change: StanceChange) -> bool:
        return (
            (not self.actors or change.actor_id in self.actors)
            and (not self.issues or change.issue_id in self.issues)
            and (not self.kinds or change.kind in self.kinds)
            and score_move(change) >= self.min_score_move
        )


class CronSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["cron"] = "cron"
    cron: str = Field(description="Five crontab fields, e.g. '0 8 * * *' for 08:00 every day.")


class IntervalSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["interval"] = "interval"
    seconds: int = Field(gt=0, description="Length of each window.")


Schedule = Annotated[CronSchedule | IntervalSchedule, Field(discriminator="kind")]


SinkKind = Literal["stdout", "file", "topic", "webhook", "smtp"]
SINK_KINDS: tuple[str, ...] = get_args(SinkKind)
"""Every kind of sink, listed once: the CLI, the model and `make_sink` read it from here."""


class SinkConfig(BaseModel):
    """Where a digest goes: `stdout`, `file`, `topic`, `webhook` or `smtp`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SinkKind
    target: str | None = Field(
        default=None,
        description="file: a folder; webhook: the URL; smtp: host:port/to@address; none otherwise.",
    )
    format: Literal["text", "markdown", "html"] = "markdown"
    secret: str | None = Field(default=None, description="webhook: HMAC-SHA256 key for the signature.")

    @property
    def sink_id(self) -> str:
        return f"{self.kind}:{self.target or ''}"


class DigestSubscription(BaseModel):
    """A named, scheduled digest of the stance changes that match its filters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    schedule: Schedule
    timezone: str = "UTC"
    filters: ChangeFilter = ChangeFilter()
    sinks: tuple[SinkConfig, ...] = (SinkConfig(kind="stdout"),)
    skip_empty: bool = False
    catch_up: Literal["each", "coalesce"] = Field(
        default="each",
        description="After downtime: one digest per missed window, or one covering them all.",
    )
    start: datetime | None = Field(
        default=None,
        description="The first window is the one containing this moment; default: when first scheduled.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like 'Europe/London')"
            ) from error
        return value

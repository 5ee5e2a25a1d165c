"""Event time with its precision.

Reporting often knows only the day ("next Thursday") or the month of an event.
`EventTime` keeps the instant a claim is ordered by (the start of the period,
in UTC) together with how precise it really is, so nobody reads "2025-02-27"
as midnight on the dot.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class Precision(StrEnum):
    """How much of `EventTime.at` is known."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    MINUTE = "minute"
    SECOND = "second"


_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_event_time_text(text: str) -> tuple[datetime, Precision]:
    """Read "2025", "2025-02", "2025-02-20" or an ISO instant with a zone."""
    text = text.strip()
    if _YEAR.match(text):
        return datetime(int(text), 1, 1, tzinfo=UTC), Precision.YEAR
    if _MONTH.match(text):
        year, month = text.split("-")
        return datetime(int(year), int(month), 1, tzinfo=UTC), Precision.MONTH
    if _DAY.match(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC), Precision.DAY
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(
            f"time {text!r} has no time zone: add 'Z' or an offset such as '+01:00',"
            " or give just the date ('2025-02-20') if only the day is known"
        )
    precision = Precision.SECOND if instant.second or instant.microsecond else Precision.MINUTE
    return instant.astimezone(UTC), precision


def require_utc(value: datetime) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC."""
    if value.tzinfo is None:
        raise ValueError("datetime has no time zone: add 'Z' or an offset such as '+01:00'")
    return value.astimezone(UTC)


class EventTime(BaseModel):
    """When something happened: the start of the period, in UTC, and its precision.

    Accepts a plain string on input ("2025-02-20" is day precision) and always
    serialises as `{"at": ..., "precision": ...}`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    precision: Precision = Precision.SECOND

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            at, precision = parse_event_time_text(value)
            return {"at": at, "precision": precision}
        if isinstance(value, datetime):
            return {"at": value, "precision": Precision.SECOND}
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return require_utc(value)

    def label(self) -> str:
        """The time as precisely as it is known, for people."""
        if self.precision is Precision.YEAR:
            return f"{self.at:%Y}"
        if self.precision is Precision.MONTH:
            return f"{self.at:%Y-%m}"
        if self.precision is Precision.DAY:
            return f"{self.at:%Y-%m-%d}"
        if self.precision is Precision.MINUTE:
            return f"{self.at:%Y-%m-%d %H:%M}Z"
        return f"{self.at:%Y-%m-%d %H:%M:%S}Z"

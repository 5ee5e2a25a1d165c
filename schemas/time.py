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

from schemas.input_forms import text_or_object


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
TIME_TEXT_PATTERN = (
    r"^\s*\d{4}(-\d{2}(-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2}))?)?)?\s*$"
)
"""The text forms in the input JSON Schema: a year, month or day, or an instant with a zone."""


TIME_FORMS = (
    "a year ('2025'), a month ('2025-02'), a day ('2025-02-20'), an instant with a zone"
    ' (\'2025-02-20T14:30:00Z\'), or {"at": ..., "precision": ...}'
)
"""The forms a time may take, for error messages."""

_FINER = {
    Precision.YEAR: 0,
    Precision.MONTH: 1,
    Precision.DAY: 2,
    Precision.MINUTE: 3,
    Precision.SECOND: 4,
}


def _period_start(text: str) -> tuple[datetime, Precision] | None:
    """A year, month or day written alone, as the UTC start of the period; None for anything else."""
    try:
        if _YEAR.match(text):
            return datetime(int(text), 1, 1, tzinfo=UTC), Precision.YEAR
        if _MONTH.match(text):
            year, month = text.split("-")
            return datetime(int(year), int(month), 1, tzinfo=UTC), Precision.MONTH
        if _DAY.match(text):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), Precision.DAY
    except ValueError as error:
        raise ValueError(f"time {text!r} is not a real date: {error}") from error
    return None


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {text!r} is not a form this reads: write {TIME_FORMS}") from None


def parse_event_time_text(text: str) -> tuple[datetime, Precision]:
    """Read "2025", "2025-02", "2025-02-20" or an ISO instant with a zone."""
    text = text.strip()
    period = _period_start(text)
    if period is not None:
        return period
    instant = _instant(text)
    if instant.tzinfo is None:
        raise ValueError(
            f"time {text!r} has no time zone: add 'Z' or an offset such as '+01:00',"
            " or give just the date ('2025-02-20') if only the day is known"
        )
    precision = Precision.SECOND if instant.second or instant.microsecond else Precision.MINUTE
    return instant.astimezone(UTC), precision


def _from_object(value: dict[str, Any]) -> dict[str, Any]:
    """`{"at": ..., "precision": ...}` with a date for `at`, or an instant whose zone does not matter.

    A zone only matters for an instant: at year, month or day precision a date
    (or a time without a zone) is read as the start of that period in UTC.
    """
    at, given = value.get("at"), value.get("precision")
    try:
        precision = Precision(given) if given is not None else None
    except ValueError:
        return value  # the field's own error names the allowed precisions
    if isinstance(at, datetime | date) and not isinstance(at, datetime):
        at = at.isoformat()
    if not isinstance(at, str):
        return value
    text = at.strip()
    period = _period_start(text)
    if period is not None:
        start, known = period
        precision = precision or known
        if _FINER[precision] > _FINER[known]:
            raise ValueError(
                f"at {text!r} gives only the {known.value}, but precision is {precision.value!r}:"
                f" give the instant with a zone ('2025-02-20T14:30:00Z') or precision {known.value!r}"
            )
        return {**value, "at": start, "precision": precision}
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return value  # pydantic reads the rest of its own forms as before, or says why not
    if instant.tzinfo is None:
        if precision is not None and _FINER[precision] <= _FINER[Precision.DAY]:
            return {**value, "at": instant.replace(tzinfo=UTC)}
        raise ValueError(
            f"the instant {text!r} has no time zone: add 'Z' or an offset such as '+01:00'"
            " (or, if only the day is known, give precision 'day')"
        )
    return value


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
        if isinstance(value, dict):
            return _from_object(value)
        return value

    __get_pydantic_json_schema__ = text_or_object(
        {
            "type": "string",
            "pattern": TIME_TEXT_PATTERN,
            "description": "A year, a month, a day, or an ISO 8601 instant with a zone.",
        },
        at={
            "type": "string",
            "description": "An ISO 8601 instant, with a zone unless the precision is year, month or day;"
            " or the year, month or day alone ('2025-02-12').",
        },
    )

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

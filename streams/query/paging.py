"""One page shape for every list the API returns: `?limit=&cursor=` in, `{"items", "next"}` out.

A cursor is opaque to clients (URL-safe base64 of a small JSON document) and
names where the next page starts, never a page number: a list that grows
between two requests neither repeats nor skips what was already read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import HTTPException, Query
from pydantic import BaseModel

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    """A page of a list: its items, and the cursor of the next page (None: this was the last)."""

    items: list[T]
    next: str | None = None


Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."),
]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page; absent for the first.")]


def encode_cursor(position: Any) -> str:
    """A cursor for `position` (any JSON value)."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor names (None for no cursor); a cursor this API did not make is a 422."""
    if cursor is None:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise HTTPException(422, f"cursor: not a cursor this API gave ({error})") from error


def page_of(
    items: Sequence[T], position: Callable[[T], list[Any]], cursor: str | None, limit: int
) -> Page[T]:
    """A page of a list sorted by `position` (JSON-able, compared as a tuple): the items after
    the cursor's position, at most `limit`, and the cursor of the last one if more follow."""
    start = decode_cursor(cursor)
    if start is not None and not isinstance(start, list):
        raise HTTPException(422, "cursor: not a cursor of this list")
    try:
        after = [item for item in items if start is None or position(item) > start]
    except TypeError as error:
        raise HTTPException(422, "cursor: not a cursor of this list") from error
    taken = after[:limit]
    more = len(after) > limit
    return Page[T](items=list(taken), next=encode_cursor(position(taken[-1])) if more and taken else None)


def micros(moment: datetime) -> int:
    """An instant as whole microseconds since 1970: exact, and comparable inside a cursor."""
    return (moment - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

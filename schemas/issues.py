"""Issues: what a stance is about."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.actors import Slug


def _none(value: tuple[str, ...]) -> bool:
    """No keywords are left out of the JSON, so an issue written before they existed keeps its bytes."""
    return not value


class Issue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    title: str = Field(min_length=1)
    description: str | None = None
    keywords: tuple[str, ...] = Field(
        default=(),
        exclude_if=_none,
        description="Words that name the issue in reporting ('backstop', 'security guarantee');"
        " `timeline draft` suggests claims on the issue where they occur.",
    )

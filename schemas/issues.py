"""Issues: what a stance is about."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.actors import Slug


class Issue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    title: str = Field(min_length=1)
    description: str | None = None

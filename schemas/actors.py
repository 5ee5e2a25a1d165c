"""Actors: the people, states, organisations and blocs whose stances we track."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=80),
]
"""A stable, lower-case id such as `keir-starmer`, `gbr` or `eu`."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 3166-1 alpha-3, upper case (`GBR`, `USA`, `CHN`)."""


class ActorKind(StrEnum):
    PERSON = "person"
    STATE = "state"
    ORGANISATION = "organisation"
    BLOC = "bloc"


class Role(BaseModel):
    """An office held for a while: Trudeau was Canada's prime minister until 2025-03-14."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    organisation: str | None = None
    country: CountryCode | None = None
    start: date | None = None
    end: date | None = Field(default=None, description="Last day in office; none while in office.")

    def held_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


class Alias(BaseModel):
    """Another name for an actor, optionally only within a context.

    "the Prime Minister" means Keir Starmer in a UK (`GBR`) context only, so it
    carries `context="GBR"`; "Sir Keir" needs no context.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    context: CountryCode | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    name: str = Field(min_length=1, description="Display name.")
    kind: ActorKind
    country: CountryCode | None = None
    roles: tuple[Role, ...] = ()
    aliases: tuple[Alias, ...] = ()

    def roles_on(self, day: date) -> list[Role]:
        """The roles this actor held on a given day."""
        return [role for role in self.roles if role.held_on(day)]

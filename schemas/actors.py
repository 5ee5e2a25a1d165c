"""Actors: the people, states, organisations and blocs whose stances we track."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.input_forms import text_or_object

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
    """Another name for an actor, optionally only within a context or for a while.

    "the Prime Minister" means Keir Starmer in a UK (`GBR`) context only, so it
    carries `context="GBR"`; "Sir Keir" needs no context. "the German Foreign
    Minister" was Baerbock until 2025-05-05 and Wadephul from 2025-05-06: each
    alias carries its dates, and an event's date picks the one that applies.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    context: CountryCode | None = None
    valid_from: date | None = Field(default=None, description="First day the alias means this actor.")
    valid_to: date | None = Field(default=None, description="Last day it does; none while it still does.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _dates_in_order(self) -> Alias:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    __get_pydantic_json_schema__ = text_or_object({"type": "string", "minLength": 1})

    def valid_on(self, day: date | None) -> bool:
        """Whether the alias applies on `day` (any alias applies when the day is not known)."""
        if day is None:
            return True
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


GROUP_KINDS = frozenset({ActorKind.ORGANISATION, ActorKind.BLOC})
"""The kinds of actor that may list members (the EU's 27, NATO's 32)."""


class Actor(BaseModel):
    """A person, state, organisation or bloc; a bloc holds its own stances (a claim by the EU
    does not fan out to its members)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    name: str = Field(min_length=1, description="Display name.")
    kind: ActorKind
    country: CountryCode | None = Field(
        default=None, description="ISO 3166-1 alpha-3; none for an organisation or bloc such as the EU."
    )
    roles: tuple[Role, ...] = ()
    aliases: tuple[Alias, ...] = ()
    members: tuple[Slug, ...] = Field(
        default=(),
        description="An organisation's or bloc's member actors, by id; they need not be registered first.",
    )

    @model_validator(mode="after")
    def _members_of_a_group(self) -> Actor:
        if self.members and self.kind not in GROUP_KINDS:
            raise ValueError(f"only an organisation or a bloc has members, not a {self.kind.value}")
        if self.id in self.members:
            raise ValueError(f"{self.id!r} cannot be a member of itself")
        return self

    def roles_on(self, day: date) -> list[Role]:
        """The roles this actor held on a given day."""
        return [role for role in self.roles if role.held_on(day)]

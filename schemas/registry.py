"""The registry of known actors and issues, and alias resolution.

Pure: built from already-loaded documents (the loader that reads the bundled
YAML files and a user's own file lives in `streams.registry_files`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.actors import Actor
from schemas.events import DiplomaticEvent, EventActor, Quote
from schemas.issues import Issue
from schemas.stances import StanceClaim


class UnknownReferenceError(ValueError):
    """An event names an actor or issue the registry does not know (or an ambiguous alias)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _fold(name: str) -> str:
    return " ".join(name.casefold().replace(".", " ").split())


class Registry(BaseModel):
    """Known actors and issues by id, with an alias index built on creation."""

    model_config = ConfigDict(frozen=True)

    actors: dict[str, Actor]
    issues: dict[str, Issue]

    @classmethod
    def from_documents(cls, documents: Iterable[dict[str, Any]]) -> Registry:
        """Merge registry documents in order; a later document's entry replaces an earlier one by id."""
        actors: dict[str, Actor] = {}
        issues: dict[str, Issue] = {}
        for document in documents:
            for actor in document.get("actors") or []:
                parsed = Actor.model_validate(actor)
                actors[parsed.id] = parsed
            for issue in document.get("issues") or []:
                parsed_issue = Issue.model_validate(issue)
                issues[parsed_issue.id] = parsed_issue
        return cls(actors=actors, issues=issues)

    def _alias_index(self) -> dict[tuple[str, str | None], set[str]]:
        cached: dict[tuple[str, str | None], set[str]] | None = self.__dict__.get("_aliases")
        if cached is not None:
            return cached
        index: dict[tuple[str, str | None], set[str]] = {}
        for actor in self.actors.values():
            index.setdefault((_fold(actor.name), None), set()).add(actor.id)
            for alias in actor.aliases:
                index.setdefault((_fold(alias.name), alias.context), set()).add(actor.id)
        self.__dict__["_aliases"] = index
        return index

    def resolve_actor(self, ref: str, context: str | None = None) -> str:
        """Turn an id, a name or an alias into an actor id.

        A context-bound alias ("the Prime Minister" in `GBR`) only matches when
        the event's context (its location's country) is that country.
        """
        if ref in self.actors:
            return ref
        index = self._alias_index()
        candidates = set(index.get((_fold(ref), None), set()))
        if context is not None:
            candidates |= index.get((_fold(ref), context), set())
        if len(candidates) == 1:
            return next(iter(candidates))
        if len(candidates) > 1:
            raise UnknownReferenceError(
                [f"actor {ref!r} is ambiguous: it could be {', '.join(sorted(candidates))}"]
            )
        close = difflib.get_close_matches(ref, list(self.actors), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownReferenceError(
            [f"unknown actor {ref!r}{hint}: add it to a registry file (TIMELINE_REGISTRY_FILES)"]
        )

    def canonicalize(self, event: DiplomaticEvent) -> DiplomaticEvent:
        """Return the event with every actor reference resolved to an id.

        Raises `UnknownReferenceError` listing every unknown actor or issue at
        once, each with the field it was found in.
        """
        if all(ref in self.actors for ref in event.actor_refs()) and all(
            claim.issue_id in self.issues for claim in event.stances
        ):
            return event  # already canonical: the common case on the stream side
        context = event.location.country if event.location else None
        problems: list[str] = []

        def resolve(ref: str, where: str) -> str:
            try:
                return self.resolve_actor(ref, context)
            except UnknownReferenceError as error:
                problems.extend(f"{where}: {problem}" for problem in error.problems)
                return ref

        actors = tuple(
            EventActor(actor_id=resolve(actor.actor_id, f"actors.{index}.actor_id"), role=actor.role)
            for index, actor in enumerate(event.actors)
        )
        quotes = tuple(
            Quote(actor_id=resolve(quote.actor_id, f"quotes.{index}.actor_id"), text=quote.text)
            for index, quote in enumerate(event.quotes)
        )
        stances: list[StanceClaim] = []
        for index, claim in enumerate(event.stances):
            actor_id = resolve(claim.actor_id, f"stances.{index}.actor_id")
            if claim.issue_id not in self.issues:
                close = difflib.get_close_matches(claim.issue_id, list(self.issues), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append(f"stances.{index}.issue_id: unknown issue {claim.issue_id!r}{hint}")
            stances.append(claim.model_copy(update={"actor_id": actor_id}))
        if problems:
            raise UnknownReferenceError(problems)
        # Re-validate so that resolved aliases that collide (two claims on one pair) are caught.
        return type(event).model_validate(
            {
                **event.model_dump(),
                "actors": [actor.model_dump() for actor in actors],
                "quotes": [quote.model_dump() for quote in quotes],
                "stances": [claim.model_dump() for claim in stances],
            }
        )

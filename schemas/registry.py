"""The registry of known actors and issues, and alias resolution.

Pure: built from already-loaded documents (the loader that reads the bundled
YAML files and a user's own file lives in `streams.registry_files`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.actors import Actor, Alias
from schemas.events import DiplomaticEvent, EventActor, Quote
from schemas.issues import Issue
from schemas.problems import summarise
from schemas.stances import StanceClaim

ADD_HINT = (
    "add one: 'timeline actors add ID --name NAME --kind KIND' or 'timeline issues add ID --title"
    " TITLE', or 'timeline registry load FILE' (docs/authoring.md#the-registry-on-kafka)"
)
"""How a user adds an unknown actor or issue, said once per list of problems."""


class UnknownReferenceError(ValueError):
    """An event names an actor or issue the registry does not know (or an ambiguous alias)."""

    def __init__(self, problems: list[str]) -> None:
        message = summarise(problems)
        if any(problem.split(": ", 1)[-1].startswith("unknown ") for problem in problems):
            message += f" (to {ADD_HINT})"
        super().__init__(message)
        self.problems = problems
        """Every problem in full (the message summarises a long list)."""


def _fold(name: str) -> str:
    return " ".join(name.casefold().replace(".", " ").split())


def _bare(name: str) -> str:
    """A name without case, spaces, dots or hyphens: `Keir-Starmer` and `keir starmer` are one."""
    return "".join(character for character in name.casefold() if character.isalnum())


SHORT = 3
"""A reference this short is a code (`deu`, `eu`): suggest only what differs from it in case or
punctuation, since one letter changes the country (`deu` is Germany, not the EU)."""


def suggestions(ref: str, names: Iterable[tuple[str, str]], limit: int = 3) -> list[str]:
    """Ids whose id, name or alias is close to `ref`, closest first; none when nothing is close.

    `names` are (name, id) pairs; a match on a name shows as `id (name)`.
    """
    wanted = _bare(ref)
    if not wanted:
        return []
    scored: dict[str, tuple[float, str]] = {}
    for name, target in names:
        bare = _bare(name)
        if not bare:
            continue
        if bare == wanted:
            score = 1.0
        elif len(wanted) <= SHORT or len(bare) <= SHORT:
            continue
        else:
            score = difflib.SequenceMatcher(None, wanted, bare).ratio()
            if score < 0.8:
                continue
        label = target if _bare(target) == bare else f"{target} ({name})"
        if target not in scored or score > scored[target][0]:
            scored[target] = (score, label)
    ranked = sorted(scored.values(), key=lambda pair: -pair[0])
    return [label for _, label in ranked[:limit]]


class Registry(BaseModel):
    """Known actors and issues by id, with an alias index built on creation.

    A registry read from files holds for every instant (`as_of` is itself); one read from the
    registry topic is a `schemas.registry_log.RegistryHistory`, whose `as_of` gives one of these.
    """

    model_config = ConfigDict(frozen=True)

    actors: dict[str, Actor]
    issues: dict[str, Issue]
    retired: frozenset[str] = frozenset()
    """Keys (`actor:ID`, `issue:ID`) of retired ids: publishers refuse them (`without_retired`)."""

    @property
    def complete_through(self) -> datetime:
        """Up to when this registry holds every registration: always, for one read from files."""
        return datetime.max.replace(tzinfo=UTC)

    def as_of(self, instant: datetime) -> Registry:
        return self

    def without_retired(self) -> Registry:
        """The publisher's view: retired ids left out (and named when an event uses one)."""
        if not self.retired:
            return self
        cached: Registry | None = self.__dict__.get("_without_retired")
        if cached is None:
            cached = Registry(
                actors={i: a for i, a in self.actors.items() if f"actor:{i}" not in self.retired},
                issues={i: x for i, x in self.issues.items() if f"issue:{i}" not in self.retired},
                retired=self.retired,
            )
            self.__dict__["_without_retired"] = cached
        return cached

    def is_canonical(self, event: DiplomaticEvent) -> bool:
        """Whether every actor and issue the event names is an id this registry knows."""
        return all(ref in self.actors for ref in event.actor_refs()) and all(
            claim.issue_id in self.issues for claim in event.stances
        )

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

    def _alias_index(self) -> dict[tuple[str, str | None], list[tuple[str, Alias | None]]]:
        """(folded name, context) -> the actors it names, with the alias (None: the display name)."""
        cached: dict[tuple[str, str | None], list[tuple[str, Alias | None]]] | None = self.__dict__.get(
            "_aliases"
        )
        if cached is not None:
            return cached
        index: dict[tuple[str, str | None], list[tuple[str, Alias | None]]] = {}
        for actor in self.actors.values():
            index.setdefault((_fold(actor.name), None), []).append((actor.id, None))
            for alias in actor.aliases:
                index.setdefault((_fold(alias.name), alias.context), []).append((actor.id, alias))
        self.__dict__["_aliases"] = index
        return index

    def resolve_actor(self, ref: str, context: str | None = None, day: date | None = None) -> str:
        """Turn an id, a name or an alias into an actor id.

        A context-bound alias ("the Prime Minister" in `GBR`) only matches when
        the event's context (its location's country) is that country; a dated
        alias ("the German Foreign Minister") only on the days it names (the
        event's date; any day when `day` is None).
        """
        if ref in self.actors:
            return ref
        index = self._alias_index()
        found = list(index.get((_fold(ref), None), []))
        if context is not None:
            found += index.get((_fold(ref), context), [])
        candidates = {actor_id for actor_id, alias in found if alias is None or alias.valid_on(day)}
        if len(candidates) == 1:
            return next(iter(candidates))
        if len(candidates) > 1:
            on = f" on {day}" if day is not None else ""
            raise UnknownReferenceError(
                [f"actor {ref!r} is ambiguous{on}: it could be {', '.join(sorted(candidates))}; use the id"]
            )
        raise UnknownReferenceError([self._unknown_actor(ref, found, day)])

    def _unknown_actor(self, ref: str, found: list[tuple[str, Alias | None]], day: date | None) -> str:
        if found:  # an alias that names someone on other days
            spans = ", ".join(
                f"{actor_id} {alias.valid_from or '…'} to {alias.valid_to or '…'}"
                for actor_id, alias in found
                if alias is not None
            )
            return f"actor {ref!r} names no one on {day} ({spans}): use the id, or correct the alias's dates"
        if f"actor:{ref}" in self.retired:
            return f"actor {ref!r} is retired: ids are never reused (timeline actors show {ref})"
        names = [(actor.id, actor.id) for actor in self.actors.values()]
        names += [(actor.name, actor.id) for actor in self.actors.values()]
        names += [(alias.name, actor.id) for actor in self.actors.values() for alias in actor.aliases]
        close = suggestions(ref, names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        groups = [actor.id for actor in self.actors.values() if ref in actor.members]
        member = f"; it is listed as a member of {', '.join(groups)} but not registered" if groups else ""
        return f"unknown actor {ref!r}{hint}{member}"

    def _unknown_issue(self, ref: str) -> str:
        if f"issue:{ref}" in self.retired:
            return f"issue {ref!r} is retired: ids are never reused (timeline issues show {ref})"
        names = [(issue.id, issue.id) for issue in self.issues.values()]
        names += [(issue.title, issue.id) for issue in self.issues.values()]
        close = suggestions(ref, names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"unknown issue {ref!r}{hint}"

    def canonicalize(self, event: DiplomaticEvent) -> DiplomaticEvent:
        """Return the event with every actor reference resolved to an id.

        Raises `UnknownReferenceError` listing every unknown actor or issue at
        once, each with the field it was found in.
        """
        if self.is_canonical(event):
            return event  # already canonical: the common case on the stream side
        context = event.location.country if event.location else None
        day = event.occurred_at.at.date()
        problems: list[str] = []

        def resolve(ref: str, where: str) -> str:
            try:
                return self.resolve_actor(ref, context, day)
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
                problems.append(f"stances.{index}.issue_id: {self._unknown_issue(claim.issue_id)}")
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

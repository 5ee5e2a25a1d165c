"""Actors named in a sentence: registered names and aliases, and unknown people to propose.

A registered person's surname alone names them when no other registered person has it.

A registered name or alias matches with its case, on word boundaries, longest first; an alias
bound to a context ("the Prime Minister" in GBR) is left out (the sentence alone does not say
where it is), and a dated alias counts only on the publication day. A state named after "in"
("in Washington") is where something happens, not a party to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from schemas.actors import ActorKind
from schemas.registry import Registry

TITLES = (
    "Prime Minister", "Deputy Prime Minister", "President", "Vice President", "Vice-President",
    "Foreign Minister", "Defence Minister", "Defense Minister", "Foreign Secretary", "Defence Secretary",
    "Home Secretary", "Chancellor", "Secretary of State", "Secretary-General", "Secretary General",
    "Minister", "Ambassador", "Envoy", "Special Envoy", "Senator", "Spokesman", "Spokeswoman",
    "General", "Gen", "Admiral", "Marshal", "King", "Queen", "Crown Prince", "Prince", "Pope",
    "Chief of Staff", "Sir", "Dame", "Mr", "Mrs", "Ms", "Dr",
)  # fmt: skip
"""Words before a name that make it a person's ("Foreign Minister Wang Yi")."""

DEMONYMS = {
    "American": "USA", "US": "USA", "British": "GBR", "UK": "GBR", "French": "FRA", "German": "DEU",
    "Italian": "ITA", "Spanish": "ESP", "Polish": "POL", "Dutch": "NLD", "Ukrainian": "UKR",
    "Russian": "RUS", "Chinese": "CHN", "Canadian": "CAN", "Japanese": "JPN", "Indian": "IND",
    "Turkish": "TUR", "Saudi": "SAU", "Israeli": "ISR", "Iranian": "IRN", "Brazilian": "BRA",
    "South African": "ZAF", "Australian": "AUS", "Hungarian": "HUN", "Finnish": "FIN", "Swedish": "SWE",
    "Norwegian": "NOR", "Danish": "DNK", "Estonian": "EST", "Latvian": "LVA", "Lithuanian": "LTU",
}  # fmt: skip
"""An adjective before a title gives a proposed person's country ("German Foreign Minister ...")."""

_NAME = r"[A-Z][a-zà-ÿ'\u2019-]+(?:\s+[A-Z][a-zà-ÿ'\u2019-]+){1,2}"
_PERSON = re.compile(
    rf"(?:\b({'|'.join(sorted(map(re.escape, DEMONYMS), key=len, reverse=True))})\s+)?"
    rf"\b(?:{'|'.join(sorted(map(re.escape, TITLES), key=len, reverse=True))})\.?\s+"
    rf"(?:Sir\s+|Dame\s+)?({_NAME})"
)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    actor_id: str
    words: str
    kind: str
    """The actor's kind (`person`, `state`, ...), or `person` for a proposed one."""
    proposed: bool = False
    location: bool = False
    """A state named as a place ("in South Africa"): the event's location, not an actor in it."""


@dataclass(frozen=True)
class Proposal:
    actor_id: str
    name: str
    country: str | None

    def command(self) -> str:
        country = f" --country {self.country}" if self.country else ""
        return f'timeline actors add {self.actor_id} --name "{self.name}" --kind person{country}'


def slug(name: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", " ", name.casefold()).split())


class ActorFinder:
    """Registered names and aliases as one pattern, built once per registry and day."""

    def __init__(self, registry: Registry, day: date) -> None:
        self.registry = registry
        names: dict[str, str] = {}
        for actor in registry.actors.values():
            names.setdefault(actor.name, actor.id)
            for alias in actor.aliases:
                if alias.context is None and alias.valid_on(day):
                    names.setdefault(alias.name, actor.id)
        surnames: dict[str, set[str]] = {}
        for actor in registry.actors.values():
            last = actor.name.split()[-1]
            if actor.kind is ActorKind.PERSON and len(last) > 3:
                surnames.setdefault(last, set()).add(actor.id)
        for surname, ids in surnames.items():
            if len(ids) == 1:  # "Carter" alone, when no other registered person shares it
                names.setdefault(surname, next(iter(ids)))
        self.names = names
        ordered = sorted(names, key=len, reverse=True)
        self.pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w-])")

    def find(self, sentence: str) -> tuple[list[Mention], list[Proposal]]:
        mentions: list[Mention] = []
        for match in self.pattern.finditer(sentence):
            actor = self.registry.actors[self.names[match.group()]]
            before = sentence[max(0, match.start() - 8) : match.start()]
            place = actor.kind is ActorKind.STATE and re.search(r"\b(in|to|from)\s+(the\s+)?$", before)
            # "to the US" after a visit or a trip is a place too
            if place and before.rstrip().endswith("to") and not re.search(r"(visit|trip|travel)", sentence):
                place = None
            mentions.append(
                Mention(
                    match.start(),
                    match.end(),
                    actor.id,
                    match.group(),
                    actor.kind.value,
                    location=bool(place),
                )
            )
        proposals: list[Proposal] = []
        for match in _PERSON.finditer(sentence):
            start, end = match.start(2), match.end(2)
            if any(m.start <= start < m.end or start <= m.start < end for m in mentions):
                continue
            name = match.group(2)
            country = DEMONYMS.get(match.group(1) or "")
            proposal = Proposal(slug(name), name, country)
            proposals.append(proposal)
            mentions.append(Mention(start, end, proposal.actor_id, match.group(), "person", proposed=True))
        mentions.sort(key=lambda mention: mention.start)
        return mentions, proposals

"""Actors named in a sentence: registered names and aliases, and unknown people to propose.

A registered name or alias matches with its case, on word boundaries, longest first; a registered
person's surname alone names them when no other registered person has it. A context alias ("the
Prime Minister" in GBR) counts where the sentence's place (or the article's dateline) is in that
country; a dated alias only on the publication day. A state after "in" ("in Washington") is where
something happens, not a party to it, unless a noun holds it ("the war in Ukraine").

An unknown person with a title ("Ukrainian Foreign Minister Andrii Sybiha") is proposed; their
surname names them later in the text, and their registered state or organisation stands in for
them in the draft, so that a reviewed draft can be published before they are registered.
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
    "Chief of Staff", "Sir", "Dame", "Mr", "Mrs", "Ms", "Dr", "aide", "adviser", "advisor", "Spokesperson",
    "spokesman", "spokeswoman", "spokesperson", "Foreign Affairs Minister", "Minister of Foreign Affairs",
    "Commissioner", "High Representative", "Ambassador to the UN", "National Security Adviser",
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

HOLDING_NOUNS = (
    "war", "conflict", "peace", "troops", "forces", "soldiers", "deployment", "ceasefire", "fighting",
    "situation", "crisis", "presence", "aid", "settlement", "invasion", "elections", "operations",
    "interests", "people", "deployed", "stationed", "based",
)  # fmt: skip
"""Nouns whose "in X" names what they are about, not where the event is ("the war in Ukraine")."""
_HELD_IN = re.compile(rf"\b({'|'.join(HOLDING_NOUNS)})\s+in\s+(the\s+)?$", re.I)
_GATHERING_IN = re.compile(r"\b(meeting|summit|talks)\s+in\s+(the\s+)?$", re.I)
_AT_GATHERING_IN = re.compile(
    r"\bat\s+(the|a|an)\s+([\w-]+\s+){0,2}(meeting|summit|talks)\s+in\s+(the\s+)?$", re.I
)
"""At a summit in X, the speaker is in X; a meeting in X they only talk of is about X."""
_PLACE_BEFORE = re.compile(r"\b(in|to|from)\s+(the\s+)?$", re.I)
_PAIR_NOUNS = r"talks|negotiations|relations|summit|meeting|deal|agreement|ties|dialogue|round|call|accord"

_NAME = (
    r"[A-Z][a-zà-ÿ'\u2019-]+(?:\s+(?:(?:bin|bint|ibn|al|el|de|van|von|der)\s+)?[A-Z][a-zà-ÿ'\u2019-]+){1,2}"
)
"""A name: two or three capitalised words, a particle before one ("Faisal bin Farhan")."""
_PERSON = re.compile(
    rf"(?:\b({'|'.join(sorted(map(re.escape, DEMONYMS), key=len, reverse=True))})\s+)?"
    rf"\b(?:{'|'.join(sorted(map(re.escape, TITLES), key=len, reverse=True))})\.?\s+"
    rf"(?:(?:Sir|Dame|Prince|Princess|Sheikh)\s+)?({_NAME})"
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
    stands_for: str | None = None
    """For an unknown person: the proposed id; `actor_id` is then their state's or organisation's."""


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
    """Registered names and aliases as one pattern, built once per registry and day; the unknown
    people it has proposed so far (per text: make one finder per article)."""

    def __init__(self, registry: Registry, day: date, context: str | None = None) -> None:
        self.registry = registry
        self.context = context
        """The article's country (its dateline's), for context aliases where a sentence names no place."""
        names: dict[str, str] = {}
        by_context: dict[str, dict[str, str]] = {}
        for actor in registry.actors.values():
            names.setdefault(actor.name, actor.id)
            for alias in actor.aliases:
                if not alias.valid_on(day):
                    continue
                if alias.context is None:
                    names.setdefault(alias.name, actor.id)
                else:
                    by_context.setdefault(alias.context, {}).setdefault(alias.name, actor.id)
        surnames: dict[str, set[str]] = {}
        for actor in registry.actors.values():
            last = actor.name.split()[-1]
            if actor.kind is ActorKind.PERSON and len(last) > 3:
                surnames.setdefault(last, set()).add(actor.id)
        for surname, ids in surnames.items():
            if len(ids) == 1:  # "Carter" alone, when no other registered person shares it
                names.setdefault(surname, next(iter(ids)))
        self.names = names
        self.pattern = _pattern(names)
        self.context_names = by_context
        self.context_patterns = {country: _pattern(found) for country, found in by_context.items()}
        self.states = {
            actor.country: actor.id
            for actor in registry.actors.values()
            if actor.kind is ActorKind.STATE and actor.country
        }
        self.known: dict[str, tuple[Proposal, str | None]] = {}
        """Names of the people proposed so far ("Andrii Sybiha", "Sybiha"), with their stand-in."""

    def state_of(self, words: str) -> str | None:
        """The registered state a name or demonym names ("Ukrainian", "Kyiv"), if any."""
        actor_id = self.names.get(words)
        actor = self.registry.actors.get(actor_id) if actor_id else None
        if actor is not None and actor.kind is ActorKind.STATE:
            return actor.id
        return self.states.get(DEMONYMS.get(words, ""))

    def find(self, sentence: str) -> tuple[list[Mention], list[Proposal]]:
        mentions = [self._mention(sentence, match, self.names) for match in self.pattern.finditer(sentence)]
        mentions += self._pairs(sentence, mentions)
        mentions += self._bodies(sentence, mentions)
        context = next(
            (self._country(m.actor_id) for m in mentions if m.location and self._country(m.actor_id)),
            self.context,
        )
        if context in self.context_patterns:
            for match in self.context_patterns[context].finditer(sentence):
                if re.match(r"\s+[A-Z]", sentence[match.end() :]):
                    continue  # "President Emmanuel Macron": a title before a name, not an alias
                if not _overlaps(match.start(), match.end(), mentions):
                    mentions.append(self._mention(sentence, match, self.context_names[context]))
        proposals = self._propose(sentence, mentions)
        later = _pattern(dict.fromkeys(self.known, "")).finditer(sentence) if self.known else iter(())
        for match in later:  # "Sybiha said ...", after "Foreign Minister Andrii Sybiha" before
            if not _overlaps(match.start(), match.end(), mentions):
                proposal, stand_in = self.known[match.group()]
                actor_id = stand_in or proposal.actor_id
                mentions.append(
                    Mention(match.start(), match.end(), actor_id, match.group(), "person", True, False,
                            proposal.actor_id if stand_in else None)
                )  # fmt: skip
        mentions.sort(key=lambda mention: mention.start)
        return _without_affiliations(sentence, mentions, self.registry), proposals

    def _country(self, actor_id: str) -> str | None:
        actor = self.registry.actors.get(actor_id)
        return actor.country if actor is not None else None

    def _mention(self, sentence: str, match: re.Match[str], names: dict[str, str]) -> Mention:
        actor = self.registry.actors[names[match.group()]]
        before = sentence[max(0, match.start() - 40) : match.start()]
        place = actor.kind is ActorKind.STATE and _PLACE_BEFORE.search(before[-8:]) is not None
        # "to the US" after a visit or a trip is a place too
        if place and before.rstrip().endswith("to") and not re.search(r"(visit|trip|travel)", sentence):
            place = False
        if place and _HELD_IN.search(before):
            place = False
        if place and _GATHERING_IN.search(before) and not _AT_GATHERING_IN.search(before):
            place = False
        return Mention(match.start(), match.end(), actor.id, match.group(), actor.kind.value, location=place)

    def _pairs(self, sentence: str, mentions: list[Mention]) -> list[Mention]:
        """Both states of "US-Ukrainian talks", "Russia-Ukraine negotiations": parties to them."""
        found = []
        for match in _PAIR.finditer(sentence):
            for group in (1, 2):
                state = self.state_of(match.group(group))
                start, end = match.start(group), match.end(group)
                if state and not _overlaps(start, end, mentions):
                    found.append(Mention(start, end, state, match.group(group), "state"))
        return found

    def _bodies(self, sentence: str, mentions: list[Mention]) -> list[Mention]:
        """The states of "American and Russian officials", "British forces": parties, unnamed."""
        found = []
        for match in _DEMONYM_BODY.finditer(sentence):
            for group in (1, 2):
                state = self.states.get(DEMONYMS.get(match.group(group) or "", ""))
                start, end = match.start(group), match.end(group)
                if state and not _overlaps(start, end, mentions):
                    found.append(Mention(start, end, state, match.group(group), "state"))
        return found

    def _propose(self, sentence: str, mentions: list[Mention]) -> list[Proposal]:
        proposals: list[Proposal] = []
        for match in _PERSON.finditer(sentence):
            start, end = match.start(2), match.end(2)
            if _overlaps(start, end, mentions):
                continue
            name = match.group(2)
            country = DEMONYMS.get(match.group(1) or "")
            proposal = Proposal(slug(name), name, country)
            stand_in = self.states.get(country or "")
            title_start = match.start(1) if match.group(1) else match.start()
            for mention in mentions:  # "NATO Secretary General ...", "Kremlin policy aide ...": its body
                if not mention.location and _JUST_BEFORE.fullmatch(sentence, mention.end, title_start):
                    stand_in = stand_in or mention.actor_id
                    if country is None:
                        proposal = Proposal(proposal.actor_id, name, self._country(mention.actor_id))
            proposals.append(proposal)
            self.known.setdefault(name, (proposal, stand_in))
            surname = name.split()[-1]
            if len(surname) > 3 and surname not in self.names:
                self.known.setdefault(surname, (proposal, stand_in))
            mentions.append(
                Mention(start, end, stand_in or proposal.actor_id, match.group(), "person", True, False,
                        proposal.actor_id if stand_in else None)
            )  # fmt: skip
        return proposals


def _without_affiliations(sentence: str, mentions: list[Mention], registry: Registry) -> list[Mention]:
    """ "Canada's Justin Trudeau": the state only says whose he is; it takes no part of its own."""
    kept = []
    for index, mention in enumerate(mentions):
        after = mentions[index + 1] if index + 1 < len(mentions) else None
        state = registry.actors.get(mention.actor_id)
        person = registry.actors.get(after.actor_id) if after is not None else None
        if (
            after is not None and state is not None and state.kind is ActorKind.STATE
            and re.fullmatch(r"['\u2019]s\s+", sentence[mention.end : after.start])
            and after.kind == "person" and (person is None or person.country == state.country)
        ):  # fmt: skip
            continue
        kept.append(mention)
    return kept


def _pattern(names: dict[str, str]) -> re.Pattern[str]:
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w-])")


def _overlaps(start: int, end: int, mentions: list[Mention]) -> bool:
    return any(m.start <= start < m.end or start <= m.start < end for m in mentions)


_DEMONYMS = "|".join(sorted(map(re.escape, DEMONYMS), key=len, reverse=True))
_DEMONYM_BODY = re.compile(
    rf"\b({_DEMONYMS})(?:,?\s+and\s+({_DEMONYMS}))?\s+(?:[a-z-]+\s+)?(?:officials|delegations?|diplomats"
    r"|negotiators|forces|troops|soldiers|government)\b(?!\s+(?:chief|commander|head|minister|spokes\w+))"
)
_JUST_BEFORE = re.compile(r"\s?(?:[a-z-]+\s+){0,2}")
"""Between a body and a title, a lower-case word or two ("Kremlin foreign policy aide")."""
_PAIR = re.compile(r"(?<![\w-])([A-Z][\w.]+)-([A-Z][\w.]+)(?=\s+(?:" + _PAIR_NOUNS + r")\b)")

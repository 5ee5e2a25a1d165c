"""Draft events from a news text: one per speaker and happening, each line with its evidence.

Each clause gets a speaker (a relative clause's antecedent; "according to X"; "he", "his" at its
start: the last named speaker; else the first person it names; a clause naming no one continues
the one before); a type from its verbs; a date; quotes; and suggested claims. A clause joins the
draft before it when the speaker and type are the same (a state and a person of it count as one
speaker) and their dates agree; a meeting or visit joins any earlier one of the same speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from schemas.registry import Registry
from streams.drafting.dates import FUTURE, FoundDate, find_date
from streams.drafting.marker import DRAFT_KEY
from streams.drafting.mentions import ActorFinder, Mention, Proposal
from streams.drafting.stances import CONFIDENCE, holders, issue_patterns, read_clause
from streams.drafting.text import Clause, Sentence, read_text

TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("joint_statement", re.compile(r"\b(joint statement|joint declaration|communiqu[eé]|jointly)\b", re.I)),
    ("announcement", re.compile(r"\b(announce[sd]?|announcement|unveil(ed|s)?)\b", re.I)),
    (
        "call",
        re.compile(r"\b(phone call|call with|spoke (with|to)|spoken (with|to)|phoned|telephoned)\b", re.I),
    ),
    ("visit", re.compile(r"\b(visit(s|ed|ing)?|trip|travel(s|led|ling)?)\b", re.I)),
    ("meeting", re.compile(r"\b(meet(s|ing)?|met|talks with|held talks)\b", re.I)),
]
SPEECH = re.compile(
    r"\b(said|says|stated|told|expressed|emphasi[sz]ed|stressed|urged|reaffirmed|indicated|noted|warned)\b"
)
WITH_STATUS = frozenset({"meeting", "visit", "call"})
GATHERINGS = frozenset({"meeting", "visit"})
NOTE = (
    "suggested by rules from the text, not facts: check every actor, date, quote and claim against"
    " the article, then 'timeline draft accept' removes this marker"
)
_PRONOUN_START = re.compile(r"^\W*(?:\w+\s+){0,3}?(he|she|his|her)\b", re.I)


@dataclass
class Draft:
    paragraph: int
    type: str
    speaker: str
    speaker_kind: str
    country: str | None
    planned: bool = False
    found_date: FoundDate | None = None
    type_words: str | None = None
    location: dict[str, Any] | None = None
    actors: dict[str, str] = field(default_factory=dict)
    quotes: list[tuple[str, str]] = field(default_factory=list)
    claims: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


FILLERS = frozenset(
    {"the", "meanwhile", "similarly", "also", "and", "but", "however", "former", "then", "now"}
)


def _subject(mention: Mention, clause_text: str, start: int) -> bool:
    """Whether only capitalised words and fillers come before the mention in its clause."""
    before = re.findall(r"[\w'\u2019-]+", clause_text[:start])
    return all(word[0].isupper() or word.casefold() in FILLERS for word in before)


def _speaker(
    clause: Clause, mentions: list[Mention], text: str, previous: Mention | None, last: Mention | None
) -> Mention | None:
    """Who the clause is about (module docstring), or None when it names and continues no one."""
    inside = [m for m in mentions if clause.covers(m.start) and not m.location]
    if clause.relative_to is not None:
        before = [m for m in mentions if m.end <= clause.relative_to and not m.location]
        people = [m for m in before if m.kind == "person"]
        chosen = people or before
        return chosen[-1] if chosen else None
    for mention in inside:
        if re.search(r"according to\s+(\S+\s+){0,6}$", text[max(0, mention.start - 60) : mention.start]):
            return mention
    clause_start = clause.spans[0][0]
    words = text[clause_start : clause.spans[0][1]]
    if re.match(r"^\W*(he|she|his|her)\b", words, re.I) and last is not None:
        return last
    if inside and _subject(inside[0], words, inside[0].start - clause_start):
        return inside[0]
    if previous is not None and re.match(r"^\W*[a-z]", words):
        return previous
    people = [m for m in inside if m.kind == "person"]
    if people:
        return people[0]
    return previous or last or (inside[0] if inside else None)


def _joins(
    draft: Draft, kind: str, speaker: Mention, country: str | None, found: FoundDate | None, paragraph: int
) -> bool:
    if found is not None and draft.found_date is not None and found.day != draft.found_date.day:
        return False
    if kind in GATHERINGS and draft.type in GATHERINGS:
        return draft.speaker == speaker.actor_id
    if kind != draft.type or paragraph != draft.paragraph:
        return False
    if draft.speaker == speaker.actor_id:
        return True
    one_person = (draft.speaker_kind == "person") != (speaker.kind == "person")
    return one_person and country is not None and country == draft.country


def draft_events(
    text: str, published: date, registry: Registry, source: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[Proposal]]:
    """The draft events of a text (each with its `draft` marker), and the unknown people it names."""
    finder = ActorFinder(registry, published)
    patterns = issue_patterns(registry.issues)
    drafts: list[Draft] = []
    proposals: dict[str, Proposal] = {}
    last_person: Mention | None = None
    for sentence in read_text(text):
        mentions, proposed = finder.find(sentence.text)
        proposals.update((proposal.actor_id, proposal) for proposal in proposed)
        previous: Mention | None = None
        for clause in sorted(sentence.clauses, key=lambda clause: clause.spans[0][0]):
            speaker = _speaker(clause, mentions, sentence.text, previous, last_person)
            if speaker is None:
                continue
            draft = _place(drafts, clause, sentence, speaker, mentions, registry, published)
            _fill(draft, clause, sentence, speaker, mentions, patterns)
            previous = speaker if clause.relative_to is None else previous
            if speaker.kind == "person":
                last_person = speaker
    return [_event(draft, published, source, proposals) for draft in drafts], list(proposals.values())


def _place(
    drafts: list[Draft], clause: Clause, sentence: Sentence, speaker: Mention, mentions: list[Mention],
    registry: Registry, published: date,
) -> Draft:  # fmt: skip
    words = clause.text_of(sentence.text)
    kind, type_words = "statement", None
    for candidate, pattern in TYPES:
        if candidate == "meeting" and SPEECH.search(words):
            break  # "expressed support for talks with Russia" is said, not a meeting
        if match := pattern.search(words):
            kind, type_words = candidate, match.group()
            break
    found = find_date(words, published)
    actor = registry.actors.get(speaker.actor_id)
    country = actor.country if actor is not None else None
    candidates = drafts if kind in GATHERINGS else drafts[-1:]
    draft = next(
        (d for d in reversed(candidates) if _joins(d, kind, speaker, country, found, sentence.paragraph)),
        None,
    )
    if draft is None:
        draft = Draft(
            sentence.paragraph, kind, speaker.actor_id, speaker.kind, country, type_words=type_words
        )
        drafts.append(draft)
    if kind == "visit":
        draft.type = "visit"
    draft.planned = draft.planned or (kind in WITH_STATUS and FUTURE.search(words) is not None)
    if found is not None and draft.found_date is None:
        draft.found_date = found
    for mention in mentions:
        if clause.covers(mention.start) and mention.location and draft.location is None:
            located = registry.actors.get(mention.actor_id)
            draft.location = {"name": mention.words, "country": located.country if located else None}
    return draft


def _fill(
    draft: Draft, clause: Clause, sentence: Sentence, speaker: Mention, mentions: list[Mention],
    patterns: dict[str, re.Pattern[str]],
) -> None:  # fmt: skip
    if sentence.text not in draft.sentences:
        draft.sentences.append(sentence.text)
    own_role = {"call": "participant", "meeting": "guest", "visit": "guest"}.get(draft.type, "speaker")
    draft.actors.setdefault(speaker.actor_id, own_role)
    named = [m for m in mentions if clause.covers(m.start) and not m.location]
    for mention in named:
        other = {"call": "participant"}.get(draft.type, "host" if draft.type in GATHERINGS else "subject")
        draft.actors.setdefault(mention.actor_id, other if mention.kind == "person" else "subject")
        if not any(item["words"] == mention.words for item in draft.evidence):
            draft.evidence.append(
                {"actor_id": mention.actor_id, "words": mention.words, "proposed": mention.proposed}
            )
    quote = None
    for found in sentence.quotes:
        if clause.covers(found.start) and (speaker.actor_id, found.text) not in draft.quotes:
            draft.quotes.append((speaker.actor_id, found.text))
            quote = found.text
    words = clause.text_of(sentence.text)
    states = [
        (m.start - clause.spans[0][0], m.end - clause.spans[0][0], m.actor_id)
        for m in named
        if m.kind != "person" and m.actor_id != speaker.actor_id
    ]
    for reading in read_clause(words, patterns):
        for holder in [speaker.actor_id, *holders(words, states)]:
            claim: dict[str, Any] = {"actor_id": holder, "issue_id": reading.issue_id}
            claim["position"] = reading.position
            claim |= {"score": reading.score, "confidence": CONFIDENCE}
            if quote is not None and holder == speaker.actor_id:
                claim["quote"] = quote
            claim["basis"] = sentence.text[:4000]
            claim["_evidence"] = {"issue_words": reading.issue_words, "cue": reading.cue}
            draft.claims.setdefault((holder, reading.issue_id), claim)


def _event(
    draft: Draft, published: date, source: dict[str, Any] | None, proposals: dict[str, Proposal]
) -> dict[str, Any]:
    found = draft.found_date
    when = found.event_time() if found else {"at": published.isoformat()[:7], "precision": "month"}
    event: dict[str, Any] = {"type": draft.type, "occurred_at": when}
    if draft.type in WITH_STATUS:
        event["status"] = "planned" if draft.planned else "held"
    event["actors"] = [{"actor_id": actor_id, "role": role} for actor_id, role in draft.actors.items()]
    if draft.location is not None:
        event["location"] = draft.location
    if source is not None:
        event["source"] = source
    event["summary"] = " ".join(draft.sentences)[:10_000]
    event["quotes"] = [{"actor_id": actor_id, "text": text} for actor_id, text in draft.quotes]
    claims = [dict(claim) for claim in draft.claims.values()]
    evidence = [{"actor_id": c["actor_id"], "issue_id": c["issue_id"], **c.pop("_evidence")} for c in claims]
    event["stances"] = claims
    mentioned = {item["actor_id"] for item in draft.evidence}
    event[DRAFT_KEY] = {
        "note": NOTE,
        "actors": draft.evidence,
        "proposed_actors": [
            {"id": p.actor_id, "name": p.name, "command": p.command()}
            for p in proposals.values()
            if p.actor_id in mentioned
        ],
        "date": (
            {
                "words": found.words,
                "resolved": found.day.isoformat(),
                "precision": found.precision,
                "rule": found.rule,
            }
            if found
            else {"words": None, "rule": "no date in the text: the month of publication"}
        ),
        "type": {"type": draft.type, "words": draft.type_words},
        "claims": evidence,
    }
    return event

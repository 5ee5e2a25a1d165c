"""Draft events from a news text: one per speaker and happening, each line with its evidence.

Each clause gets a speaker (`speakers`; a person not registered, with no state to stand in, speaks
in no draft: the proposal names them); a type from its verbs (`kinds`); a date (its own, counted
from the narrative's last day when relative, "two days later"; else an occasion named before with
its day, "told the same press conference"; else the main clause's before it in the sentence, or
the paragraph's first); quotes; and suggested claims (registered actors only). A clause joins the
draft before it when the speaker and type are the same (a state and a person of it count as one
speaker) and their dates agree, in the same paragraph or, with no date of its own, the next; an
organisation's "it said" joins its joint statement; a meeting or visit joins any earlier one of
the same speaker, or the gathering it names ("who attended the summit")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from schemas.registry import Registry
from streams.drafting.dates import FUTURE, FoundDate, find_date
from streams.drafting.kinds import AT_OCCASION, OCCASION, SPEECH_AFTER, head, kind_of
from streams.drafting.marker import DRAFT_KEY
from streams.drafting.mentions import ActorFinder, Mention, Proposal
from streams.drafting.speakers import Speakers, speaker_of
from streams.drafting.stances import CONDITION_LEAD, CONFIDENCE, holders, issue_patterns, read_clause
from streams.drafting.text import Clause, Sentence, dateline_of, read_text

WITH_STATUS = frozenset({"meeting", "visit", "call"})
_WOULD = re.compile(r"\bwould\b", re.I)
""""He would speak with X": a call planned in reported speech (not a date's tense: `FUTURE`)."""
GATHERINGS = frozenset({"meeting", "visit"})
NOTE = (
    "suggested by rules from the text, not facts: check every actor, date, quote and claim against"
    " the article, then 'timeline draft accept' removes this marker"
)


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
    last_paragraph: int = -1
    """The paragraph of its latest clause (a quotation may run on over several)."""
    place: str | None = None
    """The registered state where it happens: a visit's host when no person hosts it."""


def _joins(
    draft: Draft, kind: str, speaker: Mention, country: str | None, found: FoundDate | None, paragraph: int
) -> bool:
    if found is not None and draft.found_date is not None and found.day != draft.found_date.day:
        return False
    one_person = (draft.speaker_kind == "person") != (speaker.kind == "person")
    same_side = one_person and country is not None and country == draft.country
    if kind in GATHERINGS and draft.type in GATHERINGS:  # "US officials met ...; Rubio spent hours with"
        return draft.speaker == speaker.actor_id or (same_side and paragraph - draft.last_paragraph in (0, 1))
    text_words = draft.speaker_kind != "person" and draft.speaker == speaker.actor_id
    if kind == "statement" and draft.type == "joint_statement" and text_words:
        return paragraph - draft.last_paragraph in (0, 1)  # "It said ...": the text's words
    if kind != draft.type:
        return False
    if paragraph != draft.last_paragraph:
        # the next paragraph goes on with the same speaker's words when it gives no date of its own
        return found is None and paragraph == draft.last_paragraph + 1 and draft.speaker == speaker.actor_id
    if draft.speaker == speaker.actor_id:
        return True
    return same_side


@dataclass
class Article:
    """What the reading of one text carries from sentence to sentence."""

    reference: date
    """The day "yesterday" and "on Tuesday" count from: the dateline's, else the publication day."""
    drafts: list[Draft] = field(default_factory=list)
    occasions: dict[str, tuple[FoundDate, Draft | None]] = field(default_factory=dict)
    """An occasion named with a day ("a summit ... on Thursday"), and its gathering's draft."""
    last_day: date | None = None
    """The last day the text gave, which "two days later" and "that evening" count from."""
    paragraph_day: dict[int, FoundDate] = field(default_factory=dict)
    """Each paragraph's first day, for its sentences that give none."""


def reference_day(text: str, published: date) -> date:
    """The dateline's day ("PARIS, March 28 (AFP) -"), in the publication's year, else `published`."""
    dateline = dateline_of(text)
    found = find_date(dateline.day, published) if dateline and dateline.day else None
    if found is None:
        return published
    if found.day > published + timedelta(days=1):  # a December dateline published in January
        try:
            return found.day.replace(year=found.day.year - 1)
        except ValueError:  # 29 February
            return found.day.replace(year=found.day.year - 1, day=28)
    return found.day


def _dateline_country(text: str, registry: Registry) -> str | None:
    dateline = dateline_of(text)
    if dateline is None:
        return None
    place = dateline.place.split(",")[0].strip().title()
    for actor in registry.actors.values():
        if place == actor.name or any(alias.name == place for alias in actor.aliases):
            return actor.country
    return None


def draft_events(
    text: str, published: date, registry: Registry, source: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[Proposal]]:
    """The draft events of a text (each with its `draft` marker), and the unknown people it names."""
    article = Article(reference_day(text, published))
    finder = ActorFinder(registry, published, _dateline_country(text, registry))
    patterns = issue_patterns(registry.issues)
    proposals: dict[str, Proposal] = {}
    said = Speakers()
    for sentence in read_text(text):
        mentions, proposed = finder.find(sentence.text)
        proposals.update((proposal.actor_id, proposal) for proposal in proposed)
        said.previous = None
        sentence_date: FoundDate | None = None
        clauses = sorted(sentence.clauses, key=lambda clause: clause.spans[0][0])
        for index, clause in enumerate(clauses):
            speaker = speaker_of(clause, mentions, sentence.text, said)
            words = clause.text_of(sentence.text)
            following = clauses[index + 1].text_of(sentence.text) if index + 1 < len(clauses) else ""
            own_date = find_date(words, article.reference, article.last_day)
            found = own_date or _occasion_date(words, article) or _continued(sentence_date, clause)
            found = found or _continued(article.paragraph_day.get(sentence.paragraph), clause, "sentence")
            if own_date is not None and clause.relative_to is None:
                sentence_date = sentence_date or own_date
                article.paragraph_day.setdefault(sentence.paragraph, own_date)
            if own_date is not None and own_date.precision == "day":
                article.last_day = own_date.day
            if speaker is None:
                continue
            if speaker.actor_id not in registry.actors:  # an unknown person: their clauses wait
                said.previous = speaker if clause.relative_to is None else said.previous
                said.person = speaker
                continue
            draft = _place(article, clause, sentence, speaker, mentions, registry, found)
            speaking = registry.actors.get(speaker.actor_id)
            own_state = (
                finder.states.get(speaking.country or "") if speaking and speaker.kind == "person" else None
            )
            conditioned = CONDITION_LEAD.match(following) is not None
            _fill(draft, clause, sentence, speaker, mentions, patterns, (own_state, conditioned))
            if _PARTIES.search(words):  # "both leaders agreed": the parties of the last call or meeting
                _add_parties(draft, article.drafts, registry)
            if found is not None and found.precision == "day":
                for occasion in OCCASION.finditer(words):
                    known = article.occasions.get(head(occasion.group(1)), (None, None))[1]
                    gathering = draft if draft.type in GATHERINGS else known
                    article.occasions[head(occasion.group(1))] = (found, gathering)
            said.previous = speaker if clause.relative_to is None else said.previous
            if speaker.kind == "person":
                said.person = speaker
            elif clause.relative_to is None:
                said.body = speaker
    for index, draft in enumerate(article.drafts):
        if draft.type == "joint_statement":
            before = article.drafts[index - 1] if index else None
            for signer in _signatories(draft, before, registry, finder.states):
                draft.actors[signer] = "signatory"
    events = [_event(draft, published, source, proposals) for draft in article.drafts]
    return events, list(proposals.values())


_PARTIES = re.compile(
    r"\b(?:the two|both)\s+(?:delegations|sides|governments|countries|leaders|presidents|ministers|men)\b",
    re.I,
)


def _add_parties(draft: Draft, drafts: list[Draft], registry: Registry) -> None:
    """The people of the last call or meeting held before this draft ("the two presidents discussed");
    a planned one only when none was held."""
    gatherings = [d for d in reversed(drafts) if d is not draft and d.type in WITH_STATUS]
    gathering = next((d for d in gatherings if not d.planned), gatherings[0] if gatherings else None)
    if gathering is None:
        return
    for actor_id in gathering.actors:
        actor = registry.actors.get(actor_id)
        if actor is not None and actor.kind.value == "person":
            draft.actors.setdefault(actor_id, "subject")


def _signatories(draft: Draft, before: Draft | None, registry: Registry, states: dict[str, str]) -> list[str]:
    """Who signs a joint statement (the check requires one): the speaker, a person for their state;
    "the two delegations" are the parties of the gathering just before it (its people's states)."""
    people = [draft.speaker]
    signers = []
    if before is not None and before.type in GATHERINGS and any(_PARTIES.search(s) for s in draft.sentences):
        people += list(before.actors)
        signers += [item["actor_id"] for item in before.evidence if item.get("stands_in_for")]
    for actor_id in people:
        actor = registry.actors.get(actor_id)
        if actor is not None and actor.kind.value == "person":
            signers.append(states.get(actor.country or "", ""))
        elif actor is not None and actor_id == draft.speaker:
            signers.append(actor_id)
    return [signer for signer in dict.fromkeys(signers) if signer in registry.actors]


def _continued(earlier: FoundDate | None, clause: Clause, unit: str = "clause") -> FoundDate | None:
    """A clause without a date of its own goes on in the day of the main clause before it, or of
    the paragraph's first dated sentence (a paragraph tells one day)."""
    if earlier is None or clause.relative_to is not None:
        return None
    return replace(earlier, rule=f"{earlier.rule}; from the {unit} before it")


def _occasion_date(words: str, article: Article) -> FoundDate | None:
    for reference in AT_OCCASION.finditer(words):
        if (known := article.occasions.get(head(reference.group(1)))) is not None:
            return replace(known[0], rule=f"the occasion named before ('{reference.group()}'): its day")
    return None


def _place(
    article: Article, clause: Clause, sentence: Sentence, speaker: Mention, mentions: list[Mention],
    registry: Registry, found: FoundDate | None,
) -> Draft:  # fmt: skip
    drafts = article.drafts
    words = clause.text_of(sentence.text)
    kind, type_words = kind_of(words)
    actor = registry.actors.get(speaker.actor_id)
    country = actor.country if actor is not None else None
    if kind in GATHERINGS:
        candidates = drafts
    else:  # the last draft, and the same speaker's drafts just before it
        count = 1
        while count < len(drafts) and drafts[-count].speaker == speaker.actor_id:
            count += 1
        candidates = drafts[-count:]
    draft = next(
        (d for d in reversed(candidates) if _joins(d, kind, speaker, country, found, sentence.paragraph)),
        None,
    )
    if draft is None and kind in GATHERINGS:  # "who attended the summit": the summit's draft
        for reference in AT_OCCASION.finditer(words):
            draft = draft or article.occasions.get(head(reference.group(1)), (None, None))[1]
    if draft is None:
        draft = Draft(
            sentence.paragraph, kind, speaker.actor_id, speaker.kind, country, type_words=type_words
        )
        drafts.append(draft)
    draft.last_paragraph = sentence.paragraph
    if kind == "visit":
        draft.type = "visit"
    draft.planned = draft.planned or (
        kind in WITH_STATUS and (FUTURE.search(words) or _WOULD.search(words)) is not None
    )
    if found is not None and draft.found_date is None:
        draft.found_date = found
    for mention in mentions:
        if clause.covers(mention.start) and mention.location and draft.location is None:
            located = registry.actors.get(mention.actor_id)
            draft.location = {"name": mention.words, "country": located.country if located else None}
            draft.place = mention.actor_id
    return draft


def _fill(
    draft: Draft, clause: Clause, sentence: Sentence, speaker: Mention, mentions: list[Mention],
    patterns: dict[str, re.Pattern[str]], own_and_condition: tuple[str | None, bool] = (None, False),
) -> None:  # fmt: skip
    """Add the clause's actors, quotes and claims; `own_and_condition`: the speaker's own state,
    and whether the next clause sets a condition on this one."""
    own, conditioned = own_and_condition
    if sentence.text not in draft.sentences:
        draft.sentences.append(sentence.text)
    own_role = {"call": "participant", "meeting": "guest", "visit": "guest"}.get(draft.type, "speaker")
    draft.actors.setdefault(speaker.actor_id, own_role)
    named = [m for m in mentions if clause.covers(m.start) and not m.location]
    registered = {m.actor_id for m in named if not m.proposed or m.stands_for is not None}
    for mention in named:
        other = {"call": "participant"}.get(draft.type, "host" if draft.type in GATHERINGS else "subject")
        if mention.actor_id in registered:
            draft.actors.setdefault(mention.actor_id, other if mention.kind == "person" else "subject")
        if not any(item["words"] == mention.words for item in draft.evidence):
            item = {"actor_id": mention.actor_id, "words": mention.words, "proposed": mention.proposed}
            if mention.stands_for is not None:
                item["stands_in_for"] = mention.stands_for
            draft.evidence.append(item)
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
    inner = [  # "The Kremlin said Putin had told Trump that ...": Putin's words too
        m.actor_id for m in named if m.kind == "person" and m.actor_id != speaker.actor_id
        and SPEECH_AFTER.match(sentence.text, m.end) and m.start > speaker.start and m.actor_id in registered
    ]  # fmt: skip
    for reading in read_clause(words, patterns, conditioned):
        for holder in dict.fromkeys([speaker.actor_id, *inner, *holders(words, states, own)]):
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
    if draft.type == "visit" and draft.place is not None and "host" not in draft.actors.values():
        draft.actors.setdefault(draft.place, "host")
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
    mentioned = {item.get("stands_in_for") or item["actor_id"] for item in draft.evidence}
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

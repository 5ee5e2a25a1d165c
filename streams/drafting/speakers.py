"""Who a clause is about: its speaker, by the rules of news prose (`compose` builds events with it).

A relative clause's antecedent; "according to X"; a name right before a verb of speech ("the
White House said"); "he said" set in the clause ("The UK, he said, was ready"), "he", "his" at its
start, or a clause going on with "and that", ", adding": the last named speaker; "it said": the
last organisation or state that spoke; else the subject (after an opening "In Brussels
yesterday,"); unnamed "officials said" are no named speaker's; else the first person it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.drafting.kinds import ANONYMOUS, SPEECH_AFTER
from streams.drafting.mentions import Mention
from streams.drafting.text import Clause

FILLERS = frozenset(
    {"the", "meanwhile", "similarly", "also", "and", "but", "however", "former", "then", "now"}
)
_LEAD = re.compile(
    r"^\W*(?:in|at|on|after|before|during|from|speaking|earlier|later|asked|meanwhile)\b[^,\"“]{0,80},\s*",
    re.I,
)
"""An opening adverbial ("In Brussels yesterday, "): the subject comes after it."""
_SAID_INSIDE = re.compile(
    r"(?:^|,\s+)(?:he|she)\s+(?:also\s+)?(?:said|says|added|told\s+[\w\s]{1,30}?|insisted|warned)\s*(?:,|$)",
    re.I,
)
"""A "he said" set in the clause ("The UK, he said, was ready"): the person's words, not the UK's."""
_BODY_SAID = re.compile(
    r"^\W*(?:it|they)\s+(?:also\s+)?(?:said|says|stated|added|called|urged|warned|noted|stressed"
    r"|demanded|insisted)\b",
    re.I,
)
""""It said ...", after a text or a statement: the organisation or state that issued it."""


@dataclass
class Speakers:
    """The speakers a sentence's clauses may go on with."""

    previous: Mention | None = None
    """The main clause before, in the same sentence."""
    person: Mention | None = None
    """The last person who spoke."""
    body: Mention | None = None
    """The last organisation or state that spoke."""


def subject(mention: Mention, clause_text: str, start: int) -> bool:
    """Whether only capitalised words and fillers come before the mention in its clause."""
    before = re.findall(r"[\w'\u2019-]+", clause_text[:start])
    return all(word[0].isupper() or word.casefold() in FILLERS for word in before)


def speaker_of(clause: Clause, mentions: list[Mention], text: str, known: Speakers) -> Mention | None:
    """Who the clause is about (module docstring), or None when it names and continues no one."""
    previous, last = known.previous, known.person
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
    for mention in inside:
        if SPEECH_AFTER.match(text, mention.end):
            return mention
    if clause.continues and previous is not None:
        return previous
    if last is not None and (re.match(r"^\W*(he|she|his|her)\b", words, re.I) or _SAID_INSIDE.search(words)):
        return last
    if known.body is not None and _BODY_SAID.match(words):
        return known.body
    lead = _LEAD.match(words)
    offset = lead.end() if lead else 0
    after_lead = [m for m in inside if m.start >= clause_start + offset]
    if after_lead and subject(after_lead[0], words[offset:], after_lead[0].start - clause_start - offset):
        return after_lead[0]
    if ANONYMOUS.match(words):
        return inside[0] if inside else None
    if previous is not None and re.match(r"^\W*[a-z]", words):
        return previous
    people = [m for m in inside if m.kind == "person"]
    if people:
        return people[0]
    return previous or last or (inside[0] if inside else None)

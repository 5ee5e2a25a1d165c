"""Suggested stance claims: an issue by its title or keywords, a position from a small lexicon.

The lexicon is the general language of diplomatic reporting (support, oppose, conditions,
hedging), not any article's sentences. The cue nearest the issue's words in the same clause sets
the position; "not" or "no" just before a cue turns it over ("would not object" leans to
support, weakly). Confidence stays low: a claim is a suggestion for a person to review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.issues import Issue

SUPPORT = (
    "support", "supports", "supported", "backs", "backed", "backing", "welcome", "welcomes", "welcomed",
    "endorse", "endorses", "endorsed", "reaffirm", "reaffirms", "reaffirmed", "committed to", "commitment",
    "in favour of", "in favor of", "must", "should", "need to", "needs to", "necessary", "essential",
    "vital", "the only way", "urge", "urges", "urged", "call for", "calls for", "called for", "stand with",
    "openness", "open to", "ready to", "willing to", "agree", "agreed", "plans to", "pledged", "insisted",
    "determine", "decide", "responsibility",
)  # fmt: skip
OPPOSE = (
    "oppose", "opposes", "opposed", "reject", "rejects", "rejected", "condemn", "condemns", "condemned",
    "against", "refuse", "refuses", "refused", "rule out", "ruled out", "criticise", "criticised",
    "criticize", "criticized", "warn against", "warned against", "object", "objects", "no need",
    "not need", "unacceptable", "unwilling", "never", "end", "halt", "suspend", "cut off", "stop",
    "pause", "paused", "pausing", "freeze", "froze", "frozen", "withhold", "withheld", "no room for",
)  # fmt: skip
CONDITION = ("if", "provided", "as long as", "on condition", "unless", "only if", "so long as", "if required")
HEDGE = ("may", "might", "could", "possibly", "perhaps", "appeared", "suggested", "indicated", "expected to")
NEGATION = re.compile(r"\b(not|no|never|n't)\s+(\w+\s+)?$", re.I)
CONDITION_LEAD = re.compile(
    r"^\W*(?:but\s+)?(only\s+(?:if|with|when|after)|provided(?:\s+that)?|as long as|so long as"
    r"|on condition that)\b",
    re.I,
)
"""A clause that sets a condition ("but only with a US backstop"): the condition is wanted, and the
offer in the clause before it is conditional."""

CONFIDENCE = 0.3
"""Every suggested claim's confidence: low, until a person has read the sentence."""


def _words(terms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, terms), key=len, reverse=True)) + r")\b", re.I)


_SUPPORT, _OPPOSE, _CONDITION, _HEDGE = _words(SUPPORT), _words(OPPOSE), _words(CONDITION), _words(HEDGE)


@dataclass(frozen=True)
class Reading:
    issue_id: str
    position: str
    score: float
    issue_words: str
    cue: str


_LEADING_PREPOSITION = re.compile(r"^(?:at|to|in|on|into|onto)\\ ", re.I)
"""A keyword's opening preposition is the verb's, not the issue's: "come to the negotiating table"
names "at the negotiating table" too."""


def _term(keyword: str) -> str:
    escaped = re.escape(keyword)
    return _LEADING_PREPOSITION.sub(r"(?:at|to|in|on|into|onto)\\s+", escaped)


def issue_patterns(issues: dict[str, Issue]) -> dict[str, re.Pattern[str]]:
    """Each issue's title and keywords as one case-insensitive pattern."""
    patterns = {}
    for issue in issues.values():
        terms = sorted((issue.title, *issue.keywords), key=len, reverse=True)
        patterns[issue.id] = re.compile(r"\b(" + "|".join(map(_term, terms)) + r")\b", re.I)
    return patterns


def read_clause(
    clause: str, patterns: dict[str, re.Pattern[str]], conditioned: bool = False
) -> list[Reading]:
    """A reading per issue the clause names and a cue of the lexicon marks; `conditioned`: the
    next clause sets a condition on this one (`CONDITION_LEAD`)."""
    readings = []
    cues = [(m.start(), m.group(), 1) for m in _SUPPORT.finditer(clause)]
    cues += [(m.start(), m.group(), -1) for m in _OPPOSE.finditer(clause)]
    if not cues and (lead := CONDITION_LEAD.match(clause)):
        cues = [(lead.start(1), lead.group(1), 1)]
        return [_read(clause, pattern, issue_id, cues, False, False) for issue_id, pattern in patterns.items()
                if pattern.search(clause)]  # fmt: skip
    if not cues:
        return []
    conditional = conditioned or _CONDITION.search(clause) is not None
    hedged = _HEDGE.search(clause) is not None
    for issue_id, pattern in patterns.items():
        if pattern.search(clause) is not None:
            readings.append(_read(clause, pattern, issue_id, cues, conditional, hedged))
    return readings


def _read(
    clause: str, pattern: re.Pattern[str], issue_id: str, cues: list[tuple[int, str, int]],
    conditional: bool, hedged: bool,
) -> Reading:  # fmt: skip
    found = pattern.search(clause)
    assert found is not None
    before = [cue for cue in cues if cue[0] < found.start()]  # the governing verb usually leads
    start, cue, sign = max(before) if before else min(cues, key=lambda cue: abs(cue[0] - found.start()))
    weak = False
    if NEGATION.search(clause[:start]):
        sign, weak = -sign, True
    if sign > 0 and conditional:
        position, score = "conditional", 0.4
    elif sign > 0:
        position, score = "support", 0.4 if (hedged or weak) else 0.7
    else:
        position, score = "oppose", -0.4 if (hedged or weak) else -0.7
    return Reading(issue_id, position, score, found.group(), cue)


_HOLDS = re.compile(
    r"(['\u2019]s\b|\s+(would|will|has|backs|supports|backed|supported|pledged|agreed|insisted|vowed"
    r"|promised|wants|rejected|opposed|refused|is|was|are|were|saw|sees|regards|regarded|considers"
    r"|considered|believes|believed)\b)"
)
_OWN_DUTY = re.compile(r"\s+(must|should|can|cannot|has to|needs to)\b")
"""A speaker's own state under a modal ("Ukraine should decide", said by Ukraine's president)."""


def holders(clause: str, states: list[tuple[int, int, str]], own: str | None = None) -> list[str]:
    """States that hold the clause's stance themselves: "the UK's openness", "Canada would ...",
    "Washington pledged"; the speaker's `own` state under a modal ("Ukraine must be at the table")."""
    found = []
    for _start, end, actor_id in states:
        after = clause[end : end + 12]
        if _HOLDS.match(after) or (actor_id == own and _OWN_DUTY.match(after)):
            found.append(actor_id)
    return found

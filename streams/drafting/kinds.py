"""What a clause is: the event type its verbs give, who speaks in it, the occasions it names.

Patterns of the general language of news reporting (verbs of speech, of meeting and calling),
kept apart from `compose`, which decides with them how clauses become events.
"""

from __future__ import annotations

import re

TYPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "joint_statement",
        re.compile(
            r"\b(joint statement|joint declaration|communiqu[eé]|jointly"
            r"|signed (?:a|an|the) (?:[\w-]+ ){0,2}?(?:text|declaration|statement|communiqu[eé]))\b",
            re.I,
        ),
    ),
    ("announcement", re.compile(r"\b(announce[sd]?|announcement|unveil(ed|s)?)\b", re.I)),
    (
        "call",
        re.compile(
            r"\b(phone call|call with|(?:spoke|spoken|speak|speaks|talked|talk) by (?:tele)?phone"
            r"|(?:spoke|spoken|speak|speaks|speaking|talked) (?:with|to)"
            r"(?!\s+(?:the\s+)?(?:reporters|journalists|press|media|parliament|lawmakers|the nation))"
            r"|phoned|telephoned)\b",
            re.I,
        ),
    ),
    (
        "visit",
        re.compile(
            r"\b(visit(s|ed|ing)?|trip|travel(s|led|ling)?|(?:is|are|was|were) due in(?= (?-i:[A-Z]))"
            r"|arriv(?:e|es|ed|ing) in(?= (?-i:[A-Z])))\b",
            re.I,
        ),
    ),
    (
        "meeting",
        re.compile(
            r"\b(meet(s|ing)?|met|talks with|held talks|summit|host(s|ed|ing)?|convene[sd]?|convening"
            r"|gathered|spent (?:[\w-]+ ){0,5}?hours? with)\b",
            re.I,
        ),
    ),
]
SPEECH = re.compile(
    r"\b(said|says|stated|told|expressed|emphasi[sz]ed|stressed|urged|reaffirmed|indicated|noted|warned)\b"
)
HELD = re.compile(
    r"\b(talks|meeting|summit|round)\b[^.;]{0,40}?\b(take place|took place|be held|was held|were held"
    r"|is held)\b",
    re.I,
)
"""A gathering said to take place is one, even in reported speech ("officials said talks could ...")."""
TALKED_ABOUT = re.compile(
    r"\b(rule[sd]? out|ruling out|support(?:s|ed)?|back(?:s|ed)?|welcome[sd]?|reject(?:s|ed)?|oppose[sd]?"
    r"|call(?:s|ed)? for|urge[sd]?|refuse[sd]?|condemn(?:s|ed)?|against)"
    r"(?:\s+[\w'-]+){0,3}?\s+(talks|meeting|negotiations|summit)\b",
    re.I,
)
"""Talks a stance is about ("did not rule out further talks with Washington") are not held."""
SPEECH_AFTER = re.compile(
    r"(?:\s*,[^,]{1,80},)?\s+(?:has\s+|had\s+|have\s+)?(?:also\s+)?"
    r"(said|says|told|stated|added|insisted|warned|stressed|announced|declared|noted|tweeted|wrote)\b"
)
"""A name right before a verb of speech is the clause's speaker ("the White House said")."""
ANONYMOUS = re.compile(
    r"^\W*(?:[\w-]+\s+){0,2}?(officials|diplomats|sources|analysts|observers|aides|experts|people familiar)"
    r"\b[^,]{0,40}?\b(said|say|says|told|suggest|believe)\b",
    re.I,
)
"""Unnamed sources: the clause is theirs, not the last named speaker's."""
OCCASIONS = (
    r"summit|press conference|news conference|conference|meeting|talks|briefing|session|ceremony|forum"
)
OCCASION = re.compile(rf"\b({OCCASIONS})\b", re.I)
AT_OCCASION = re.compile(
    rf"\b(?:at|during|told|attended|attending|addressed|addressing|on the sidelines of)\s+the\s+"
    rf"(?:same\s+)?(?:[\w-]+\s+)?({OCCASIONS})\b",
    re.I,
)
"""A definite reference to an occasion named before ("told the same press conference"): its day."""


def head(occasion: str) -> str:
    """ "press conference" and "the same conference" name one occasion: its last word."""
    return occasion.split()[-1].lower()


def kind_of(words: str) -> tuple[str, str | None]:
    """The event type a clause's verbs give, and their words."""
    for candidate, pattern in TYPES:
        if candidate == "meeting" and (held := HELD.search(words)):
            return "meeting", held.group()
        if candidate == "meeting" and (SPEECH.search(words) or TALKED_ABOUT.search(words)):
            break  # "expressed support for talks with Russia" is said, not a meeting
        if match := pattern.search(words):
            return candidate, match.group()
    return "statement", None

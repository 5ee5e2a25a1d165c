"""Paragraphs, sentences, clauses and quotes of a news text, by rules (offsets kept throughout).

A wire dateline ("JEDDAH, Saudi Arabia, March 12 (Reuters) -") is taken off the first paragraph:
its day is when the story was filed, the reference for "yesterday", not the day of an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "gen", "lt", "col", "st", "no", "prof", "sen", "rep", "gov"}
)
"""Words whose full stop ends no sentence ("Gen. Carter"); initials ("U.S.") are read the same way."""

_END = re.compile(r"[.!?][\"”\u2019]?\s+")
_QUOTE = re.compile(r"\"([^\"\n]{1,600})\"|“([^”\n]{1,600})”")
_OPEN_TO_END = re.compile(r"[\"“]([^\"“”\n]{1,600})$")
"""A quotation left open at a paragraph's end: it goes on in the next paragraph (wire style)."""
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'\u2019 -]*[A-Z.](?:,\s+[A-Z][A-Za-z.'\u2019 -]*?)?)"
    rf"(?:,\s+(?P<day>(?:{_MONTHS})\.?\s+\d{{1,2}}|\d{{1,2}}\s+(?:{_MONTHS}))(?:,?\s+\d{{4}})?)?"
    r"\s*(?:\((?P<agency>[^()]{1,40})\))?\s*[-\u2013\u2014]+\s*"
)
_SEPARATORS = re.compile(
    r",?\s+but\s+|,?\s+while\s+|;\s+|,\s+(?:particularly\s+|especially\s+|shortly\s+|soon\s+)?after\s+"
    r"|,\s+(?:stressing|adding|insisting|warning|saying|noting)\s+|,?\s+and\s+that\s+"
    # ", and the two delegations issued ...": a second subject with its own verb
    r"|,\s+and\s+(?=(?:the|both|they|he|she|it)\b(?:\s+[\w'-]+){0,3}?\s+(?:\w+ed|said|says|will|would|has|have)\b)"
)
_GOING_ON = re.compile(r",?\s+(?:and\s+that|stressing|adding|insisting|warning|saying|noting)\s+")
"""Separators after which the clause goes on with the same speaker's words."""
_SPEAKING = re.compile(r",\s+speaking\s+(?=at|to|during|after|on|in|before)\b")
"""", speaking at a press conference": split off only after the clause's own verb of speech."""
_SPEECH_BEFORE = re.compile(r"\b(said|says|told|stated|added)\b")
_NAMES_ONLY = re.compile(r"[\s,]*(?:(?:and\s+)?(?:the\s+)?[A-Z][\w.'\u2019-]*[\s,]*)+")
_RELATIVE = re.compile(r",\s+who\s+[^,]+(?:,|$)")


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str
    """The words inside the marks, without a trailing comma or full stop."""


@dataclass
class Clause:
    """Part of a sentence with its own verb: spans of the sentence, and whether it is a relative
    clause (", who ..."), whose subject is the actor named just before it."""

    spans: list[tuple[int, int]]
    relative_to: int | None = None
    """For a relative clause: the offset where its antecedent ends."""
    continues: bool = False
    """Whether it goes on with the words of the clause before ("..., and that", ", adding")."""

    def covers(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self.spans)

    def text_of(self, sentence: str) -> str:
        return " ".join(sentence[start:end].strip(" ,") for start, end in self.spans).strip()


@dataclass
class Sentence:
    paragraph: int
    text: str
    quotes: list[Quote] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)


def quotes_in(text: str) -> list[Quote]:
    """Words in straight or curly double quotation marks; a mark opened and not closed before the
    text's end quotes to the end (a quotation going on in the next paragraph)."""
    found = []
    for match in _QUOTE.finditer(text):
        words = (match.group(1) or match.group(2) or "").strip()
        words = words.rstrip(".,;:").strip()
        if words:
            found.append(Quote(match.start(), match.end(), words))
    last = found[-1].end if found else 0
    if text.count('"', last) % 2 == 1 or "“" in text[last:]:
        opened = _OPEN_TO_END.search(text, last)
        words = opened.group(1).strip().rstrip(".,;:").strip() if opened else ""
        if opened and words:
            found.append(Quote(opened.start(), opened.end(), words))
    return found


def _inside(offset: int, quotes: list[Quote]) -> bool:
    return any(quote.start < offset < quote.end for quote in quotes)


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph: a stop, then space, then a capital or a quotation mark; not after
    an abbreviation or an initial, and not inside a quotation."""
    quotes = quotes_in(paragraph)
    sentences, start = [], 0
    for match in _END.finditer(paragraph):
        rest = paragraph[match.end() : match.end() + 1]
        if not rest or not (rest.isupper() or rest in '"“'):
            continue
        closed = match.group().rstrip().endswith(('"', "”", "\u2019"))
        if match.group().startswith(".") and not closed:
            word = paragraph[start : match.start()].split()[-1:] or [""]
            bare = word[0].strip('("“').casefold()
            if bare in ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", bare):
                continue
        if not closed and _inside(match.start(), quotes):
            continue
        sentences.append(paragraph[start : match.end()].strip())
        start = match.end()
    if paragraph[start:].strip():
        sentences.append(paragraph[start:].strip())
    return sentences


def clauses_of(sentence: str, quotes: list[Quote]) -> list[Clause]:
    """The clauses: split at "but", "while", ";", ", after", ", stressing", ...; a relative clause
    (", who ...,") stands alone. Nothing is split inside a quotation."""
    relatives = [m for m in _RELATIVE.finditer(sentence) if not _inside(m.start(), quotes)]
    separators = list(_SEPARATORS.finditer(sentence))
    separators += [m for m in _SPEAKING.finditer(sentence) if _SPEECH_BEFORE.search(sentence, 0, m.start())]
    cuts, going_on = [0], [False]
    for match in sorted(separators, key=lambda match: match.start()):
        if match.start() < cuts[-1]:
            continue
        if match.group().lstrip(",").lstrip().startswith("and") and _NAMES_ONLY.fullmatch(
            sentence, cuts[-1], match.start()
        ):
            continue  # "France, Germany, and the UK backed ...": a list of names, one subject
        if not _inside(match.start(), quotes) and not any(
            r.start() <= match.start() < r.end() for r in relatives
        ):
            cuts += [match.start(), match.end()]
            going_on.append(_GOING_ON.match(match.group()) is not None)
    cuts.append(len(sentence))
    clauses = []
    for index in range(0, len(cuts), 2):
        start, end = cuts[index], cuts[index + 1]
        spans = [(start, end)]
        for relative in relatives:
            if start <= relative.start() < end:
                clauses.append(Clause([(relative.start(), relative.end())], relative_to=relative.start()))
                spans = [(s, e) for s, e in _without(spans, relative.start(), relative.end()) if e > s]
        clauses.append(Clause(spans, continues=going_on[index // 2]))
    return [clause for clause in clauses if clause.text_of(sentence)]


def _without(spans: list[tuple[int, int]], cut_start: int, cut_end: int) -> list[tuple[int, int]]:
    result = []
    for start, end in spans:
        if end <= cut_start or start >= cut_end:
            result.append((start, end))
        else:
            result += [(start, cut_start), (cut_end, end)]
    return result


@dataclass(frozen=True)
class Dateline:
    place: str
    day: str | None
    """The day's words ("March 12"), when the dateline gives one."""
    agency: str | None
    words: str


def dateline_of(text: str) -> Dateline | None:
    """The wire dateline opening the text ("PARIS, March 28 (AFP) -"), if there is one."""
    found = _DATELINE.match(text.lstrip())
    if found is None or not (found.group("day") or found.group("agency")):
        return None  # a place in capitals alone, with a dash, is too weak a sign
    words = found.group().strip()
    return Dateline(found.group("place"), found.group("day"), found.group("agency"), words)


def read_text(text: str) -> list[Sentence]:
    """Every sentence of the text, with its paragraph number (a paragraph is a run of lines);
    the dateline, if any, is left out."""
    text = text.lstrip()
    dateline = dateline_of(text)
    if dateline is not None:
        text = text[_DATELINE.match(text).end() :]  # type: ignore[union-attr]
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n|\n", text) if block.strip()]
    sentences = []
    for number, paragraph in enumerate(paragraphs):
        for sentence_text in split_sentences(paragraph):
            quotes = quotes_in(sentence_text)
            sentences.append(Sentence(number, sentence_text, quotes, clauses_of(sentence_text, quotes)))
    return sentences

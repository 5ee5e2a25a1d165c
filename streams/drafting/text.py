"""Paragraphs, sentences, clauses and quotes of a news text, by rules (offsets kept throughout)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "gen", "lt", "col", "st", "no", "prof", "sen", "rep", "gov"}
)
"""Words whose full stop ends no sentence ("Gen. Carter"); initials ("U.S.") are read the same way."""

_END = re.compile(r"[.!?][\"”\u2019]?\s+")
_QUOTE = re.compile(r"\"([^\"\n]{1,600})\"|“([^”\n]{1,600})”")
_SEPARATORS = re.compile(
    r",?\s+but\s+|,?\s+while\s+|;\s+|,\s+(?:particularly\s+|especially\s+|shortly\s+|soon\s+)?after\s+"
    r"|,\s+(?:stressing|adding|insisting|warning|saying|noting)\s+"
)
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
    """Words in straight or curly double quotation marks."""
    found = []
    for match in _QUOTE.finditer(text):
        words = (match.group(1) or match.group(2) or "").strip()
        words = words.rstrip(".,;:").strip()
        if words:
            found.append(Quote(match.start(), match.end(), words))
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
    cuts = [0]
    for match in _SEPARATORS.finditer(sentence):
        if not _inside(match.start(), quotes) and not any(
            r.start() <= match.start() < r.end() for r in relatives
        ):
            cuts += [match.start(), match.end()]
    cuts.append(len(sentence))
    clauses = []
    for index in range(0, len(cuts), 2):
        start, end = cuts[index], cuts[index + 1]
        spans = [(start, end)]
        for relative in relatives:
            if start <= relative.start() < end:
                clauses.append(Clause([(relative.start(), relative.end())], relative_to=relative.start()))
                spans = [(s, e) for s, e in _without(spans, relative.start(), relative.end()) if e > s]
        clauses.append(Clause(spans))
    return [clause for clause in clauses if clause.text_of(sentence)]


def _without(spans: list[tuple[int, int]], cut_start: int, cut_end: int) -> list[tuple[int, int]]:
    result = []
    for start, end in spans:
        if end <= cut_start or start >= cut_end:
            result.append((start, end))
        else:
            result += [(start, cut_start), (cut_end, end)]
    return result


def read_text(text: str) -> list[Sentence]:
    """Every sentence of the text, with its paragraph number (a paragraph is a run of lines)."""
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n|\n", text) if block.strip()]
    sentences = []
    for number, paragraph in enumerate(paragraphs):
        for sentence_text in split_sentences(paragraph):
            quotes = quotes_in(sentence_text)
            sentences.append(Sentence(number, sentence_text, quotes, clauses_of(sentence_text, quotes)))
    return sentences

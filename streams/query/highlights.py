"""Where a drafted event's evidence sits in the pasted text: offsets for the page's highlights.

The drafter reports its evidence as words, not offsets (streams/drafting/compose.py), so they are
found again here, from the event's JSON alone: in the event's own sentences (its summary) first,
else the first place in the text. Pure: no FastAPI, no Kafka. Runs of whitespace count as one
space, so a sentence broken over lines in the pasted text still matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["actor", "quote", "date", "claim"]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"”\u2019)])\s+")


@dataclass(frozen=True)
class Span:
    """Characters `start` to `end` of the pasted text are evidence of `kind`; `label` says of
    what (an actor or issue id, a resolved day). The /draft answer's spans, as they are."""

    start: int
    end: int
    kind: Kind
    label: str
    claim: int | None = None
    """For a claim's words: the index of the claim in the event's `stances`."""


class Text:
    """The pasted text with its whitespace runs collapsed, and the way back to its own offsets."""

    def __init__(self, text: str) -> None:
        collapsed: list[str] = []
        offsets: list[int] = []
        for index, character in enumerate(text):
            if character.isspace():
                if collapsed and collapsed[-1] == " ":
                    continue
                character = " "
            collapsed.append(character)
            offsets.append(index)
        offsets.append(len(text))
        self.collapsed = "".join(collapsed)
        self.offsets = offsets
        self._found: dict[str, list[tuple[int, int]]] = {}

    def occurrences(self, words: str, whole_words: bool = True) -> list[tuple[int, int]]:
        """Every place `words` occur, as (start, end) of the collapsed text, in order (cached)."""
        needle = " ".join(words.split())
        key = f"{whole_words}:{needle}"
        if key not in self._found:
            self._found[key] = [] if not needle else list(self._search(needle, whole_words))
        return self._found[key]

    def _search(self, needle: str, whole_words: bool) -> Iterator[tuple[int, int]]:
        pattern = re.escape(needle)
        if whole_words and re.match(r"\w", needle):
            pattern = r"(?<![\w-])" + pattern
        if whole_words and re.search(r"\w$", needle):
            pattern += r"(?![\w-])"
        for match in re.finditer(pattern, self.collapsed):
            yield match.start(), match.end()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the pasted text of the collapsed text's `start` to `end`."""
        return self.offsets[start], self.offsets[end - 1] + 1


def regions_of(event: dict[str, Any], text: Text, after: int) -> list[tuple[int, int]]:
    """The sentences of the event's summary, located in the text (collapsed offsets), each the
    first occurrence at or after `after` (the previous event's start), else the first anywhere."""
    summary = event.get("summary")
    if not isinstance(summary, str):
        return []
    regions = []
    for piece in _SENTENCE_END.split(summary):
        found = text.occurrences(piece, whole_words=False)
        if not found:
            continue
        later = [place for place in found if place[0] >= after]
        regions.append(later[0] if later else found[0])
    return sorted(regions)


def _evidence(event: dict[str, Any]) -> Iterator[tuple[str, Kind, str, int | None]]:
    """(words, kind, label, claim index) for each piece of evidence the event's draft reports."""
    found_marker = event.get("draft")
    marker: dict[str, Any] = found_marker if isinstance(found_marker, dict) else {}
    for actor in marker.get("actors") or []:
        if isinstance(actor, dict) and isinstance(actor.get("words"), str):
            yield actor["words"], "actor", str(actor.get("actor_id", "")), None
    for quote in event.get("quotes") or []:
        if isinstance(quote, dict) and isinstance(quote.get("text"), str):
            yield quote["text"], "quote", str(quote.get("actor_id", "")), None
    found_date = marker.get("date")
    if isinstance(found_date, dict) and isinstance(found_date.get("words"), str):
        yield found_date["words"], "date", str(found_date.get("resolved", "")), None
    for index, claim in enumerate(marker.get("claims") or []):
        if not isinstance(claim, dict):
            continue
        label = f"{claim.get('actor_id', '')} on {claim.get('issue_id', '')}"
        for name in ("issue_words", "cue"):
            if isinstance(claim.get(name), str):
                yield claim[name], "claim", label, index


def spans_of(event: dict[str, Any], text: Text, regions: list[tuple[int, int]]) -> list[Span]:
    """The event's evidence in the text: every place inside its regions, else the first anywhere."""
    spans: dict[tuple[int, int, str, int | None], Span] = {}
    for words, kind, label, claim in _evidence(event):
        found = text.occurrences(words, whole_words=kind != "quote")
        inside = [place for place in found if _inside(place, regions)]
        for start, end in inside or found[:1]:
            begin, finish = text.original(start, end)
            spans.setdefault((begin, finish, kind, claim), Span(begin, finish, kind, label, claim))
    return sorted(spans.values(), key=lambda span: (span.start, span.end))


def _inside(place: tuple[int, int], regions: list[tuple[int, int]]) -> bool:
    return any(start <= place[0] and place[1] <= end for start, end in regions)


def highlights(events: list[dict[str, Any]], pasted: str) -> list[list[Span]]:
    """For each drafted event (in order), the spans of its evidence in `pasted`."""
    text = Text(pasted)
    answer = []
    after = 0
    for event in events:
        regions = regions_of(event, text, after)
        if regions:
            after = regions[0][0]
        answer.append(spans_of(event, text, regions))
    return answer

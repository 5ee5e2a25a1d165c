"""The draft marker: a draft line carries its evidence under `draft`, and the publisher refuses it.

Stdlib and orjson only: `streams.clients.author` (the light validator) imports this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

DRAFT_KEY = "draft"
"""The top-level key of a draft line; an event has no such field, so it is never mistaken for one."""

REFUSAL = (
    "a draft line (it carries the 'draft' marker with its evidence): review it, then run"
    " 'timeline draft accept FILE -o READY.jsonl' (or delete the marker) before publishing"
)


def is_draft(raw: Any) -> bool:
    """Whether `raw` (a dict, or a JSON line as text or bytes) is an unreviewed draft."""
    if isinstance(raw, dict):
        return DRAFT_KEY in raw
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes) or b'"draft"' not in raw:
        return False  # the common case: one substring search, no second parse
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False  # the event parser reports it
    return isinstance(document, dict) and DRAFT_KEY in document


def accept_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Each non-blank line without its marker, keys in their order: what a reviewer publishes."""
    for line in lines:
        if not line.strip():
            continue
        document = orjson.loads(line)
        if isinstance(document, dict):
            document.pop(DRAFT_KEY, None)
        yield orjson.dumps(document)

"""Event streams for the soak scenarios: the benchmark's synthetic events, then disordered,
duplicated, retracted or mixed with bad records.

The good events come from `bench.generate` (2,000 actors, 50 issues, skewed keys,
about 500 bytes each); everything here is deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.generate import actor_id
from bench.generate import events as bench_events

Document = dict[str, Any]


def good_events(count: int, seed: int) -> list[Document]:
    return [orjson.loads(raw) for raw in bench_events(count, seed=seed)]


def encode(document: Document) -> bytes:
    return orjson.dumps(document)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_retractions(documents: list[Document], share: float, seed: int) -> list[Document]:
    """Insert retraction events, each some way after the event it retracts."""
    rng = random.Random(seed)
    result = list(documents)
    targets = rng.sample(range(len(documents)), int(len(documents) * share))
    for number, target in enumerate(sorted(targets, reverse=True)):
        original = documents[target]
        retraction = {
            "schema_version": 1,
            "event_id": f"retract-{seed}-{number:06d}",
            "type": "retraction",
            "occurred_at": original["occurred_at"],
            "recorded_at": original["recorded_at"],
            "summary": f"correction: {original['event_id']} misattributed",
            "retracts": original["event_id"],
            "reason": "misattributed quote",
        }
        position = min(len(result), target + 1 + rng.randrange(1, 200))
        result.insert(position, retraction)
    return result


def disordered(
    documents: list[Document], seed: int, window_hours: float = 72, late_share: float = 0.01
) -> tuple[list[Document], set[str]]:
    """Publish order shuffled within `window_hours` of event time; `late_share` of the events
    moved to the very end with an event time months earlier. Returns (events, late event ids)."""
    rng = random.Random(seed)
    jitter = timedelta(hours=window_hours)
    keyed = [
        (_at(doc["occurred_at"]["at"]) + jitter * rng.random(), index) for index, doc in enumerate(documents)
    ]
    shuffled = [documents[index] for _, index in sorted(keyed)]
    late_indexes = set(rng.sample(range(len(shuffled)), int(len(shuffled) * late_share)))
    on_time, late = [], []
    for index, doc in enumerate(shuffled):
        if index in late_indexes:
            moved = dict(doc)
            moved["occurred_at"] = {
                "at": _text(_at(doc["occurred_at"]["at"]) - timedelta(days=rng.uniform(30, 365))),
                "precision": "second",
            }
            late.append(moved)
        else:
            on_time.append(doc)
    return on_time + late, {doc["event_id"] for doc in late}


def duplicated(documents: list[Document], seed: int, triple_share: float = 0.05) -> list[Document]:
    """Every event twice, `triple_share` of them three times, the copies spread over the stream."""
    rng = random.Random(seed)
    copies = list(documents) + list(documents)
    copies += rng.sample(documents, int(len(documents) * triple_share))
    head, tail = copies[: len(documents) // 2], copies[len(documents) // 2 :]
    rng.shuffle(tail)
    return head + tail


BAD_KINDS = (
    "invalid_json",
    "bad_utf8",
    "invalid_event",  # a required field missing
    "unsupported_schema_version",
    "unknown_reference",  # an actor no registry knows
    "oversized",
)


def bad_records(count: int, seed: int, template: Document, max_bytes: int) -> list[tuple[str, bytes, bytes]]:
    """`count` records a careless client could write straight to the topic: (kind, key, value)."""
    rng = random.Random(seed)
    records = []
    for number in range(count):
        kind = BAD_KINDS[number % len(BAD_KINDS)]
        event_id = f"bad-{seed}-{number:05d}"
        doc = dict(template, event_id=event_id)
        if kind == "invalid_json":
            value = b'{"event_id": "' + event_id.encode() + b'", "type": "statement", '
        elif kind == "bad_utf8":
            value = encode(doc).replace(b"minister", b"minist\xff\xfe", 1) + b"\xc3\x28"
        elif kind == "invalid_event":
            doc.pop("summary")
            value = encode(doc)
        elif kind == "unsupported_schema_version":
            value = encode(dict(doc, schema_version=7 + rng.randrange(5)))
        elif kind == "unknown_reference":
            stance = dict(doc["stances"][0], actor_id=f"nobody-{number}")
            value = encode(
                dict(doc, stances=[stance], actors=[{"actor_id": f"nobody-{number}", "role": "speaker"}])
            )
        else:
            value = encode(
                dict(doc, summary="x" * 9_000, quotes=[{"actor_id": actor_id(0), "text": "y" * max_bytes}])
            )
        records.append((kind, event_id.encode(), value))
    rng.shuffle(records)
    return records

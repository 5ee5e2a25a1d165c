"""The seed: the article's events, encoded by hand, all valid and all known."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas import parse_event
from streams.registry_files import load_registry


def test_seed_events_are_valid_unique_and_cover_the_article(repo: Path) -> None:
    registry = load_registry()
    lines = [line for line in (repo / "seed" / "events.jsonl").read_bytes().splitlines() if line]
    assert len(lines) >= 12
    events = [registry.canonicalize(parse_event(line)) for line in lines]
    ids = [event.event_id for event in events]
    assert None not in ids and len(set(ids)) == len(ids)
    claimed = {(claim.actor_id, claim.issue_id) for event in events for claim in event.stances}
    speakers = {actor for actor, _ in claimed}
    for actor in [
        "nick-carter",
        "keir-starmer",
        "david-lammy",
        "donald-trump",
        "emmanuel-macron",
        "justin-trudeau",
        "wang-yi",
    ]:
        assert actor in speakers, f"no stance claim by {actor}"
    assert ("keir-starmer", "ukraine-security-guarantees") in claimed
    assert ("keir-starmer", "us-backstop") in claimed
    for event in events:
        assert event.source is not None, f"{event.event_id} has no source"
        assert event.recorded_at is None, "recorded_at is set by the publisher"
    quotes = " ".join(quote.text for event in events for quote in event.quotes)
    for phrase in [
        "the only way to effectively deter Russia",
        "Tsarist imperialism",
        "would not object",
        "all efforts conducive to peace",
    ]:
        assert phrase in quotes
    assert all(orjson.loads(line).get("schema_version") == 1 for line in lines)

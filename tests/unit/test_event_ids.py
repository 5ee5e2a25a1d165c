"""Derived event ids are stable: re-running a script publishes nothing new."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas import content_fingerprint, derive_event_id, parse_event


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "announcement",
        "occurred_at": "2025-02-18",
        "summary": "The US will hold direct talks with Russia in Riyadh.",
        "actors": [{"actor_id": "usa", "role": "speaker"}, {"actor_id": "rus", "role": "target"}],
    }
    base.update(overrides)
    return base


def test_same_content_same_id_whatever_the_key_order() -> None:
    first = parse_event(document())
    second = parse_event(dict(reversed(list(document().items()))))
    assert derive_event_id(first) == derive_event_id(second)
    assert derive_event_id(first).startswith("ev-") and len(derive_event_id(first)) == 27


def test_the_id_ignores_recorded_at_and_an_existing_id() -> None:
    plain = parse_event(document())
    stamped = parse_event(document(recorded_at=datetime(2026, 1, 1, tzinfo=UTC), event_id="x"))
    assert content_fingerprint(plain) == content_fingerprint(stamped)


def test_equivalent_spellings_of_a_time_give_the_same_id() -> None:
    as_text = parse_event(document())
    as_object = parse_event(document(occurred_at={"at": "2025-02-18T00:00:00Z", "precision": "day"}))
    assert derive_event_id(as_text) == derive_event_id(as_object)


def test_different_content_different_id() -> None:
    assert derive_event_id(parse_event(document())) != derive_event_id(
        parse_event(document(summary="The US will hold direct talks with Russia."))
    )
    assert derive_event_id(parse_event(document())) != derive_event_id(
        parse_event(document(occurred_at="2025-02-19"))
    )

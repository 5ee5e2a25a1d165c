"""What the publisher checks and fills in before anything is sent (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import Registry
from streams.clients.publisher import InvalidEventError, prepare_event
from streams.registry_files import load_registry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def good() -> dict[str, object]:
    return {
        "type": "statement",
        "occurred_at": "2025-02-20",
        "summary": "Trudeau: Kyiv must be at the table.",
        "actors": [{"actor_id": "Justin Trudeau", "role": "speaker"}],
        "stances": [
            {
                "actor_id": "justin-trudeau",
                "issue_id": "kyiv-in-negotiations",
                "position": "support",
                "score": 0.9,
            }
        ],
    }


def test_prepare_sets_id_recorded_at_and_resolves_aliases(registry: Registry) -> None:
    event, encoded = prepare_event(good(), registry, 256 * 1024, now=lambda: NOW)
    assert event.event_id is not None and event.event_id.startswith("ev-")
    assert event.recorded_at == NOW
    assert event.actors[0].actor_id == "justin-trudeau"
    assert b'"recorded_at":"2026-11-25T12:00:00Z"' in encoded


def test_a_given_event_id_is_kept(registry: Registry) -> None:
    event, _ = prepare_event({**good(), "event_id": "mine-1"}, registry, 256 * 1024)
    assert event.event_id == "mine-1"


def test_unknown_actor_is_refused_with_line_and_field(registry: Registry) -> None:
    document = good()
    document["actors"] = [{"actor_id": "Justin Trudo", "role": "speaker"}]
    with pytest.raises(InvalidEventError) as caught:
        prepare_event(document, registry, 256 * 1024, line=7)
    assert caught.value.reason == "unknown_reference"
    assert str(caught.value).startswith("line 7: actors.0.actor_id: unknown actor 'Justin Trudo'")


def test_oversized_event_is_refused(registry: Registry) -> None:
    document = {**good(), "summary": "x" * 5000}
    with pytest.raises(InvalidEventError, match="more than the limit of 4096") as caught:
        prepare_event(document, registry, 4096)
    assert caught.value.reason == "oversized"


def test_malformed_json_line_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidEventError, match="line 2: not valid JSON") as caught:
        prepare_event(b'{"type": ', registry, 4096, line=2)
    assert caught.value.reason == "invalid_json"

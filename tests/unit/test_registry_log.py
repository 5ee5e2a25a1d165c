"""The registry as a log, without a broker: as-of lookups, the decision rule for an actor
added between two events, the catch-up the edge runs, and idempotent loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.registry_log import (
    EPOCH,
    ActorRecord,
    BadRecord,
    Entity,
    RegistryHistory,
    decode_record,
    encode_record,
    record_of,
)
from streams.clients.author import InvalidEventError, prepare_event
from streams.core.ingest import RECORDED_AHEAD, Accepted, Behind, Rejected, decide
from streams.registry.loading import plan
from streams.registry_files import load_registry
from streams.replay.memory import Replay
from streams.replay.staged import StagedReplay

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WADEPHUL = Actor(id="johann-wadephul", name="Johann Wadephul", kind="person", country="DEU")


def bundled_history(
    complete_through: datetime = T + timedelta(days=1), with_wadephul: bool = True
) -> RegistryHistory:
    """The bundled registry registered since the start of the log, and Wadephul at T."""
    history = RegistryHistory()
    bundled = load_registry()
    entities: list[Entity] = [*bundled.actors.values(), *bundled.issues.values()]
    for entity in entities:
        history.add(record_of(entity, EPOCH))
    if with_wadephul:
        history.add(record_of(WADEPHUL, T))
    history.complete_through = complete_through
    return history


def statement(event_id: str, recorded_at: datetime, actor: str = "johann-wadephul") -> tuple[bytes, bytes]:
    document = {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": "2025-08-18",
        "recorded_at": recorded_at.isoformat(),
        "summary": "Wadephul on security guarantees",
        "actors": [{"actor_id": actor, "role": "speaker"}],
        "stances": [
            {
                "actor_id": actor,
                "issue_id": "ukraine-security-guarantees",
                "position": "support",
                "score": 0.7,
            }
        ],
    }
    return event_id.encode(), orjson.dumps(document)


def test_as_of_holds_the_versions_registered_by_then() -> None:
    history = RegistryHistory()
    history.add(record_of(WADEPHUL, T))
    renamed = Actor.model_validate({**WADEPHUL.model_dump(), "aliases": ["the German Foreign Minister"]})
    history.add(record_of(renamed, T + timedelta(hours=1)))
    history.add(record_of(renamed, T + timedelta(hours=2), retired=True))
    assert "johann-wadephul" not in history.as_of(T - timedelta(microseconds=1)).actors
    assert history.as_of(T).actors["johann-wadephul"].aliases == ()
    assert history.as_of(T + timedelta(hours=1)).actors["johann-wadephul"].aliases != ()
    retired = history.as_of(T + timedelta(hours=3))
    assert "johann-wadephul" in retired.actors  # the stream side still knows a retired id
    assert "actor:johann-wadephul" in retired.retired
    assert "johann-wadephul" not in retired.without_retired().actors  # publishers refuse it
    assert len(history.versions("actor:johann-wadephul")) == 3
    assert history.current() is history.as_of(datetime.max.replace(tzinfo=UTC))


def test_a_record_round_trips_and_a_bad_one_is_named() -> None:
    record = record_of(WADEPHUL, T)
    key, value = encode_record(record)
    assert key == b"actor:johann-wadephul"
    assert orjson.loads(value)["registered_at"] == "2026-03-01T12:00:00Z"
    assert decode_record(key, value) == record
    issue_key, issue_value = encode_record(record_of(Issue(id="moon-base", title="A base"), T, retired=True))
    assert decode_record(issue_key, issue_value).retired
    with pytest.raises(BadRecord, match="names 'someone-else'"):
        decode_record(b"actor:someone-else", value)
    with pytest.raises(BadRecord, match="is not 'actor:ID'"):
        decode_record(b"person:johann-wadephul", value)
    with pytest.raises(BadRecord):
        decode_record(key, b"{not json")


def test_an_event_is_decided_against_the_registry_as_of_its_recorded_at() -> None:
    history = bundled_history()
    before_key, before = statement("ev-before", T - timedelta(seconds=1))
    after_key, after = statement("ev-after", T + timedelta(seconds=1))
    rejected = decide(before_key, before, None, history, T)
    assert isinstance(rejected, Rejected) and rejected.reason == "unknown_reference"
    assert "unknown actor 'johann-wadephul'" in rejected.error
    assert isinstance(decide(after_key, after, None, history, T), Accepted)


def test_a_recorded_at_far_past_its_record_is_read_as_of_the_record() -> None:
    history = bundled_history(complete_through=T - timedelta(minutes=1), with_wadephul=False)
    key, value = statement("ev-future", T + timedelta(days=365))
    assert decide(key, value, None, history, T) == Behind(T + RECORDED_AHEAD)


def test_an_unknown_id_past_what_was_read_asks_the_edge_to_read_on() -> None:
    history = bundled_history(complete_through=T - timedelta(minutes=1), with_wadephul=False)
    key, value = statement("ev-after", T + timedelta(seconds=1))
    assert decide(key, value, None, history, T) == Behind(T + timedelta(seconds=1))
    known_key, known = statement("ev-starmer", T + timedelta(seconds=1), actor="keir-starmer")
    assert isinstance(decide(known_key, known, None, history, T), Accepted)  # known ids need no read


async def test_replay_with_an_actor_added_between_two_events_catches_up_and_decides_the_same() -> None:
    """The edge (here a fake catch-up) reads the registry on; the pure step then decides by
    the same rule as a replay that had read everything first: the same state, byte for byte."""
    records = [
        statement("ev-before", T - timedelta(seconds=1)),
        statement("ev-after", T + timedelta(seconds=1)),
    ]
    partial = bundled_history(complete_through=T - timedelta(minutes=1), with_wadephul=False)
    asked: list[datetime] = []

    async def catch_up(as_of: datetime) -> None:  # what the reader does: read the topic to its end
        asked.append(as_of)
        partial.add(record_of(WADEPHUL, T))
        partial.complete_through = T + timedelta(minutes=1)

    live = Replay(partial, catch_up=catch_up)
    complete = Replay(bundled_history())
    staged = StagedReplay(bundled_history())
    for key, value in records:
        sent_ms = int(datetime.fromisoformat(orjson.loads(value)["recorded_at"]).timestamp() * 1000) + 5
        for replay in (live, complete, staged):
            await replay.feed(key, value, sent_ms)
    staged_outcome = staged.finish()
    assert asked == [T - timedelta(seconds=1)]  # the second event's actor was known by then
    for replay in (live, complete):
        assert [letter.reason for letter in replay.dead_letters] == ["unknown_reference"]
        assert list(replay.events) == [b"ev-after"]
    assert live.hash() == complete.hash() == staged_outcome.hash()


def test_the_publisher_checks_as_of_its_recorded_at_and_refuses_a_retired_id() -> None:
    history = bundled_history()
    history.add(record_of(WADEPHUL, T + timedelta(hours=1), retired=True))
    _, value = statement("ev-x", T)
    event, _ = prepare_event(value, history, 1 << 20, now=lambda: T + timedelta(minutes=1))
    assert event.recorded_at == T + timedelta(minutes=1)
    with pytest.raises(InvalidEventError, match="unknown actor 'johann-wadephul'"):
        prepare_event(value, history, 1 << 20, now=lambda: T - timedelta(minutes=1))
    with pytest.raises(InvalidEventError, match="'johann-wadephul' is retired"):
        prepare_event(value, history, 1 << 20, now=lambda: T + timedelta(hours=2))


def test_loading_publishes_only_what_differs_from_the_latest_version() -> None:
    history = bundled_history()
    bundled = load_registry()
    entities: list[Entity] = [*bundled.actors.values(), *bundled.issues.values()]
    chosen, report = plan(entities, history, new_only=False)
    assert chosen == [] and report.unchanged == len(entities)  # loading twice publishes nothing
    starmer = bundled.actors["keir-starmer"].model_copy(update={"name": "Sir Keir Starmer"})
    newcomer = Actor(id="kaja-kallas", name="Kaja Kallas", kind="person")
    history.add(record_of(Issue(id="old-issue", title="Old"), T, retired=True))
    chosen, report = plan([starmer, newcomer, Issue(id="old-issue", title="Old")], history, new_only=True)
    assert chosen == [newcomer] and report.differing == ["actor:keir-starmer"]
    assert report.retired == ["issue:old-issue"]
    chosen, _ = plan([starmer], history, new_only=False)
    assert chosen == [starmer]


def test_a_file_registry_holds_for_every_instant() -> None:
    registry = load_registry()
    assert registry.as_of(EPOCH) is registry
    assert registry.complete_through == datetime.max.replace(tzinfo=UTC)
    assert isinstance(record_of(WADEPHUL, T), ActorRecord)

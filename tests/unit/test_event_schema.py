"""Validation of events: good ones pass, bad ones fail with the error a user would read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas import EventTime, Precision, RetractionEvent, StatementEvent, VisitEvent, parse_event
from schemas.events import EventRejected, encode_event


def statement(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "statement",
        "event_id": "test-1",
        "occurred_at": "2025-02-20",
        "summary": "Starmer says a US security guarantee is the only deterrent.",
        "actors": [{"actor_id": "keir-starmer", "role": "speaker"}],
        "stances": [
            {
                "actor_id": "keir-starmer",
                "issue_id": "ukraine-security-guarantees",
                "position": "support",
                "score": 0.9,
                "confidence": 0.9,
                "quote": "the only way to effectively deter Russia",
            }
        ],
    }
    event.update(overrides)
    return event


def rejection(document: dict[str, Any] | bytes) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(document)
    return caught.value


def test_a_good_statement_parses_with_day_precision() -> None:
    event = parse_event(statement())
    assert isinstance(event, StatementEvent)
    assert event.occurred_at.precision is Precision.DAY
    assert event.occurred_at.label() == "2025-02-20"
    assert event.stances[0].position == "support"


@pytest.mark.parametrize("kind", ["statement", "meeting", "visit", "call", "announcement", "agreement"])
def test_every_event_type_round_trips_through_json(kind: str) -> None:
    event = parse_event(statement(type=kind))
    assert event.type == kind
    assert parse_event(encode_event(event)) == event


def test_a_planned_visit_keeps_its_status() -> None:
    event = parse_event(statement(type="visit", status="planned", occurred_at="2025-02-27"))
    assert isinstance(event, VisitEvent) and event.status == "planned"


def test_a_retraction_names_the_event_it_withdraws() -> None:
    event = parse_event(
        statement(type="retraction", retracts="test-0", reason="misattributed quote", stances=[])
    )
    assert isinstance(event, RetractionEvent) and event.retracts == "test-0"


def test_a_retraction_with_claims_is_refused() -> None:
    error = rejection(statement(type="retraction", retracts="test-0", reason="x"))
    assert "a retraction carries no stance claims" in error.message


def test_unknown_type_names_the_allowed_ones() -> None:
    error = rejection(statement(type="tweet"))
    assert error.reason == "invalid_event"
    assert "'statement', 'meeting', 'visit', 'call', 'announcement', 'agreement'" in error.message


def test_missing_summary_names_the_field() -> None:
    document = statement()
    del document["summary"]
    assert "summary: Field required" in rejection(document).message


def test_a_time_without_zone_is_refused_with_advice() -> None:
    error = rejection(statement(occurred_at="2025-02-20T10:00:00"))
    assert "occurred_at:" in error.message and "no time zone" in error.message


def test_score_out_of_range_names_the_claim() -> None:
    document = statement()
    document["stances"][0]["score"] = 1.5
    assert "stances.0.score: Input should be less than or equal to 1" in rejection(document).message


def test_support_with_a_negative_score_is_inconsistent() -> None:
    document = statement()
    document["stances"][0]["score"] = -0.5
    assert "position 'support' needs a score above 0" in rejection(document).message


def test_two_claims_on_one_actor_and_issue_are_refused() -> None:
    document = statement()
    document["stances"] = document["stances"] * 2
    assert "at most one claim per (actor, issue)" in rejection(document).message


def test_unknown_fields_are_refused_not_dropped() -> None:
    assert "mood: Extra inputs are not permitted" in rejection(statement(mood="angry")).message


def test_bad_event_id_characters() -> None:
    assert "event_id:" in rejection(statement(event_id="has spaces")).message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe{}", "bad_utf8"),
        (b"[1, 2]", "not_an_object"),
        (b'{"schema_version": 9, "type": "statement"}', "unsupported_schema_version"),
    ],
)
def test_undecodable_bytes_get_a_reason_code(raw: bytes, reason: str) -> None:
    assert rejection(raw).reason == reason


@pytest.mark.parametrize(
    ("text", "precision", "iso"),
    [
        ("2025", Precision.YEAR, "2025-01-01T00:00:00+00:00"),
        ("2025-02", Precision.MONTH, "2025-02-01T00:00:00+00:00"),
        ("2025-02-24", Precision.DAY, "2025-02-24T00:00:00+00:00"),
        ("2025-02-24T15:30:00+01:00", Precision.MINUTE, "2025-02-24T14:30:00+00:00"),
        ("2025-02-24T15:30:12Z", Precision.SECOND, "2025-02-24T15:30:12+00:00"),
    ],
)
def test_event_time_precision(text: str, precision: Precision, iso: str) -> None:
    parsed = EventTime.model_validate(text)
    assert parsed.precision is precision and parsed.at.isoformat() == iso


_BASE = '{"type":"statement","event_id":"e-1","occurred_at":"2025-02-27","summary":"s"%s}'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_BASE % ',"schema_version":true', "unsupported_schema_version"),
        (_BASE % ',"schema_version":1.0', "unsupported_schema_version"),
        (_BASE % ',"schema_version":"1"', "unsupported_schema_version"),
        (_BASE % ',"schema_version":2', "unsupported_schema_version"),
        (_BASE % ',"source":{"outlet":"\\ud800"}', "invalid_json"),
        ("\ufeff" + _BASE % "", "invalid_json"),
        (_BASE % "" + " x", "invalid_json"),
        (
            _BASE % ',"stances":[{"actor_id":"a","issue_id":"i","position":"neutral","score":NaN}]',
            "invalid_json",
        ),
        (
            _BASE % ',"stances":[{"actor_id":"a","issue_id":"i","position":"neutral","score":1e400}]',
            "invalid_json",
        ),
    ],
)
def test_bytes_the_one_pass_reader_would_take_differently_are_refused_as_before(
    text: str, reason: str
) -> None:
    """parse_event reads valid current events in one pass (pydantic's JSON reader); these must not pass."""
    with pytest.raises(EventRejected) as caught:
        parse_event(text.encode())
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        _BASE % "",
        _BASE % ',"schema_version":1',
        _BASE % ',"schema_version":0',
        '{"type":"bogus","type":"statement","occurred_at":"2025","summary":"s"}',
        '{"type":"statement","summary":"a","occurred_at":"2025","summary":"b"}',
        "  " + _BASE % "" + "\n ",
        '{"kind":"statement","date":"2025-02-20","summary":"v0","actor":"keir-starmer"}',
    ],
)
def test_bytes_and_their_decoded_document_give_the_same_event(text: str) -> None:
    """The one-pass reader and the upcasting path (what a dict takes) agree on what both accept."""
    assert parse_event(text.encode()) == parse_event(orjson.loads(text)) == parse_event(text)

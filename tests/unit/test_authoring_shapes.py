"""The shapes real reporting needs (issue 15): joint statements and declarations, signatories,
a claim's basis, a place string, day-precision object times, dated aliases, blocs with members;
and what was written before them keeps its bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import Registry, UnknownReferenceError, parse_event
from schemas.actors import Actor
from schemas.events import (
    DeclarationEvent,
    EventRejected,
    JointStatementEvent,
    content_fingerprint,
    encode_event,
)
from schemas.stances import Stance
from streams.core.fold import claims_of, stance_documents
from streams.core.records import ClaimOp, StoredStance, encode, encode_claim_op, encode_stored
from streams.core.stance_book import StanceBook
from streams.registry_files import load_registry

RECORDED = datetime(2025, 8, 13, 9, 0, tzinfo=UTC)


def joint_statement(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "joint_statement",
        "event_id": "paris-2025-02-12",
        "occurred_at": {"at": "2025-02-12", "precision": "day"},
        "location": "Paris",
        "summary": "Foreign ministers in Paris: Ukraine must be at the table.",
        "actors": [
            {"actor_id": "david-lammy", "role": "signatory"},
            {"actor_id": "emmanuel-macron", "role": "host"},
        ],
        "stances": [
            {
                "actor_id": "david-lammy",
                "issue_id": "kyiv-in-negotiations",
                "position": "support",
                "score": 0.9,
                "quote": "Ukraine must be at the heart of any talks",
                "basis": "signed the statement; the quote is its second paragraph",
            }
        ],
    }
    document.update(overrides)
    return document


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def test_a_joint_statement_with_signatories_a_basis_a_place_and_a_day_validates() -> None:
    event = parse_event(joint_statement())
    assert isinstance(event, JointStatementEvent)
    assert event.signatories() == ["david-lammy"]
    assert event.location is not None and event.location.name == "Paris" and event.location.country is None
    assert (
        event.occurred_at.at == datetime(2025, 2, 12, tzinfo=UTC)
        and event.occurred_at.label() == "2025-02-12"
    )
    assert event.stances[0].basis is not None
    stored = orjson.loads(encode_event(event))
    assert stored["location"] == {"name": "Paris", "country": None}  # stored as the object
    assert parse_event(encode_event(event)) == event


def test_a_joint_statement_names_its_signatories() -> None:
    with pytest.raises(EventRejected, match="role 'signatory'"):
        parse_event(joint_statement(actors=[{"actor_id": "david-lammy", "role": "speaker"}]))


def test_a_declaration_may_be_signed_or_not() -> None:
    signed = parse_event(joint_statement(type="declaration"))
    alone = parse_event(joint_statement(type="declaration", actors=[]))
    assert isinstance(signed, DeclarationEvent) and isinstance(alone, DeclarationEvent)
    assert alone.signatories() == []


def test_the_basis_reaches_the_stance_and_every_record_holds_the_model_bytes(registry: Registry) -> None:
    event = registry.canonicalize(parse_event(joint_statement(recorded_at=RECORDED.isoformat())))
    [claim] = claims_of(event)
    assert claim.basis == "signed the statement; the quote is its second paragraph"
    [document] = stance_documents(event.model_dump(mode="json"))
    assert document == claim.model_dump(mode="json")
    assert event.event_id is not None
    op = ClaimOp.for_claim("add", claim, event.event_id, event.occurred_at)
    assert encode_claim_op("add", document, event.event_id, document["occurred_at"]) == encode(op)
    assert encode(op) == orjson.dumps(op.model_dump(mode="json"))
    expected = StoredStance(**dict(claim), made_current=True, replaced=None)
    assert encode_stored(claim, True, None) == orjson.dumps(expected.model_dump(mode="json"))


def test_what_was_written_before_the_basis_keeps_its_bytes_and_fingerprints(repo: Path) -> None:
    """Figures from the code before issue 15: ids derived from content and conflicts depend on them."""
    lines = (repo / "seed" / "events.jsonl").read_bytes().splitlines()
    before = [
        "5d714e8027f9d931d3be1114e9e04492f0d6985c5f285fe66cea61e044ef2041",
        "5303ba2ace21e97cde9ec20b7a8b9fddcf381c645267adb6c0e99893c00d3b6e",
        "18cfb1be3fbc96c9a1016402e9848d2d1ecbd943eeec1925e0717ffa57615910",
    ]
    assert [content_fingerprint(parse_event(line)) for line in lines[:3]] == before
    assert all(b"basis" not in encode_event(parse_event(line)) for line in lines)
    version_0 = parse_event(
        {
            "kind": "statement",
            "date": "2025-02-20",
            "summary": "v0",
            "actor": "keir-starmer",
            "claims": [{"issue": "us-backstop", "stance": "support", "score": 0.5, "quote": "q"}],
        }
    )
    assert (
        content_fingerprint(version_0) == "5d5f50c72425dbd2fd799d29f4d5ff06dd19c5ac54d574da3c9b058543274ba5"
    )
    stance = Stance(
        actor_id="keir-starmer",
        issue_id="us-backstop",
        position="support",
        score=0.5,
        confidence=1.0,
        quote="q",
        event_id="e-1",
        occurred_at="2025-02-20",  # type: ignore[arg-type]
        recorded_at=datetime(2025, 2, 21, tzinfo=UTC),
    )
    assert encode(stance) == (
        b'{"actor_id":"keir-starmer","issue_id":"us-backstop","position":"support","score":0.5,'
        b'"confidence":1.0,"quote":"q","event_id":"e-1","occurred_at":{"at":"2025-02-20T00:00:00Z",'
        b'"precision":"day"},"recorded_at":"2025-02-21T00:00:00Z"}'
    )


@pytest.mark.parametrize(
    ("value", "at", "precision"),
    [
        ({"at": "2025-02-12", "precision": "day"}, datetime(2025, 2, 12, tzinfo=UTC), "day"),
        ({"at": "2025-02-12"}, datetime(2025, 2, 12, tzinfo=UTC), "day"),
        ({"at": "2025-02", "precision": "month"}, datetime(2025, 2, 1, tzinfo=UTC), "month"),
        ({"at": "2025-02-12T10:00:00", "precision": "day"}, datetime(2025, 2, 12, 10, tzinfo=UTC), "day"),
        ({"at": "2025-02-12T10:00:00Z", "precision": "day"}, datetime(2025, 2, 12, 10, tzinfo=UTC), "day"),
    ],
)
def test_object_times_need_a_zone_only_for_an_instant(value: Any, at: datetime, precision: str) -> None:
    event = parse_event(joint_statement(occurred_at=value))
    assert event.occurred_at.at == at and event.occurred_at.precision == precision


DATED = """
actors:
  - id: annalena-baerbock
    name: Annalena Baerbock
    kind: person
    country: DEU
    aliases: [{name: the German Foreign Minister, valid_to: 2025-05-05}]
  - id: johann-wadephul
    name: Johann Wadephul
    kind: person
    country: DEU
    aliases: [{name: the German Foreign Minister, valid_from: 2025-05-06}]
  - {id: kaja-kallas, name: Kaja Kallas, kind: person}
  - {id: e3, name: E3, kind: bloc, members: [gbr, fra, deu]}
"""


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    path = tmp_path_factory.mktemp("registry") / "dated.yaml"
    path.write_text(DATED)
    return load_registry([path])


def test_a_dated_alias_is_resolved_by_the_events_date(dated: Registry) -> None:
    minister = "the German Foreign Minister"
    assert dated.resolve_actor(minister, day=date(2025, 2, 12)) == "annalena-baerbock"
    assert dated.resolve_actor(minister, day=date(2025, 8, 12)) == "johann-wadephul"
    with pytest.raises(UnknownReferenceError, match="ambiguous"):
        dated.resolve_actor(minister)  # no date: both
    for day, expected in (("2025-02-12", "annalena-baerbock"), ("2025-08-12", "johann-wadephul")):
        event = parse_event(
            joint_statement(occurred_at=day, actors=[{"actor_id": minister, "role": "signatory"}], stances=[])
        )
        assert dated.canonicalize(event).actors[0].actor_id == expected


def test_organisations_and_blocs_need_no_country_and_may_list_members(dated: Registry) -> None:
    assert dated.actors["kaja-kallas"].country is None
    assert dated.actors["e3"].members == ("gbr", "fra", "deu")  # deu need not be registered
    assert len(dated.actors["eu"].members) == 27
    with pytest.raises(ValueError, match="only an organisation or a bloc has members"):
        Actor.model_validate({"id": "x", "name": "X", "kind": "person", "members": ["gbr"]})


def test_a_blocs_claim_is_its_own_and_does_not_fan_out(dated: Registry) -> None:
    event = dated.canonicalize(
        parse_event(
            joint_statement(
                recorded_at=RECORDED.isoformat(),
                actors=[{"actor_id": "e3", "role": "signatory"}],
                stances=[
                    {
                        "actor_id": "e3",
                        "issue_id": "kyiv-in-negotiations",
                        "position": "support",
                        "score": 0.7,
                    }
                ],
            )
        )
    )
    book = StanceBook({}, {}, 0.2)
    changes = [book.add(claim, RECORDED) for claim in claims_of(event)]
    assert [change.actor_id for change in changes if change is not None] == ["e3"]
    assert {key.split(b"|")[0] for key in book.current} == {b"e3"}

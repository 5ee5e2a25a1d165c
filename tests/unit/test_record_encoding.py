"""`encode` writes exactly the bytes the records were first written with.

Changelogs, the claims topic and the state hash hold these bytes, so a record
written by an earlier version must compare and hash the same when it is
written again (docs/semantics.md, "Replay is exact"). `encode` lets pydantic
write the JSON itself; the bytes it replaced were
`orjson.dumps(model.model_dump(mode="json"))`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import BaseModel

from bench.generate import events, write_registry
from schemas.events import parse_event
from schemas.stances import Stance, StanceChange
from streams.core.fold import claims_of, stance_documents
from streams.core.records import (
    ClaimOp,
    RetractRequest,
    StoredStance,
    encode,
    encode_claim_op,
    encode_stored,
    parse_stored,
)
from streams.core.stance_book import StanceBook
from streams.registry_files import load_registry


def orjson_bytes(model: BaseModel) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))


def test_encode_gives_the_orjson_bytes_for_every_record_the_fold_makes(tmp_path: Path) -> None:
    registry = load_registry([write_registry(tmp_path / "registry.yaml")])
    book = StanceBook({}, {}, 0.2)
    ops: list[ClaimOp] = []
    changes: list[StanceChange] = []
    now = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for value in events(600, seed=4):
        event = registry.canonicalize(parse_event(value))
        assert event.event_id is not None
        for claim in claims_of(event):
            ops.append(ClaimOp.for_claim("add", claim, event.event_id, event.occurred_at))
            if (change := book.add(claim, now)) is not None:
                changes.append(change)
    # Withdraw some claims, current ones included, for withdrawal changes and remove ops.
    for op in ops[::7]:
        remove = ClaimOp(
            op="remove",
            actor_id=op.actor_id,
            issue_id=op.issue_id,
            event_id=op.event_id,
            cause_event_id="retraction-1",
            cause_occurred_at=op.cause_occurred_at,
        )
        ops.append(remove)
        change = book.remove(op.actor_id, op.issue_id, op.event_id, "retraction-1", op.cause_occurred_at, now)
        if change is not None:
            changes.append(change)
    assert len(changes) > 100 and any(change.current is None for change in changes)

    models: list[BaseModel] = [*ops, *changes]
    models += [parse_stored(raw) for raw in [*book.current.values(), *book.history.values()]]
    models.append(RetractRequest(target="a", retraction_id="b", occurred_at=ops[0].cause_occurred_at))
    for model in models:
        assert encode(model) == orjson_bytes(model), type(model).__name__
    for raw in [*book.current.values(), *book.history.values()]:
        assert encode(parse_stored(raw)) == raw


def test_encode_matches_orjson_on_awkward_text_and_numbers() -> None:
    base = parse_event(
        b'{"type":"statement","event_id":"e-1","occurred_at":"2025-02-27T14:05:09.5+01:00",'
        b'"recorded_at":"2025-02-27T13:05:10Z","summary":"s"}'
    )
    assert base.event_id is not None and base.recorded_at is not None
    for score in (0.1, 1 / 3, 1e-7, -0.0, 0.30000000000000004, 1.0, -1.0, 5e-324):
        for quote in ("plain", "\u2028 \x1f \x7f", 'quote " backslash \\ slash /', "é 中文 \U0001f600", None):
            stance = Stance(
                actor_id="keir-starmer",
                issue_id="ukraine-security-guarantees",
                position="support",
                score=score,
                confidence=0.75,
                quote=quote,
                event_id=base.event_id,
                occurred_at=base.occurred_at,
                recorded_at=base.recorded_at,
            )
            stored = StoredStance(**dict(stance), made_current=True, replaced="e-0")
            assert encode(stored) == orjson_bytes(stored)
            for made_current, replaced in ((False, None), (True, None), (True, 'e-"\u00e9\\2')):
                expected = StoredStance(**dict(stance), made_current=made_current, replaced=replaced)
                assert encode_stored(stance, made_current, replaced) == orjson_bytes(expected)
                assert parse_stored(encode_stored(stance, made_current, replaced)) == expected


def test_encode_stored_takes_only_a_plain_stance() -> None:
    """A stored stance already has the two fields: appending them again would write them twice."""
    stance = parse_stored(
        b'{"actor_id":"a","issue_id":"i","position":"support","score":0.5,"confidence":1.0,'
        b'"quote":null,"event_id":"e","occurred_at":{"at":"2025-01-01T00:00:00Z","precision":"day"},'
        b'"recorded_at":"2025-01-02T00:00:00Z","made_current":true,"replaced":null}'
    )
    with pytest.raises(TypeError, match="takes a Stance"):
        encode_stored(stance)


def test_encoded_bytes_are_their_own_size() -> None:
    """Stored values stay at their size (see `to_size`): pydantic's output is not over-allocated."""
    request = RetractRequest(
        target="x" * 100,
        retraction_id="y",
        occurred_at=parse_event(b'{"type":"statement","occurred_at":"2025","summary":"s"}').occurred_at,
    )
    encoded = encode(request)
    assert sys.getsizeof(encoded) == sys.getsizeof(bytes(len(encoded)))


def test_claim_ops_from_the_document_are_the_model_built_ones(tmp_path: Path, repo: Path) -> None:
    """The event step writes its claim ops from the event's JSON; the bytes are those of the models."""
    synthetic = load_registry([write_registry(tmp_path / "registry.yaml")])
    seed = [line for line in (repo / "seed" / "events.jsonl").read_bytes().splitlines() if line]
    cases = [(synthetic, value) for value in events(300, seed=6)] + [(load_registry(), line) for line in seed]
    quoted = 0
    for registry, value in cases:
        event = registry.canonicalize(parse_event(value))
        if event.recorded_at is None:
            event = event.model_copy(update={"recorded_at": datetime(2026, 1, 2, tzinfo=UTC)})
        assert event.event_id is not None
        claims = claims_of(event)
        documents = stance_documents(event.model_dump(mode="json"))
        assert documents == [claim.model_dump(mode="json") for claim in claims]
        quoted += sum(claim.quote is not None for claim in claims)
        retraction_time = parse_event(
            b'{"type":"statement","occurred_at":"2026-03","summary":"s"}'
        ).occurred_at
        for claim, document in zip(claims, documents, strict=True):
            add = ClaimOp.for_claim("add", claim, event.event_id, event.occurred_at)
            assert encode_claim_op("add", document, event.event_id, document["occurred_at"]) == encode(add)
            remove = ClaimOp.for_claim("remove", claim, "retraction-9", retraction_time)
            cause = retraction_time.model_dump(mode="json")
            assert encode_claim_op("remove", document, "retraction-9", cause) == encode(remove)
    assert quoted > 0

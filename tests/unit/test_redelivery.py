"""A record read again after a crash sends its outputs again (at least once), and that changes
nothing downstream: the crash loses nothing and no new change appears (no broker).

docs/semantics.md: "Nothing is lost", "Idempotent".
"""

from __future__ import annotations

import orjson

from schemas import Registry
from schemas.stances import StanceChange
from streams.core.pipeline import Pipeline
from streams.core.records import ClaimOp, RetractRequest
from streams.core.stance_book import StanceBook
from streams.registry_files import load_registry

T0 = 1_740_000_000_000


class Recorder:
    """An emitter that keeps what the pipeline sent, as a topic would until a crash loses it."""

    def __init__(self) -> None:
        self.claims: list[ClaimOp] = []
        self.retractions: list[RetractRequest] = []
        self.changes: list[StanceChange] = []
        self.dead: list[str] = []

    async def dead_letter(self, key: bytes | None, value: bytes | None, reason: str, error: str) -> None:
        self.dead.append(reason)

    async def claim(self, actor_id: str, op: bytes) -> None:
        decoded = ClaimOp.model_validate_json(op)
        assert decoded.actor_id == actor_id
        self.claims.append(decoded)

    async def retract(self, request: RetractRequest) -> None:
        self.retractions.append(request)

    async def change(self, change: StanceChange) -> None:
        self.changes.append(change)


def pipeline(registry: Registry) -> Pipeline:
    return Pipeline({}, StanceBook({}, {}, 0.2), registry)


def event(event_id: str, **extra: object) -> tuple[bytes, bytes]:
    document = {
        "event_id": event_id,
        "type": "statement",
        "occurred_at": "2025-03-01",
        "recorded_at": "2026-01-01T00:00:00Z",
        "summary": event_id,
        "stances": [
            {"actor_id": "keir-starmer", "issue_id": "us-backstop", "position": "support", "score": 0.7}
        ],
        **extra,
    }
    return event_id.encode(), orjson.dumps(document)


async def test_an_event_read_again_sends_its_claims_again_and_the_stance_step_ignores_them() -> None:
    registry = load_registry()
    steps = pipeline(registry)
    lost, again = Recorder(), Recorder()
    key, value = event("ev-1")
    await steps.on_event(key, value, T0, lost)  # stored; say its claim never reached the topic
    await steps.on_event(key, value, T0, again)  # the same record after the restart
    assert again.claims == lost.claims and len(again.claims) == 1
    changes = Recorder()
    for op in again.claims + again.claims:
        await steps.on_claim(op, changes)
    # The change again, with the same change_id (a crash may have lost it); never a new one.
    assert [change.kind.value for change in changes.changes] == ["new", "new"]
    assert len({change.change_id for change in changes.changes}) == 1
    assert again.dead == []


async def test_a_copy_published_later_sends_nothing() -> None:
    steps = pipeline(load_registry())
    key, value = event("ev-1")
    await steps.on_event(key, value, T0, Recorder())
    copy = Recorder()
    later = orjson.dumps(dict(orjson.loads(value), recorded_at="2026-02-01T00:00:00Z"))
    await steps.on_event(key, later, T0, copy)
    assert copy.claims == [] and copy.dead == []


async def test_a_retraction_read_again_withdraws_again_and_a_later_copy_of_the_event_stays_out() -> None:
    registry = load_registry()
    steps = pipeline(registry)
    sink = Recorder()
    key, value = event("ev-1")
    await steps.on_event(key, value, T0, sink)
    await steps.on_claim(sink.claims[0], sink)
    request = RetractRequest.model_validate(
        {"target": "ev-1", "retraction_id": "rt-1", "occurred_at": {"at": "2025-03-02T00:00:00Z"}}
    )
    first, second = Recorder(), Recorder()
    await steps.on_retract(request, first)
    await steps.on_retract(request, second)  # read again after a crash
    assert [op.op for op in second.claims] == ["remove"] == [op.op for op in first.claims]
    for op in first.claims + second.claims:
        await steps.on_claim(op, sink)
    # The withdrawal read again is reported again, with its change_id: consumers keep one.
    assert [change.kind.value for change in sink.changes] == ["new", "withdrawn", "withdrawn"]
    assert sink.changes[1].change_id == sink.changes[2].change_id
    copy = Recorder()
    await steps.on_event(key, value, T0, copy)  # the retracted event published again
    assert copy.claims == []
    assert steps.book.current_stance("keir-starmer", "us-backstop") is None

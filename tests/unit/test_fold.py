"""The fold and change detection, with plain lists and no broker.

docs/semantics.md: event time wins, idempotent, corrections, as of, a change is a change.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.stances import ChangeKind, Position, Stance
from schemas.time import EventTime, Precision
from streams.core.fold import as_of, change_id, change_kind, current_of, order_key
from streams.core.records import StoredStance, is_withdrawn
from streams.core.stance_book import StanceBook
from streams.core.state_hash import canonical

BASE = datetime(2025, 2, 1, tzinfo=UTC)
DETECTED = datetime(2026, 1, 1, tzinfo=UTC)


def stance(
    event: str,
    day: int,
    score: float = 0.5,
    recorded: int = 0,
    issue: str = "us-backstop",
    position: Position | None = None,
) -> Stance:
    if position is None:
        position = Position.SUPPORT if score > 0 else Position.OPPOSE if score < 0 else Position.NEUTRAL
    return Stance(
        actor_id="keir-starmer",
        issue_id=issue,
        position=position,
        score=score,
        confidence=0.9,
        event_id=event,
        occurred_at=EventTime(at=BASE + timedelta(days=day), precision=Precision.DAY),
        recorded_at=BASE + timedelta(days=40, seconds=recorded),
    )


def book(threshold: float = 0.2) -> StanceBook:
    return StanceBook({}, {}, threshold)


def test_event_time_wins_over_arrival_order() -> None:
    pages = book()
    pages.add(stance("later", day=10, score=0.9), DETECTED)
    late = pages.add(stance("earlier", day=2, score=-0.9), DETECTED)
    assert late is None
    current = pages.current_stance("keir-starmer", "us-backstop")
    assert current is not None and current.event_id == "later"
    assert len(pages.history) == 2  # the late claim enters the history


def test_ties_go_to_recorded_at_then_event_id() -> None:
    first = stance("b", day=3, recorded=1)
    second = stance("a", day=3, recorded=2)
    assert current_of([first, second]) == second
    same_time = [stance("a", day=3), stance("b", day=3)]
    current = current_of(same_time)
    assert current is not None and current.event_id == "b"


def canonical_stores(pages: StanceBook) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    """The stores without the arrival bookkeeping and the tombstones (what the state hash covers)."""
    return (
        {key: canonical("stance-current", value) for key, value in pages.current.items()},
        {
            key: canonical("stance-history", value)
            for key, value in pages.history.items()
            if not is_withdrawn(value)
        },
    )


def public(stored: StoredStance | None) -> Stance | None:
    return None if stored is None else stored.as_stance()


def test_duplicate_delivery_changes_nothing_and_reports_the_same_change_again() -> None:
    """A claim read again after a crash: the same bytes written again (a crash may have kept
    them on disk and lost their changelog records), and the change it made once more, with
    its change_id, in case the crash lost it (consumers keep one per change_id)."""
    pages = book()
    first = pages.add(stance("e1", day=1), DETECTED)
    assert first is not None
    before = (dict(pages.current), dict(pages.history))
    writes = pages.writes
    again = pages.add(stance("e1", day=1), DETECTED)
    assert again is not None and again.change_id == first.change_id
    assert (dict(pages.current), dict(pages.history)) == before
    assert pages.writes == writes + 2  # its history record and the current record it made


def test_a_crash_that_lost_the_current_record_is_repaired_when_the_claim_comes_again() -> None:
    pages = book()
    pages.add(stance("e1", day=1, score=0.5), DETECTED)
    shifted = pages.add(stance("e2", day=2, score=-0.5), DETECTED)
    assert shifted is not None
    pages.current[b"keir-starmer|us-backstop"] = pages.history[b"keir-starmer|us-backstop|e1"]  # e2's lost
    again = pages.add(stance("e2", day=2, score=-0.5), DETECTED)
    assert again is not None and again.change_id == shifted.change_id
    current = pages.current_stance("keir-starmer", "us-backstop")
    assert current is not None and current.event_id == "e2"


def test_a_crash_that_lost_the_history_record_is_repaired_when_the_claim_comes_again() -> None:
    pages = book()
    pages.add(stance("e1", day=1, score=0.5), DETECTED)
    shifted = pages.add(stance("e2", day=2, score=-0.5), DETECTED)
    assert shifted is not None
    del pages.history[b"keir-starmer|us-backstop|e2"]  # e2's history record lost, current kept
    again = pages.add(stance("e2", day=2, score=-0.5), DETECTED)
    assert again is not None and again.change_id == shifted.change_id
    assert b"keir-starmer|us-backstop|e2" in pages.history


def test_change_kinds_and_threshold() -> None:
    assert change_kind(None, stance("a", 1), 0.2) is ChangeKind.NEW
    assert change_kind(stance("a", 1, 0.5), stance("b", 2, -0.5), 0.2) is ChangeKind.REVERSED
    assert change_kind(stance("a", 1, 0.5), stance("b", 2, 0.8), 0.2) is ChangeKind.SHIFTED
    assert change_kind(stance("a", 1, 0.5), stance("b", 2, 0.6), 0.2) is None
    assert change_kind(stance("a", 1, 0.5), stance("b", 2, 0.7), 0.2) is ChangeKind.SHIFTED
    conditional = stance("b", 2, 0.55, position=Position.CONDITIONAL)
    assert change_kind(stance("a", 1, 0.5), conditional, 0.2) is ChangeKind.SHIFTED
    assert change_kind(stance("a", 1), None, 0.2) is ChangeKind.WITHDRAWN


def test_small_moves_update_the_view_without_a_change() -> None:
    pages = book(threshold=0.2)
    assert pages.add(stance("a", 1, 0.5), DETECTED) is not None
    assert pages.add(stance("b", 2, 0.55), DETECTED) is None
    current = pages.current_stance("keir-starmer", "us-backstop")
    assert current is not None and current.event_id == "b"


def test_retracting_the_current_claim_falls_back_and_reports_a_withdrawal() -> None:
    pages = book()
    pages.add(stance("old", 1, 0.4), DETECTED)
    pages.add(stance("new", 5, -0.6), DETECTED)
    cause = EventTime(at=BASE, precision=Precision.DAY)
    change = pages.remove("keir-starmer", "us-backstop", "new", "retraction-1", cause, DETECTED)
    assert change is not None and change.kind is ChangeKind.WITHDRAWN
    assert change.previous is not None and change.previous.event_id == "new"
    assert change.current is not None and change.current.event_id == "old"
    last = pages.remove("keir-starmer", "us-backstop", "old", "retraction-2", cause, DETECTED)
    assert last is not None and last.current is None
    assert pages.current_stance("keir-starmer", "us-backstop") is None
    # Read again after a crash: the same withdrawal again (same change_id), nothing else moves.
    again = pages.remove("keir-starmer", "us-backstop", "old", "retraction-2", cause, DETECTED)
    assert again is not None and again.change_id == last.change_id
    assert pages.current_stance("keir-starmer", "us-backstop") is None


def test_retracting_an_older_claim_changes_no_view() -> None:
    pages = book()
    pages.add(stance("old", 1, 0.4), DETECTED)
    pages.add(stance("new", 5, 0.9), DETECTED)
    cause = EventTime(at=BASE, precision=Precision.DAY)
    assert pages.remove("keir-starmer", "us-backstop", "old", "r", cause, DETECTED) is None


def test_change_ids_are_deterministic() -> None:
    a, b = stance("a", 1), stance("b", 2)
    assert change_id("x", "y", a, b) == change_id("x", "y", a, b)
    assert change_id("x", "y", a, b) != change_id("x", "y", b, a)


def test_cost_of_a_claim_does_not_grow_with_history() -> None:
    """Counts store writes and bytes written per claim for a short and a long history."""

    class CountingStore(dict[bytes, bytes]):
        written = 0

        def __setitem__(self, key: bytes, value: bytes) -> None:
            CountingStore.written += len(value)
            super().__setitem__(key, value)

    def cost_of_last_claim(history_length: int) -> tuple[int, int]:
        pages = StanceBook(CountingStore(), CountingStore(), 0.2)
        for index in range(history_length):
            pages.add(stance(f"e{index:06d}", day=index % 300, score=0.5), DETECTED)
        writes, written = pages.writes, CountingStore.written
        pages.add(stance("z-last", day=400, score=0.5), DETECTED)
        return pages.writes - writes, CountingStore.written - written

    assert cost_of_last_claim(10) == cost_of_last_claim(5000)


claims_strategy = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 5), st.floats(-1, 1).filter(lambda s: abs(s) > 0.01)),
    min_size=1,
    max_size=25,
    unique_by=lambda claim: (claim[0], claim[1]),
).map(lambda rows: [stance(f"e{day:02d}-{rec}", day, round(score, 3), rec) for day, rec, score in rows])


@settings(max_examples=150, deadline=None)
@given(claims_strategy, st.randoms(use_true_random=False))
def test_any_order_gives_the_same_view(claims: list[Stance], shuffler: random.Random) -> None:
    def fold(order: list[Stance]) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        pages = book()
        for claim in order:
            pages.add(claim, DETECTED)
        return canonical_stores(pages)

    shuffled = list(claims)
    shuffler.shuffle(shuffled)
    assert fold(claims) == fold(shuffled)
    current = book()
    for claim in shuffled:
        current.add(claim, DETECTED)
    assert public(current.current_stance("keir-starmer", "us-backstop")) == current_of(claims)


@settings(max_examples=100, deadline=None)
@given(claims_strategy, st.data())
def test_publishing_twice_equals_once_and_retracting_equals_never(
    claims: list[Stance], data: st.DataObject
) -> None:
    once, twice = book(), book()
    for claim in claims:
        once.add(claim, DETECTED)
        twice.add(claim, DETECTED)
        twice.add(claim, DETECTED)
    assert canonical_stores(once) == canonical_stores(twice)

    retracted = data.draw(st.sampled_from(claims))
    never = book()
    for claim in claims:
        if claim != retracted:
            never.add(claim, DETECTED)
    cause = EventTime(at=BASE, precision=Precision.DAY)
    once.remove(retracted.actor_id, retracted.issue_id, retracted.event_id, "r", cause, DETECTED)
    assert canonical_stores(once) == canonical_stores(never)


@settings(max_examples=100, deadline=None)
@given(claims_strategy, st.integers(0, 31))
def test_as_of_equals_the_fold_of_claims_up_to_then(claims: list[Stance], day: int) -> None:
    moment = BASE + timedelta(days=day)
    upto = book()
    for claim in claims:
        if claim.occurred_at.at <= moment:
            upto.add(claim, DETECTED)
    assert as_of(claims, moment) == public(upto.current_stance("keir-starmer", "us-backstop"))
    expected = max((c for c in claims if c.occurred_at.at <= moment), key=order_key, default=None)
    assert as_of(claims, moment) == expected


def test_a_claim_read_again_after_its_withdrawal_does_not_come_back() -> None:
    """A replayed stretch of the claims topic, a claim then its withdrawal: the tombstone keeps
    the claim out (no extra change) and the withdrawal is reported once more, same change_id."""
    pages = book()
    cause = EventTime(at=BASE, precision=Precision.DAY)
    pages.add(stance("old", 1, 0.4), DETECTED)
    pages.add(stance("new", 5, -0.6), DETECTED)
    first = pages.remove("keir-starmer", "us-backstop", "new", "retraction-1", cause, DETECTED)
    assert first is not None and first.kind is ChangeKind.WITHDRAWN
    before = canonical_stores(pages)
    assert pages.add(stance("new", 5, -0.6), DETECTED) is None  # read again: stays withdrawn
    current = pages.current_stance("keir-starmer", "us-backstop")
    assert current is not None and current.event_id == "old"
    again = pages.remove("keir-starmer", "us-backstop", "new", "retraction-1", cause, DETECTED)
    assert again is not None and again.change_id == first.change_id
    assert canonical_stores(pages) == before


def test_a_withdrawal_whose_writes_survived_a_crash_that_lost_its_change_reports_it_again() -> None:
    pages = book()
    cause = EventTime(at=BASE, precision=Precision.DAY)
    pages.add(stance("only", 3, 0.5), DETECTED)
    lost = pages.remove("keir-starmer", "us-backstop", "only", "r", cause, DETECTED)  # never sent
    assert lost is not None and lost.current is None
    again = pages.remove("keir-starmer", "us-backstop", "only", "r", cause, DETECTED)
    assert again == lost


def test_a_withdrawal_read_again_after_later_claims_reports_the_same_change() -> None:
    """After a crash the stores hold what came after the withdrawal too; read again, the
    withdrawal reports the fall-back it made then (same change_id) and leaves the newer current."""
    pages = book()
    cause = EventTime(at=BASE, precision=Precision.DAY)
    pages.add(stance("old", 1, 0.4), DETECTED)
    pages.add(stance("new", 5, -0.6), DETECTED)
    first = pages.remove("keir-starmer", "us-backstop", "new", "r", cause, DETECTED)
    assert first is not None and first.current is not None and first.current.event_id == "old"
    pages.add(stance("newest", 9, 0.9), DETECTED)
    again = pages.remove("keir-starmer", "us-backstop", "new", "r", cause, DETECTED)
    assert again is not None and again.change_id == first.change_id
    current = pages.current_stance("keir-starmer", "us-backstop")
    assert current is not None and current.event_id == "newest"


def test_a_second_retraction_of_the_event_reports_the_first_withdrawal_unchanged() -> None:
    """Withdrawn again by another retraction (the event retracted twice): the same change, same
    content, so consumers that keep one per change_id see nothing new."""
    pages = book()
    pages.add(stance("old", 1, 0.4), DETECTED)
    pages.add(stance("new", 5, -0.6), DETECTED)
    first_cause = EventTime(at=BASE + timedelta(days=10), precision=Precision.DAY)
    first = pages.remove("keir-starmer", "us-backstop", "new", "retraction-b", first_cause, DETECTED)
    later_cause = EventTime(at=BASE + timedelta(days=20), precision=Precision.DAY)
    again = pages.remove("keir-starmer", "us-backstop", "new", "retraction-a", later_cause, DETECTED)
    assert first is not None and again == first

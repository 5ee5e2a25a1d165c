"""The offset a worker may commit: never past a record no agent has finished (no broker)."""

from __future__ import annotations

from streams.worker.offsets import HoleWatch, next_commit


def test_a_run_starting_at_the_committed_offset_is_committed_and_removed() -> None:
    acked = [10, 11, 12, 14]
    assert next_commit(acked, 10) == 13
    assert acked == [14]


def test_a_hole_at_the_committed_offset_commits_nothing() -> None:
    """faust 0.15 committed 13 here, past offset 10 that no agent had processed."""
    acked = [11, 12]
    assert next_commit(acked, 10) is None
    assert acked == [11, 12]
    acked.insert(0, 10)
    assert next_commit(acked, 10) == 13


def test_before_the_first_commit_the_first_run_counts() -> None:
    acked = [0, 1, 2]
    assert next_commit(acked, None) == 3
    assert next_commit([], 5) is None


def test_a_hole_that_stands_is_reported_once_after_the_timeout() -> None:
    watch = HoleWatch(timeout=20)
    assert not watch.stuck("p1", 63, [64, 65], now=100.0)  # first seen
    assert not watch.stuck("p1", 63, [64, 65, 66], now=110.0)
    assert watch.stuck("p1", 63, [64, 65, 66], now=121.0)  # 21 s: read it again
    assert not watch.stuck("p1", 63, [64, 65, 66], now=122.0)  # the clock starts again


def test_no_hole_or_a_moving_commit_is_never_stuck() -> None:
    watch = HoleWatch(timeout=20)
    assert not watch.stuck("p1", 63, [63, 64], now=0.0)  # the head is acked: it commits
    assert not watch.stuck("p1", 63, [], now=0.0)
    assert not watch.stuck("p1", None, [5], now=0.0)  # before the first commit
    assert not watch.stuck("p1", 63, [65], now=0.0)
    assert not watch.stuck("p1", 64, [66], now=30.0)  # the commit moved: a new hole, new clock
    assert not watch.stuck("p2", 10, [12], now=30.0)  # partitions are watched apart


def test_before_the_first_commit_nothing_is_committed_past_the_first_record_delivered() -> None:
    """Events are acked as their sends complete, in any order: with no committed offset yet, the
    commit waits for the first record the partition delivered (faust would take any leading run)."""
    from faust.types import TP

    from streams.worker.offsets import GaplessCommitConsumer

    consumer = GaplessCommitConsumer.__new__(GaplessCommitConsumer)
    tp = TP("events", 0)
    consumer._first_seen = {tp: 0}
    consumer._committed_offset = {tp: None}  # type: ignore[assignment]
    assert consumer._committed_or_first(tp) == 0
    assert next_commit([1, 2], consumer._committed_or_first(tp)) is None
    assert next_commit([0, 1, 2], consumer._committed_or_first(tp)) == 3

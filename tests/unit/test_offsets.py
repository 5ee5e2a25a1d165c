"""The offset a worker may commit: never past a record no agent has finished (no broker)."""

from __future__ import annotations

from streams.offsets import next_commit


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

"""The ledger forgets old digests every sink has, and each run reads only what is pending (real SQLite)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.digest import build_digest
from scheduler.ledger import Ledger
from scheduler.runner import run_subscription
from schemas.digests import Digest
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription
from streams.settings import Settings
from tests.factories import new_stance_change

DAILY = DigestSubscription.model_validate(
    {"id": "daily", "schedule": {"kind": "cron", "cron": "0 0 * * *"}, "start": "2025-01-01T00:00:00Z"}
)
DAY0 = datetime(2025, 1, 1, tzinfo=UTC)
SINKS = ["file:a", "webhook:b"]


def a_change(detected: datetime) -> StanceChange:
    return new_stance_change(f"chg-{detected:%j}", f"ev-{detected:%j}", detected)


def day(ledger: Ledger, number: int) -> Digest:
    """Store the digest of day `number` (from DAY0), holding one change."""
    start = DAY0 + timedelta(days=number)
    end = start + timedelta(days=1)
    return ledger.store(build_digest(DAILY, start, end, [a_change(start + timedelta(hours=1))], end))


def rows(path: Path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def test_old_digests_every_sink_has_go_with_their_rows_and_pending_ones_stay(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    digests = [day(ledger, number) for number in range(40)]
    for digest in digests:
        ledger.delivered(digest.digest_id, "file:a")
        if digest is not digests[3]:
            assert ledger.failed(digest.digest_id, "webhook:b", "down") == 1
            ledger.delivered(digest.digest_id, "webhook:b")
    ledger.failed(digests[3].digest_id, "webhook:b", "still down")
    assert rows(path, "digests") == 40 and rows(path, "deliveries") == 79

    pending = ledger.undelivered("daily", SINKS)
    ledger.close()

    assert [(d.digest_id, missing) for d, missing in pending] == [(digests[3].digest_id, ["webhook:b"])]
    # The newest window ends on day 40: windows that ended before day 10 are older than 30 days.
    kept = {digest.digest_id for digest in digests[9:]} | {digests[3].digest_id}
    connection = sqlite3.connect(path)
    try:
        assert {d for (d,) in connection.execute("SELECT digest_id FROM digests")} == kept
        assert {d for (d,) in connection.execute("SELECT DISTINCT digest_id FROM deliveries")} == kept
        assert connection.execute("SELECT digest_id FROM failures").fetchall() == [(digests[3].digest_id,)]
        oldest_change_ms = connection.execute("SELECT min(detected_ms) FROM digest_changes").fetchone()[0]
    finally:
        connection.close()
    assert oldest_change_ms == int((DAY0 + timedelta(days=10, hours=1)).timestamp() * 1000)

    reopened = Ledger(path)  # what survives a restart
    try:
        assert reopened.next_window_start("daily") == DAY0 + timedelta(days=40)
        assert [d.digest_id for d, _ in reopened.undelivered("daily", SINKS)] == [digests[3].digest_id]
        assert len(reopened.deliveries("daily")) == 2 * 31 + 1
    finally:
        reopened.close()


def test_a_sink_added_later_keeps_old_digests_pending_and_the_newest_always_stays(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    try:
        old, newest = day(ledger, 0), day(ledger, 100)
        for digest in (old, newest):
            ledger.delivered(digest.digest_id, "file:a")
        assert [d.digest_id for d, _ in ledger.undelivered("daily", SINKS)] == [
            old.digest_id,
            newest.digest_id,
        ]
        assert ledger.prune("daily", ["file:a"]) == 1
        assert ledger.prune("daily", ["file:a"]) == 0
        assert rows(path, "digests") == 1 and ledger.next_window_start("daily") == newest.window_end
    finally:
        ledger.close()


def test_the_retention_is_a_parameter_and_cannot_be_shorter_than_late_changes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path, retention=timedelta(days=90))
    try:
        digests = [day(ledger, number) for number in (0, 50, 100)]
        for digest in digests:
            ledger.delivered(digest.digest_id, "file:a")
        assert ledger.prune("daily", ["file:a"]) == 1  # day 0 ended 100 days before the newest, day 50 not
        assert rows(path, "digests") == 2
    finally:
        ledger.close()
    with pytest.raises(ValueError, match="retention"):
        Ledger(path, retention=timedelta(minutes=5))


def test_a_run_reads_the_pending_digests_only(tmp_path: Path) -> None:
    """The statements a run issues do not grow with the delivered digests kept for the retention."""

    def statements_of_a_run(delivered: int) -> list[str]:
        ledger = Ledger(tmp_path / f"ledger-{delivered}.sqlite")
        try:
            for number in range(delivered):
                digest = day(ledger, number)
                for sink_id in SINKS:
                    ledger.delivered(digest.digest_id, sink_id)
            pending = day(ledger, delivered)
            seen: list[str] = []
            ledger.connection.set_trace_callback(seen.append)
            assert [d.digest_id for d, _ in ledger.undelivered("daily", SINKS)] == [pending.digest_id]
            return seen
        finally:
            ledger.close()

    few, many = statements_of_a_run(2), statements_of_a_run(25)
    assert len(few) == len(many)
    assert sum("SELECT d.digest_id, d.body" in statement for statement in many) == 1


async def test_runs_after_pruning_neither_rebuild_nor_resend_a_window(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, digest_grace_seconds=0, sink_attempts=1)
    subscription = DigestSubscription.model_validate(
        {**DAILY.model_dump(mode="json"), "sinks": [{"kind": "file", "target": str(tmp_path / "out")}]}
    )

    async def no_changes(_settings: Settings, _start: datetime, _end: datetime) -> list[StanceChange]:
        return []

    built: list[str] = []
    for days in (20, 45, 80):
        ledger = Ledger(tmp_path / "ledger.sqlite")  # each run as the service opens it
        try:
            report = await run_subscription(
                settings, subscription, ledger, no_changes, now=DAY0 + timedelta(days=days, minutes=1)
            )
        finally:
            ledger.close()
        built += [digest.digest_id for digest in report.built]
        assert sorted(d for d, _ in report.delivered) == sorted(d.digest_id for d in report.built)
    assert len(built) == len(set(built)) == 80
    assert len(list((tmp_path / "out").iterdir())) == 80
    # Left: days 49 to 79 (within 30 days of the newest end, day 80) and days 45 to 48, which the
    # last run delivered after it pruned: they go at the next run.
    assert rows(tmp_path / "ledger.sqlite", "digests") == 35

"""The delivery ledger (SQLite): which digests were built and which sinks have them.

A digest is stored once per (subscription, window) with its rendered body,
so a retry sends the same bytes; a delivery is recorded per (digest, sink)
only after the sink succeeded. A restart reads this and never sends a window
again to a sink the ledger says has it; a crash between a send and its record
is what the sinks' own checks (file name, topic send marks) or the receivers
(by digest id) absorb. The changes each digest holds are kept for a
while too, so a change that reached the topic after its window was built
goes into the next digest, once. A digest every sink has is forgotten once
its window ended a retention before the subscription's newest one.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.digests import Digest

SCHEMA = """
CREATE TABLE IF NOT EXISTS anchors (
    subscription_id TEXT PRIMARY KEY,
    first_window_start TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS digests (
    digest_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS digests_by_window ON digests (subscription_id, window_end);
CREATE TABLE IF NOT EXISTS digest_changes (
    subscription_id TEXT NOT NULL,
    change_id TEXT NOT NULL,
    detected_ms INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, change_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    digest_id TEXT NOT NULL,
    sink_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (digest_id, sink_id)
);
CREATE TABLE IF NOT EXISTS send_marks (
    digest_id TEXT NOT NULL,
    sink_id TEXT NOT NULL,
    partition INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    PRIMARY KEY (digest_id, sink_id, partition)
);
CREATE TABLE IF NOT EXISTS failures (
    digest_id TEXT NOT NULL,
    sink_id TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (digest_id, sink_id)
);
"""

DEFAULT_RETENTION = timedelta(days=30)
# Change ids must outlive the runner's LATE_CHANGES (minutes), or a late change would be sent twice.
MIN_RETENTION = timedelta(hours=1)

# The sinks (a JSON list, through json_each) that have no delivery of digest `d`.
_MISSING_SINKS = """SELECT 1 FROM json_each(?) AS wanted WHERE NOT EXISTS (
    SELECT 1 FROM deliveries v WHERE v.digest_id = d.digest_id AND v.sink_id = wanted.value)"""


class Ledger:
    def __init__(self, path: Path, retention: timedelta = DEFAULT_RETENTION) -> None:
        if retention < MIN_RETENTION:
            raise ValueError(f"a ledger retention under {MIN_RETENTION} would forget changes still late")
        self.retention = retention
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def anchor(self, subscription_id: str, first_window_start: datetime) -> datetime:
        """The start of the subscription's first window (set once, on first sight)."""
        self.connection.execute(
            "INSERT OR IGNORE INTO anchors VALUES (?, ?)", (subscription_id, first_window_start.isoformat())
        )
        row = self.connection.execute(
            "SELECT first_window_start FROM anchors WHERE subscription_id = ?", (subscription_id,)
        ).fetchone()
        return datetime.fromisoformat(row[0])

    def next_window_start(self, subscription_id: str) -> datetime | None:
        """Where the next window starts: the end of the last one built, if any."""
        row = self.connection.execute(
            "SELECT max(window_end) FROM digests WHERE subscription_id = ?", (subscription_id,)
        ).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def store(self, digest: Digest) -> Digest:
        """Keep a built digest and its change ids; if this window was built before, return that one."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            inserted = self.connection.execute(
                "INSERT OR IGNORE INTO digests VALUES (?, ?, ?, ?, ?)",
                (
                    digest.digest_id,
                    digest.subscription_id,
                    digest.window_start.isoformat(),
                    digest.window_end.isoformat(),
                    digest.model_dump_json(),
                ),
            ).rowcount
            if inserted:
                self.connection.executemany(
                    "INSERT OR IGNORE INTO digest_changes VALUES (?, ?, ?)",
                    [
                        (digest.subscription_id, change.change_id, epoch_ms(change.detected_at))
                        for group in digest.groups
                        for change in group.changes
                    ],
                )
            row = self.connection.execute(
                "SELECT body FROM digests WHERE digest_id = ?", (digest.digest_id,)
            ).fetchone()
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return Digest.model_validate_json(row[0])

    def sent_changes(self, subscription_id: str, since: datetime) -> frozenset[str]:
        """The ids of changes detected at or after `since` that a digest of the subscription already holds."""
        return frozenset(
            change_id
            for (change_id,) in self.connection.execute(
                "SELECT change_id FROM digest_changes WHERE subscription_id = ? AND detected_ms >= ?",
                (subscription_id, epoch_ms(since)),
            )
        )

    def forget_changes_before(self, subscription_id: str, before: datetime) -> None:
        """Drop change ids too old to arrive late any more."""
        self.connection.execute(
            "DELETE FROM digest_changes WHERE subscription_id = ? AND detected_ms < ?",
            (subscription_id, epoch_ms(before)),
        )

    def undelivered(self, subscription_id: str, sink_ids: list[str]) -> list[tuple[Digest, list[str]]]:
        """Each digest of the subscription that some sink lacks, with those sinks, oldest first.

        Every run asks this, so it is also where old digests every sink has are pruned.
        """
        self.prune(subscription_id, sink_ids)
        rows = self.connection.execute(
            f"""SELECT d.digest_id, d.body FROM digests d
                WHERE d.subscription_id = ? AND EXISTS ({_MISSING_SINKS}) ORDER BY d.window_start""",
            (subscription_id, json.dumps(sink_ids)),
        ).fetchall()
        pending = []
        for digest_id, body in rows:
            done = {
                sink_id
                for (sink_id,) in self.connection.execute(
                    "SELECT sink_id FROM deliveries WHERE digest_id = ?", (digest_id,)
                )
            }
            pending.append((Digest.model_validate_json(body), [s for s in sink_ids if s not in done]))
        return pending

    def prune(self, subscription_id: str, sink_ids: list[str]) -> int:
        """Forget the digests all these sinks have whose window ended a retention before the newest's end.

        Measured from the newest window, not the clock: the newest digest always stays (the next
        window starts where it ends), and a scheduler back from downtime first catches up.
        Returns how many digests went.
        """
        newest = self.next_window_start(subscription_id)
        if newest is None:
            return 0
        cutoff = newest - self.retention
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            gone = [
                (digest_id,)
                for (digest_id,) in self.connection.execute(
                    f"""SELECT d.digest_id FROM digests d
                        WHERE d.subscription_id = ? AND d.window_end < ? AND NOT EXISTS ({_MISSING_SINKS})""",
                    (subscription_id, cutoff.isoformat(), json.dumps(sink_ids)),
                )
            ]
            for table in ("deliveries", "failures", "send_marks", "digests"):
                self.connection.executemany(f"DELETE FROM {table} WHERE digest_id = ?", gone)
            if gone:
                self.forget_changes_before(subscription_id, cutoff)
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return len(gone)

    def delivered(self, digest_id: str, sink_id: str) -> None:
        self.connection.execute(
            "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?)",
            (digest_id, sink_id, datetime.now(UTC).isoformat()),
        )
        self.connection.execute(
            "DELETE FROM failures WHERE digest_id = ? AND sink_id = ?", (digest_id, sink_id)
        )

    def send_mark(self, digest_id: str, sink_id: str, partition: int, offset: int) -> int:
        """The offset a topic sink first saw as the end before sending this digest (kept once):
        a send that landed before a crash is at or after it (scheduler/sinks.py, TopicSink)."""
        self.connection.execute(
            "INSERT OR IGNORE INTO send_marks VALUES (?, ?, ?, ?)", (digest_id, sink_id, partition, offset)
        )
        row = self.connection.execute(
            "SELECT start_offset FROM send_marks WHERE digest_id = ? AND sink_id = ? AND partition = ?",
            (digest_id, sink_id, partition),
        ).fetchone()
        return int(row[0])

    def failed(self, digest_id: str, sink_id: str, error: str) -> int:
        """Record a failed delivery; return how many attempts have failed so far."""
        self.connection.execute(
            """INSERT INTO failures VALUES (?, ?, 1, ?, ?)
               ON CONFLICT (digest_id, sink_id) DO UPDATE SET
               attempts = attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at""",
            (digest_id, sink_id, error[:2000], datetime.now(UTC).isoformat()),
        )
        row = self.connection.execute(
            "SELECT attempts FROM failures WHERE digest_id = ? AND sink_id = ?", (digest_id, sink_id)
        ).fetchone()
        return int(row[0])

    def deliveries(self, subscription_id: str) -> list[tuple[str, str, str, str]]:
        """(digest_id, window_start, window_end, sink_id) of every delivery, oldest first."""
        return [
            (digest_id, start, end, sink_id)
            for digest_id, start, end, sink_id in self.connection.execute(
                """SELECT d.digest_id, d.window_start, d.window_end, v.sink_id
                   FROM deliveries v JOIN digests d USING (digest_id)
                   WHERE d.subscription_id = ? ORDER BY d.window_start, v.sink_id""",
                (subscription_id,),
            )
        ]


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)

"""`timeline publish` as a user runs it, against the real broker: exit codes and messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.helpers import read_all

GOOD = (
    '{"type":"statement","occurred_at":"2025-02-20","summary":"Starmer: a US backstop is needed",'
    '"stances":[{"actor_id":"Sir Keir","issue_id":"us-backstop","position":"support","score":0.9}]}'
)
BAD = (
    '{"type":"statement","occurred_at":"2025-02-20","summary":"bad score",'
    '"stances":[{"actor_id":"keir-starmer","issue_id":"us-backstop","position":"support","score":3}]}'
)


def timeline(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "TIMELINE_BROKER_PORT": str(settings.broker_port),
        "TIMELINE_TOPIC_PREFIX": settings.topic_prefix,
        "TIMELINE_PARTITIONS": str(settings.partitions),
    }
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_cli_publish_exit_codes_and_nothing_sent_on_invalid(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(settings))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(f"{GOOD}\n\n{BAD}\n")

    refused = timeline(settings, "publish", str(mixed))
    assert refused.returncode == 1
    assert "line 3: stances.0.score" in refused.stderr and "nothing sent" in refused.stderr

    skipped = timeline(settings, "publish", "--skip-invalid", str(mixed))
    assert skipped.returncode == 3, skipped.stderr
    assert "published 1 event(s)" in skipped.stdout

    from_stdin = timeline(settings, "publish", "-", stdin=GOOD + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr

    records = asyncio.run(read_all(settings, settings.topics.events, 2))
    assert len(records) == 2
    assert records[0].key == records[1].key  # the same content gets the same derived id


def test_cli_publish_reports_an_unreachable_broker(settings: Settings, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD + "\n")
    unreachable = settings.model_copy(update={"broker_port": 1})
    result = timeline(unreachable, "publish", str(good))
    assert result.returncode == 4
    [line] = result.stderr.strip().splitlines()  # one line naming the cause, no traceback
    assert "nothing listens at 127.0.0.1:1" in line

"""A bad record on the change topic is skipped in one line and counted: the pure parts.

The readers themselves (subscriber, `timeline subscribe`, the digests' change
source, the view feed) are run on the real broker in
tests/integration/test_poison_changes.py.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from scheduler.changes_source import WindowChanges
from schemas.stances import StanceChange
from streams.clients.subscriber import PoisonChange, Subscriber, parse_change, poison_reason
from streams.query.view import ChangeLog, StanceView
from streams.query.view_feed import ViewFeed
from streams.settings import Settings
from tests.factories import new_stance_change

TOPIC = "t.stance-changes"


def good_change(number: int) -> StanceChange:
    detected = datetime(2025, 3, 1, 12, number, tzinfo=UTC)
    return new_stance_change(f"chg-{number}", f"ev-{number}", detected)


def without(field: str) -> bytes:
    document = orjson.loads(good_change(1).model_dump_json())
    del document[field]
    return orjson.dumps(document)


def record(
    partition: int, offset: int, value: bytes | None, topic: str = TOPIC
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"keir-starmer", value, None, 12, 0, [])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff not json", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (without("change_id"), "missing change_id"),
        (b'{"change_id": "x"}', "missing actor_id (and 5 more errors)"),
        (good_change(1).model_dump_json().replace('"new"', '"moved"').encode(), "kind: Input should be"),
    ],
)
def test_a_bad_record_is_refused_with_a_reason_in_a_few_words(value: bytes, reason: str) -> None:
    with pytest.raises(PoisonChange) as refused:
        parse_change(value)
    assert str(refused.value).startswith(reason)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 120


def test_a_good_record_parses_and_other_errors_keep_their_message() -> None:
    change = good_change(2)
    assert parse_change(change.model_dump_json().encode()) == change
    assert poison_reason(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")).startswith(
        "'utf-8'"
    )
    assert poison_reason(KeyError()) == "KeyError"


def test_the_change_log_refuses_and_counts_what_would_fail_every_read() -> None:
    log = ChangeLog()
    assert log.add(good_change(1).model_dump_json().encode())
    # change_id and detected_at alone were enough before: every later read of the log then failed
    for bad in (b"\xff not json", without("change_id"), without("actor_id"), without("kind")):
        with pytest.raises(ValueError):
            log.add(bad)
    assert not log.add(good_change(1).model_dump_json().encode()), "a change seen before"
    assert log.add(good_change(2).model_dump_json().encode())
    assert log.skipped == 4
    assert [change.change_id for change in log.since(None)] == ["chg-1", "chg-2"]
    assert log[1] == good_change(2) and log.positions == {"chg-1": 0, "chg-2": 1}


def test_the_view_feed_skips_a_bad_change_in_one_line_and_counts_it(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(topic_prefix="t.")
    assert settings.topics.stance_changes == TOPIC
    view = StanceView()
    feed = ViewFeed(settings, view)
    caplog.set_level(logging.WARNING, logger="streams.query.view_feed")
    feed._apply(record(2, 40, good_change(1).model_dump_json().encode()))
    feed._apply(record(2, 41, b"\xff not json"))
    feed._apply(record(3, 7, without("change_id")))
    feed._apply(record(0, 5, b"[]", topic=settings.topics.digests))
    feed._apply(record(3, 8, good_change(2).model_dump_json().encode()))

    assert [change.change_id for change in view.changes_since(None)] == ["chg-1", "chg-2"]
    assert view.changes.skipped == 2, "only the change topic's records count on the change log"
    lines = [(entry.levelno, entry.getMessage(), entry.exc_info) for entry in caplog.records]
    assert lines == [
        (logging.WARNING, f"view: skipped a bad record on {TOPIC} partition 2 offset 41: not JSON", None),
        (
            logging.WARNING,
            f"view: skipped a bad record on {TOPIC} partition 3 offset 7: missing change_id",
            None,
        ),
        (
            logging.WARNING,
            f"view: skipped a bad record on {settings.topics.digests} partition 0 offset 5:"
            " not a JSON object",
            None,
        ),
    ]


def test_a_revoked_partition_leaves_no_buffered_record_nor_offset_behind() -> None:
    subscriber = Subscriber(Settings(topic_prefix="t."), group_id="bot")
    kept, lost, other = (TopicPartition(TOPIC, number) for number in (0, 1, 2))
    subscriber._buffer = deque(
        record(p.partition, offset, b"{}") for p in (kept, lost, other) for offset in (5, 6)
    )
    subscriber._pending = {lost: 5, other: 5}
    subscriber._done = {kept: 4, lost: 4}

    subscriber._forget({lost, other})

    assert [(r.partition, r.offset) for r in subscriber._buffer] == [(0, 5), (0, 6)]
    assert subscriber._pending == {} and subscriber._done == {kept: 4}


def test_the_window_changes_are_a_list_with_the_skipped_count() -> None:
    changes = WindowChanges([good_change(1), good_change(2)], skipped=2)
    assert changes == [good_change(1), good_change(2)] and changes.skipped == 2
    assert WindowChanges().skipped == 0 and WindowChanges() == []

"""A bad record on the change topic is skipped in one line and counted: the pure parts.

The readers themselves (subscriber, `timeline subscribe`, the digests' change
source, the API's change reader) are run on the real broker in
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
from streams.query.change_reader import ChangeReader
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


def test_the_change_reader_skips_a_bad_change_in_one_line_and_counts_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(topic_prefix="t.")
    assert settings.topics.stance_changes == TOPIC
    reader = ChangeReader(settings)
    caplog.set_level(logging.WARNING, logger="streams.query.change_reader")
    seen: set[str] = set()
    # change_id and detected_at alone were enough once: every later read of the change then failed
    records = [
        record(2, 40, good_change(1).model_dump_json().encode()),
        record(2, 41, b"\xff not json"),
        record(3, 7, without("change_id")),
        record(3, 8, without("kind")),
        record(2, 42, good_change(1).model_dump_json().encode()),  # delivered twice
        record(3, 9, good_change(2).model_dump_json().encode()),
        record(2, 41, b"\xff not json"),  # the same bad record, read again by a later page
    ]
    kept = [change for r in records if (change := reader._wanted(r, None, seen)) is not None]

    assert [change.change_id for change in kept] == ["chg-1", "chg-2"]
    assert reader.skipped == 3, "each bad record counted once"
    lines = [(entry.levelno, entry.getMessage(), entry.exc_info) for entry in caplog.records]
    assert lines == [
        (logging.WARNING, f"changes: skipped a bad record on {TOPIC} partition 2 offset 41: not JSON", None),
        (
            logging.WARNING,
            f"changes: skipped a bad record on {TOPIC} partition 3 offset 7: missing change_id",
            None,
        ),
        (
            logging.WARNING,
            f"changes: skipped a bad record on {TOPIC} partition 3 offset 8: missing kind",
            None,
        ),
    ]


def test_the_change_reader_leaves_out_changes_detected_before_since() -> None:
    reader = ChangeReader(Settings(topic_prefix="t."))
    since = good_change(2).detected_at
    values = [good_change(number).model_dump_json().encode() for number in (1, 2, 3)]
    kept = [reader._wanted(record(0, offset, value), since, set()) for offset, value in enumerate(values)]
    assert [None if change is None else change.change_id for change in kept] == [None, "chg-2", "chg-3"]
    assert reader.skipped == 0, "an early change is not a bad record"


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

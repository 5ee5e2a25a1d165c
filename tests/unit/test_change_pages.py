"""Paging the change topic, the pure parts: cursors, the merge of partitions, the seek time (no broker).

The reader itself runs against the real broker in tests/integration/test_change_reader.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.stances import StanceChange
from streams.query.change_pages import (
    SEEK_MARGIN_MS,
    BadCursor,
    ChangeCursor,
    ChangePage,
    Kept,
    merge,
    resume_points,
    seek_ms,
    start_offsets,
)
from streams.query.paging import encode_cursor
from tests.factories import new_stance_change

BAD = "bad"
"""A record a page skips (not a valid change, or before `since`)."""
Log = dict[int, list[StanceChange | str]]


def change(minute: int, change_id: str | None = None) -> StanceChange:
    detected = datetime(2025, 3, 1, 12, tzinfo=UTC) + timedelta(minutes=minute)
    return new_stance_change(change_id or f"chg-{minute}", f"ev-{minute}", detected)


def read_page(log: Log, cursor: ChangeCursor | None, limit: int) -> ChangePage:
    """What the reader does against Kafka, on lists: up to `limit` kept records per partition."""
    ends = {p: len(records) for p, records in log.items()}
    start = start_offsets(cursor.offsets if cursor else {}, dict.fromkeys(log, 0), ends)
    runs: dict[int, list[Kept]] = {}
    stops: dict[int, int] = {}
    for p, records in log.items():
        if start[p] >= ends[p]:
            continue
        runs[p], stops[p] = [], start[p]
        for offset in range(start[p], ends[p]):
            stops[p] = offset + 1
            record = records[offset]
            if isinstance(record, StanceChange):
                runs[p].append(Kept(record, offset))
                if len(runs[p]) >= limit:
                    break
    taken, position = merge(runs, start, stops, limit)
    return ChangePage(taken, start, position, ends)


def every_page(log: Log, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = read_page(log, cursor, limit)
        pages.append([c.change_id for c in page.items])
        if page.next is None:
            return pages
        cursor = ChangeCursor.decode(page.next)


def test_a_page_merges_the_partitions_by_detection_time_and_its_cursor_resumes_each() -> None:
    log: Log = {0: [change(1), change(4), change(5)], 1: [change(2), change(3), change(6)]}
    page = read_page(log, None, 3)
    assert [c.change_id for c in page.items] == ["chg-1", "chg-2", "chg-3"]
    assert page.position == {0: 1, 1: 2} and not page.at_end
    assert every_page(log, 3) == [["chg-1", "chg-2", "chg-3"], ["chg-4", "chg-5", "chg-6"]]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_pages_neither_repeat_nor_skip_a_change_whatever_the_limit(limit: int) -> None:
    log: Log = {
        0: [change(9), BAD, change(2), change(3), BAD],  # detection out of order within a partition
        1: [BAD, BAD],
        2: [change(1), change(7, "chg-dup"), change(8)],
        3: [],
    }
    pages = every_page(log, limit)
    ids = [change_id for page in pages for change_id in page]
    assert sorted(ids) == sorted(["chg-9", "chg-2", "chg-3", "chg-1", "chg-dup", "chg-8"])
    assert len(ids) == len(set(ids))
    assert all(len(page) <= limit for page in pages)


def test_a_change_id_twice_in_a_page_is_handed_out_once_and_its_offsets_are_passed() -> None:
    copy = change(2)
    log: Log = {0: [change(1), copy], 1: [copy, change(3)]}
    page = read_page(log, None, 2)
    assert [c.change_id for c in page.items] == ["chg-1", "chg-2"]
    assert page.position == {0: 2, 1: 1}, "the copy right after the page is passed too"
    follow = read_page(log, page.cursor, 2)
    assert [c.change_id for c in follow.items] == ["chg-3"] and follow.next is None


def test_skipped_records_move_the_cursor_and_are_not_read_again() -> None:
    assert resume_points([Kept(change(1), 3), Kept(change(2), 7)], 10) == [7, 10]
    assert resume_points([], 4) == []
    log: Log = {0: [BAD, BAD, BAD], 1: [change(1), BAD, change(2), BAD]}
    page = read_page(log, None, 1)
    assert [c.change_id for c in page.items] == ["chg-1"]
    assert page.position == {0: 3, 1: 1}, "past the bad records of partition 0, all read"
    second = read_page(log, page.cursor, 1)
    assert [c.change_id for c in second.items] == ["chg-2"] and second.position == {0: 3, 1: 3}
    last = read_page(log, second.cursor, 1)
    assert last.items == [] and last.position == {0: 3, 1: 4} and last.next is None


def test_each_change_carries_the_cursor_right_after_it() -> None:
    log: Log = {0: [change(1), change(3)], 1: [change(2)]}
    page = read_page(log, None, 10)
    cursors = [(c.change_id, dict(cursor.offsets)) for c, cursor in page.with_cursors()]
    assert cursors == [("chg-1", {0: 1, 1: 0}), ("chg-2", {0: 1, 1: 1}), ("chg-3", {0: 2, 1: 1})]
    resumed = read_page(log, next(cursor for c, cursor in page.with_cursors() if c.change_id == "chg-2"), 10)
    assert [c.change_id for c in resumed.items] == ["chg-3"]


def test_a_cursor_round_trips_with_its_since() -> None:
    since = datetime(2025, 3, 1, tzinfo=UTC)
    cursor = ChangeCursor({0: 12, 3: 0}, since)
    assert ChangeCursor.decode(cursor.encode()) == cursor
    assert ChangeCursor.decode(ChangeCursor({}).encode()) == ChangeCursor({})


@pytest.mark.parametrize(
    "text",
    [
        "not base64 !",
        encode_cursor([1, 2]),
        encode_cursor({"o": [1]}),
        encode_cursor({"o": {"x": 1}}),
        encode_cursor({"o": {"0": -1}}),
        encode_cursor({"o": {"0": True}}),
        encode_cursor({"o": {"0": 1.5}}),
        encode_cursor({"o": {"0": 1}, "s": "yesterday"}),
        encode_cursor({"after": "chg-1"}),
        "chg-1-1a2b3c",
    ],
)
def test_anything_but_a_change_cursor_is_refused(text: str) -> None:
    with pytest.raises(BadCursor):
        ChangeCursor.decode(text)


def test_start_offsets_stay_within_the_log_and_refuse_unknown_partitions() -> None:
    beginnings, ends = {0: 5, 1: 0}, {0: 9, 1: 3}
    assert start_offsets({0: 2, 1: 7}, beginnings, ends) == {0: 5, 1: 3}
    assert start_offsets({}, beginnings, ends) == {0: 5, 1: 0}, "a partition not named: from its beginning"
    with pytest.raises(BadCursor, match="partition 4"):
        start_offsets({4: 0}, beginnings, ends)


def test_a_seek_by_time_starts_a_margin_early_and_never_fails_on_extreme_instants() -> None:
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    assert seek_ms(moment) == int(moment.timestamp() * 1000) - SEEK_MARGIN_MS
    assert seek_ms(moment.replace(tzinfo=None)) == seek_ms(moment), "naive is UTC"
    assert seek_ms(datetime.fromisoformat("0001-01-01T00:00:00+01:00")) == 0
    assert seek_ms(datetime(9999, 12, 31)) > seek_ms(moment)


def test_a_page_is_at_its_end_only_when_every_partition_is() -> None:
    page = ChangePage([], {0: 0, 1: 0}, {0: 4, 1: 2}, {0: 4, 1: 3})
    assert not page.at_end and page.next is not None
    assert ChangeCursor.decode(page.next).offsets == {0: 4, 1: 2}
    page.position[1] = 3
    assert page.at_end and page.next is None

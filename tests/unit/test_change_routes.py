"""/changes, /changes/stream and /digests/latest before any broker: 422s, 503s, the stream cap.

The readers are not started here, so every answer that would read Kafka is a 503 with
Retry-After; what must be refused is refused first (a 422, never a 500).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schemas.digests import Digest
from streams.query.change_pages import ChangeCursor
from streams.query.change_reader import ChangeReader
from streams.query.digest_feed import DigestFeed
from streams.query.paging import encode_cursor
from streams.query.routes import changes, digests
from streams.settings import Settings

SETTINGS = Settings(topic_prefix="t.", sse_max_connections=2)


@pytest.fixture
def reader() -> ChangeReader:
    return ChangeReader(SETTINGS)


@pytest.fixture
def feed() -> DigestFeed:
    return DigestFeed(SETTINGS)


def client_of(reader: ChangeReader | None, feed: DigestFeed | None = None) -> TestClient:
    api = FastAPI()
    api.state.changes, api.state.digests = reader, feed
    api.include_router(changes.router)
    api.include_router(digests.router)
    return TestClient(api)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2025-13-01"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "many"},
        {"cursor": "!!"},
        {"cursor": encode_cursor({"after": 3})},
        {"cursor": encode_cursor({"o": {"0": -2}})},
    ],
)
def test_a_bad_since_limit_or_cursor_is_a_422_with_a_message(
    reader: ChangeReader, params: dict[str, str]
) -> None:
    answer = client_of(reader).get("/changes", params=params)
    assert answer.status_code == 422 and answer.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"since": "9999-12-31"},
        {"since": "0001-01-01T00:00:00+01:00"},
        {"since": "2025-03-01T12:00:00"},
        {"limit": "1000", "cursor": ChangeCursor({0: 3}).encode()},
    ],
)
def test_good_parameters_wait_for_the_reader_with_a_503(reader: ChangeReader, params: dict[str, str]) -> None:
    for answer in (client_of(reader).get("/changes", params=params), client_of(None).get("/changes")):
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"


def test_streams_over_the_cap_are_refused_with_a_503(reader: ChangeReader) -> None:
    reader.open_streams = SETTINGS.sse_max_connections
    answer = client_of(reader).get("/changes/stream")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert "2 change streams are open" in answer.json()["detail"]
    assert reader.open_streams == SETTINGS.sse_max_connections


def test_a_stream_that_cannot_start_gives_its_slot_back(reader: ChangeReader) -> None:
    answer = client_of(reader).get("/changes/stream", headers={"Last-Event-ID": "chg-1-1a2b3c"})
    assert answer.status_code == 503 and reader.open_streams == 0
    assert client_of(None).get("/changes/stream").status_code == 503


def digest(subscription: str, day: int) -> Digest:
    end = datetime(2025, 3, day, tzinfo=UTC)
    return Digest(
        digest_id=f"{subscription}-{day}",
        subscription_id=subscription,
        window_start=end - timedelta(days=1),
        window_end=end,
        generated_at=end,
    )


def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t.digests", 0, offset, 0, 0, b"daily", value, None, 5, len(value), [])


def test_the_digest_feed_keeps_the_latest_window_per_subscription_and_skips_bad_records(
    feed: DigestFeed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streams.query.digest_feed")
    for offset, value in enumerate(
        [
            digest("daily", 5).model_dump_json().encode(),
            digest("daily", 3).model_dump_json().encode(),  # an older window arriving late
            b"\xff not json",
            digest("weekly", 4).model_dump_json().encode(),
        ]
    ):
        feed._take(record(offset, value))
    assert feed.latest == {"daily": digest("daily", 5), "weekly": digest("weekly", 4)}
    assert feed.newest() == digest("daily", 5) and feed.newest("weekly") == digest("weekly", 4)
    assert feed.skipped == 1
    assert [(entry.getMessage(), entry.exc_info) for entry in caplog.records] == [
        ("digests: skipped a bad record on t.digests partition 0 offset 2: not JSON", None)
    ]


def test_latest_digest_is_a_503_until_the_feed_is_ready_then_the_newest(feed: DigestFeed) -> None:
    client = client_of(None, feed)
    assert client.get("/digests/latest").status_code == 503
    assert client_of(None).get("/digests/latest").headers["Retry-After"] == "1"
    feed.ready = True
    assert client.get("/digests/latest").status_code == 404
    feed.apply(digest("daily", 5).model_dump_json().encode())
    assert client.get("/digests/latest").json()["digest_id"] == "daily-5"
    assert client.get("/digests/latest", params={"subscription": "weekly"}).status_code == 404


def test_timeline_changes_follows_next_to_the_last_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.cli import queries

    pages = {
        None: {"items": [{"change_id": "a"}, {"change_id": "b"}], "next": "c1"},
        "c1": {"items": [{"change_id": "b"}, {"change_id": "c"}], "next": "c2"},  # b re-sent
        "c2": {"items": [], "next": None},
    }
    asked: list[dict[str, str | None]] = []

    def answer(settings: Settings, path: str, params: dict[str, str | None]) -> object:
        assert path == "/changes"
        asked.append(params)
        return pages[params.get("cursor")]

    monkeypatch.setattr(queries, "query_api", answer)
    found = queries.all_changes(SETTINGS, "2025-03-01")
    assert [change["change_id"] for change in found] == ["a", "b", "c"]
    assert asked[0] == {"since": "2025-03-01", "limit": "1000"}
    assert [params.get("cursor") for params in asked] == [None, "c1", "c2"]

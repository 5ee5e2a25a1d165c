"""The change reader and /changes/stream on the real broker, over a change topic filled here.

Pages neither repeat nor skip a record however the topic grows between them, `since` seeks by
record time (a margin early) and filters by detection time, a stream's event id is a cursor a
reconnecting EventSource resumes from exactly, and the streams a worker serves are capped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faust.contrib.asgi import AsgiService

from schemas.stances import StanceChange
from streams.kafka import connection
from streams.query.change_pages import ChangeCursor, ChangePage
from streams.query.change_reader import ChangeReader
from streams.query.routes import changes as changes_routes
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.factories import new_stance_change
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
Written = list[tuple[int, bytes | StanceChange, datetime | None]]
"""(partition, value, record timestamp or None for the producer's clock)."""


def change(
    second: int, actor: str = "keir-starmer", base: datetime = NOW - timedelta(days=1)
) -> StanceChange:
    detected = base + timedelta(seconds=second)
    return new_stance_change(f"chg-{second}-{uuid.uuid4().hex[:6]}", f"ev-{second}", detected, actor_id=actor)


async def write(settings: Settings, records: Written) -> None:
    producer = connection.producer(settings)
    await producer.start()
    try:
        for partition, value, stamp in records:
            raw = value.model_dump_json().encode() if isinstance(value, StanceChange) else value
            timestamp_ms = None if stamp is None else int(stamp.timestamp() * 1000)
            await producer.send_and_wait(
                settings.topics.stance_changes, raw, b"k", partition=partition, timestamp_ms=timestamp_ms
            )
    finally:
        await producer.stop()


async def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def open_reader(settings: Settings) -> AsyncIterator[ChangeReader]:
    await ensure_topics(settings)
    reader = ChangeReader(settings)
    await reader.start()
    try:
        await until(lambda: reader.ready, "the reader found the change topic")
        yield reader
    finally:
        await reader.stop()


async def all_pages(reader: ChangeReader, limit: int, since: datetime | None = None) -> list[ChangePage]:
    pages = [await reader.page(None, since, limit)]
    while pages[-1].next is not None:
        pages.append(await reader.page(ChangeCursor.decode(pages[-1].next), None, limit))
    return pages


def ids(pages: list[ChangePage]) -> list[str]:
    return [c.change_id for page in pages for c in page.items]


async def test_pages_hold_every_change_once_in_detection_order_as_the_topic_grows(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    made = [change(second) for second in range(40)]
    spread: Written = []
    for index, made_change in enumerate(made):
        spread.append((index % 4, made_change, None))
        if index == 9:  # delivered twice, the copy on another partition: one item all the same
            spread.append((3, made_change, None))
        if index == 17:
            spread.append((1, b"\xff not json", None))
    caplog.set_level(logging.WARNING, logger="streams.query.change_reader")
    async with open_reader(settings) as reader:
        await write(settings, spread)
        first = [await reader.page(None, None, 7)]
        first.append(await reader.page(first[-1].cursor, None, 7))
        later = [change(100 + second) for second in range(6)]  # written between two pages
        await write(settings, [(second % 4, c, None) for second, c in enumerate(later)])
        pages = [*first, await reader.page(first[-1].cursor, None, 7)]
        while pages[-1].next is not None:
            pages.append(await reader.page(ChangeCursor.decode(pages[-1].next), None, 7))

        assert ids(pages) == [c.change_id for c in made + later], "every change once, in detection order"
        assert all(len(page.items) <= 7 for page in pages) and len(pages) >= 7
        for page in pages:
            assert page.items == sorted(page.items, key=lambda c: (c.detected_at, c.change_id))
        assert reader.skipped == 1
        assert ids(await all_pages(reader, 1000)) == ids(pages), "one page of everything: the same"
        assert reader.skipped == 1, "a bad record read again is not counted again"
    lines = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name == "streams.query.change_reader"]
    topic = settings.topics.stance_changes
    assert [(line, info) for line, info in lines if "skipped" in line] == [
        (f"changes: skipped a bad record on {topic} partition 1 offset 5: not JSON", None)
    ]


async def test_since_seeks_by_record_time_and_keeps_what_was_detected_from_then(settings: Settings) -> None:
    since = NOW - timedelta(hours=6)
    old = [change(second, base=NOW - timedelta(days=30)) for second in range(3)]
    fresh = [change(second, base=since) for second in range(3)]
    stepped_back = change(10, base=since)  # its record stamped two minutes before its detection
    early = change(-60, base=since)  # detected a minute before `since`, stamped inside the margin
    records: Written = [(0, c, c.detected_at) for c in [*old, *fresh]]
    records += [(1, c, c.detected_at) for c in old]
    records += [
        (1, early, early.detected_at),
        (1, stepped_back, stepped_back.detected_at - timedelta(minutes=2)),
    ]
    async with open_reader(settings) as reader:
        await write(settings, records)
        pages = await all_pages(reader, 2, since)
        assert ids(pages) == [c.change_id for c in [*fresh, stepped_back]]
        assert pages[0].start == {0: 3, 1: 3, 2: 0, 3: 0}, "the seek passed the old records unread"
        assert all(page.since == since for page in pages), "the cursor keeps the first page's since"

        assert ids(await all_pages(reader, 100, datetime(9999, 12, 31))) == []
        everything = await all_pages(reader, 100, datetime.fromisoformat("0001-01-01T00:00:00+01:00"))
        made = {c.change_id for _, c, _ in records if isinstance(c, StanceChange)}
        assert sorted(ids(everything)) == sorted(made), "the old changes on two partitions come once"
        naive = await all_pages(reader, 100, since.replace(tzinfo=None))
        assert ids(naive) == ids(pages), "a naive since is UTC"


@asynccontextmanager
async def serving(reader: ChangeReader) -> AsyncIterator[httpx.AsyncClient]:
    api = FastAPI()
    api.state.changes = reader
    api.include_router(changes_routes.router)
    port = free_port()
    server = AsgiService(api, host="127.0.0.1", port=port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                try:
                    await client.get("/changes", params={"limit": "1"})
                    break
                except httpx.TransportError:
                    assert loop.time() < deadline, "the test server never answered"
                    await asyncio.sleep(0.1)
            yield client
    finally:
        await server.stop()


async def events(lines: AsyncIterator[str], count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` server-sent events (id, data) from an open stream."""
    found: list[tuple[str, dict[str, Any]]] = []
    event_id, data = "", ""
    async for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            found.append((event_id, json.loads(data)))
            event_id, data = "", ""
            if len(found) == count:
                break
    return found


async def test_a_stream_resumes_exactly_after_its_last_event_id_and_a_stranger_one_from_now(
    settings: Settings,
) -> None:
    made = [change(second, actor="keir-starmer" if second % 3 else "david-lammy") for second in range(12)]
    starmer = [c.change_id for c in made if c.actor_id == "keir-starmer"]
    async with open_reader(settings) as reader, serving(reader) as client:
        await write(settings, [(index % 4, c, None) for index, c in enumerate(made)])
        url = "/changes/stream?actor=keir-starmer&from_start=true"
        async with client.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = await asyncio.wait_for(events(response.aiter_lines(), 3), 30)
        assert [data["change_id"] for _, data in first] == starmer[:3]
        last_id = first[-1][0]
        assert ChangeCursor.decode(last_id).offsets, "the event id is a cursor"

        async with client.stream("GET", url, headers={"Last-Event-ID": last_id}) as response:
            lines = response.aiter_lines()
            rest = await asyncio.wait_for(events(lines, len(starmer) - 3), 30)
            assert [data["change_id"] for _, data in rest] == starmer[3:], "no repeat, no gap"
            live = change(500)
            await write(settings, [(2, live, None)])
            [(_, sent)] = await asyncio.wait_for(events(lines, 1), 30)
            assert sent == json.loads(live.model_dump_json())

        for stranger in ("chg-1-abcdef", "not a cursor", ChangeCursor({9: 0}).encode()):
            async with client.stream("GET", url, headers={"Last-Event-ID": stranger}) as response:
                assert response.status_code == 200
                newer = change(600 + len(stranger))
                await write(settings, [(1, newer, None)])
                [(_, sent)] = await asyncio.wait_for(events(response.aiter_lines(), 1), 30)
                assert sent["change_id"] == newer.change_id, "from now, not from the first change"


async def test_streams_past_the_cap_get_a_503_until_one_closes(settings: Settings) -> None:
    capped = settings.model_copy(update={"sse_max_connections": 2})
    async with open_reader(capped) as reader, serving(reader) as client:
        async with (
            client.stream("GET", "/changes/stream") as one,
            client.stream("GET", "/changes/stream") as two,
        ):
            assert one.status_code == two.status_code == 200 and reader.open_streams == 2
            refused = await client.get("/changes/stream")
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        await until(lambda: reader.open_streams == 0, "the closed streams gave their slots back")
        async with client.stream("GET", "/changes/stream") as again:
            assert again.status_code == 200


async def test_changes_over_http_are_pages_and_odd_instants_are_answers_not_errors(
    settings: Settings,
) -> None:
    made = [change(second) for second in range(3)]
    async with open_reader(settings) as reader, serving(reader) as client:
        await write(settings, [(0, c, None) for c in made])
        first = (await client.get("/changes", params={"limit": "2"})).json()
        assert [c["change_id"] for c in first["items"]] == [c.change_id for c in made[:2]]
        rest = (await client.get("/changes", params={"limit": "2", "cursor": first["next"]})).json()
        assert [c["change_id"] for c in rest["items"]] == [made[2].change_id] and rest["next"] is None

        late = await client.get("/changes", params={"since": "9999-12-31"})
        assert late.status_code == 200 and late.json() == {"items": [], "next": None}
        early = await client.get("/changes", params={"since": "0001-01-01T00:00:00+01:00"})
        assert early.status_code == 200 and len(early.json()["items"]) == 3
        for params in ({"cursor": "garbage"}, {"cursor": ChangeCursor({7: 0}).encode()}, {"limit": "0"}):
            refused = await client.get("/changes", params=params)
            assert refused.status_code == 422 and refused.json()["detail"], params

"""The query API over stores held in memory: 503 while recovering, pages, 404 and 422 (no broker)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from schemas import Stance
from schemas.time import EventTime, Precision
from streams.core.records import current_key, encode, history_key
from streams.query.api import ROUTERS, create_api
from streams.query.dependencies import QueryContext, end_of
from streams.query.stores import MemoryStores
from streams.registry_files import load_registry


def claim(event_id: str, day: int, score: float) -> Stance:
    return Stance(
        actor_id="keir-starmer",
        issue_id="us-backstop",
        position="support",
        score=score,
        confidence=0.9,
        event_id=event_id,
        occurred_at=EventTime(at=datetime(2025, 2, day, tzinfo=UTC), precision=Precision.DAY),
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def view() -> MemoryStores:
    history = {
        history_key("keir-starmer", "us-backstop", stance.event_id): encode(stance)
        for stance in [claim("a", 10, 0.3), claim("b", 17, 0.9)]
    }
    current = {current_key("keir-starmer", "us-backstop"): encode(claim("b", 17, 0.9))}
    stores = MemoryStores({"events": {}, "stance-current": current, "stance-history": history}, 4)
    stores.serving = None  # recovering until a test says otherwise
    return stores


def api_of(stores: MemoryStores) -> TestClient:
    return TestClient(
        create_api(QueryContext(stores=stores, registry=load_registry())), base_url="http://127.0.0.1"
    )


def items(response: Any) -> list[Any]:
    body = response.json()
    assert set(body) == {"items", "next"}, body
    return list(body["items"])


def test_recovering_stores_answer_503_with_retry_after(view: MemoryStores) -> None:
    client = api_of(view)
    response = client.get("/actors/keir-starmer/stances")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert client.get("/health").status_code == 503
    assert client.get("/stances").status_code == 503
    assert client.get("/actors").status_code == 200  # registry answers need no stores


def test_ready_stores_answer_current_and_as_of(view: MemoryStores) -> None:
    view.serving = frozenset(range(4))
    client = api_of(view)
    assert [s["event_id"] for s in items(client.get("/actors/keir-starmer/stances"))] == ["b"]
    as_of = items(client.get("/actors/keir-starmer/stances", params={"as_of": "2025-02-16"}))
    assert [s["event_id"] for s in as_of] == ["a"]
    assert items(client.get("/actors/keir-starmer/stances", params={"as_of": "2025-02-09"})) == []
    timeline = items(client.get("/actors/keir-starmer/timeline", params={"issue": "us-backstop"}))
    assert [s["event_id"] for s in timeline] == ["a", "b"]
    assert [s["event_id"] for s in items(client.get("/stances"))] == ["b"]
    assert [s["event_id"] for s in items(client.get("/stances", params={"as_of": "2025-02-16"}))] == ["a"]
    assert client.get("/health").json()["partitions"] == [0, 1, 2, 3]
    assert client.get("/state/hash").json()["claims"] == 2
    assert client.get("/openapi.json").json()["info"]["title"] == "diplomatic-timeline"


def test_every_list_pages_with_a_cursor(view: MemoryStores) -> None:
    view.serving = frozenset(range(4))
    client = api_of(view)
    first = client.get("/actors/keir-starmer/timeline", params={"limit": 1}).json()
    assert [s["event_id"] for s in first["items"]] == ["a"] and first["next"]
    second = client.get("/actors/keir-starmer/timeline", params={"limit": 1, "cursor": first["next"]}).json()
    assert [s["event_id"] for s in second["items"]] == ["b"] and second["next"] is None
    actors: list[str] = []
    cursor = None
    while True:
        page = client.get("/actors", params={"limit": 7, **({"cursor": cursor} if cursor else {})}).json()
        actors += [actor["id"] for actor in page["items"]]
        if not (cursor := page["next"]):
            break
    assert actors == sorted(load_registry().actors)
    for path in ("/actors", "/stances", "/actors/keir-starmer/history"):
        assert client.get(path, params={"limit": 0}).status_code == 422
        assert client.get(path, params={"limit": 100_000}).status_code == 422
        bad = client.get(path, params={"cursor": "not a cursor!"})
        assert bad.status_code == 422 and "cursor" in bad.json()["detail"]


def test_unknown_ids_404_and_bad_parameters_422(view: MemoryStores) -> None:
    view.serving = frozenset(range(4))
    client = api_of(view)
    missing = client.get("/actors/nobody/stances")
    assert missing.status_code == 404 and "unknown actor 'nobody'" in missing.json()["detail"]
    assert client.get("/issues/moon-base/stances").status_code == 404
    assert client.get("/events/nope").status_code == 404
    assert client.get("/actors/keir-starmer/stances", params={"as_of": "soon"}).status_code == 422
    for overflow in ("9999", "9999-12-31", "0001-01-01T00:00:00+01:00"):
        answer = client.get("/stances", params={"as_of": overflow})
        assert answer.status_code == 422 and "as_of" in answer.json()["detail"], overflow
    assert client.get("/changes", params={"since": "yesterday"}).status_code == 422


def test_a_day_as_of_covers_the_whole_day() -> None:
    assert end_of("2025-02-17") == datetime(2025, 2, 17, 23, 59, 59, 999999, tzinfo=UTC)
    assert end_of("2025-02") == datetime(2025, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)


EXPECTED_OPERATIONS = {
    ("get", "/health"),
    ("get", "/state/hash"),
    ("get", "/actors"),
    ("get", "/actors/{actor_id}"),
    ("get", "/actors/{actor_id}/stances"),
    ("get", "/actors/{actor_id}/timeline"),
    ("get", "/actors/{actor_id}/history"),
    ("get", "/stances"),
    ("get", "/issues"),
    ("get", "/issues/{issue_id}/stances"),
    ("get", "/digests/latest"),
    ("get", "/changes"),
    ("get", "/changes/stream"),
    ("get", "/events/{event_id}"),
    ("post", "/session"),
    ("post", "/draft"),
}
"""Every documented operation: a route lost (or added) when the routers change fails here."""


def test_openapi_lists_exactly_the_expected_operations(view: MemoryStores) -> None:
    paths = api_of(view).get("/openapi.json").json()["paths"]
    assert {(method, path) for path, operations in paths.items() for method in operations} == (
        EXPECTED_OPERATIONS
    )


def test_every_handler_and_dependency_is_async() -> None:
    """A sync one would run in FastAPI's thread pool, reading the stores off the loop that writes them."""
    routes = [route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)]
    assert {(method.lower(), route.path) for route in routes for method in route.methods or ()} >= (
        EXPECTED_OPERATIONS
    )
    dependants = [route.dependant for route in routes]
    for dependant in dependants:  # grows as it goes: the dependencies of dependencies too
        dependants += dependant.dependencies
    assert [d.call for d in dependants if not inspect.iscoroutinefunction(d.call)] == []

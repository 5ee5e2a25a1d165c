"""The query API over an in-memory view: 503 while recovering, 404 and 422 (no broker)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from schemas import Stance
from schemas.time import EventTime, Precision
from streams.core.records import current_key, encode, history_key
from streams.query.api import ROUTERS, create_api
from streams.query.dependencies import end_of
from streams.query.view import StanceView
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
def view() -> StanceView:
    view = StanceView()
    for stance in [claim("a", 10, 0.3), claim("b", 17, 0.9)]:
        view.apply(
            "stance-history", history_key("keir-starmer", "us-backstop", stance.event_id), encode(stance)
        )
    view.apply("stance-current", current_key("keir-starmer", "us-backstop"), encode(claim("b", 17, 0.9)))
    return view


def test_recovering_view_answers_503_with_retry_after(view: StanceView) -> None:
    client = TestClient(create_api(view, load_registry()))
    response = client.get("/actors/keir-starmer/stances")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert client.get("/health").status_code == 503
    assert client.get("/actors").status_code == 200  # registry answers need no view


def test_ready_view_answers_current_and_as_of(view: StanceView) -> None:
    view.ready = True
    client = TestClient(create_api(view, load_registry()))
    assert [s["event_id"] for s in client.get("/actors/keir-starmer/stances").json()] == ["b"]
    as_of = client.get("/actors/keir-starmer/stances", params={"as_of": "2025-02-16"}).json()
    assert [s["event_id"] for s in as_of] == ["a"]
    assert client.get("/actors/keir-starmer/stances", params={"as_of": "2025-02-09"}).json() == []
    timeline = client.get("/actors/keir-starmer/timeline", params={"issue": "us-backstop"}).json()
    assert [s["event_id"] for s in timeline] == ["a", "b"]
    assert client.get("/openapi.json").json()["info"]["title"] == "diplomatic-timeline"


def test_unknown_ids_404_and_bad_parameters_422(view: StanceView) -> None:
    view.ready = True
    client = TestClient(create_api(view, load_registry()))
    missing = client.get("/actors/nobody/stances")
    assert missing.status_code == 404 and "unknown actor 'nobody'" in missing.json()["detail"]
    assert client.get("/issues/moon-base/stances").status_code == 404
    assert client.get("/events/nope").status_code == 404
    assert client.get("/actors/keir-starmer/stances", params={"as_of": "soon"}).status_code == 422
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
}
"""Every documented operation: a route lost (or added) when the routers change fails here."""


def test_openapi_lists_exactly_the_expected_operations(view: StanceView) -> None:
    paths = TestClient(create_api(view, load_registry())).get("/openapi.json").json()["paths"]
    assert {(method, path) for path, operations in paths.items() for method in operations} == (
        EXPECTED_OPERATIONS
    )


def test_every_handler_and_dependency_is_async() -> None:
    """A sync one would run in FastAPI's thread pool, reading the view off the loop that feeds it."""
    routes = [route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)]
    assert {(method.lower(), route.path) for route in routes for method in route.methods or ()} >= (
        EXPECTED_OPERATIONS
    )
    dependants = [route.dependant for route in routes]
    for dependant in dependants:  # grows as it goes: the dependencies of dependencies too
        dependants += dependant.dependencies
    assert [d.call for d in dependants if not inspect.iscoroutinefunction(d.call)] == []

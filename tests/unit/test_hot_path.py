"""The hot query below the router: the same answers as the route, and the route's where it must not answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import Stance
from schemas.time import EventTime, Precision
from streams.core.records import current_key, encode_stored
from streams.query import hot_path
from streams.query.api import create_api
from streams.query.dependencies import QueryContext
from streams.query.stores import MemoryStores
from streams.registry_files import load_registry

ACTOR = "keir-starmer"


def stance(issue_id: str, score: float, quote: str | None = None) -> Stance:
    return Stance(
        actor_id=ACTOR,
        issue_id=issue_id,
        position="support" if score > 0 else "oppose",
        score=score,
        confidence=0.9,
        quote=quote,
        event_id=f"e-{issue_id}",
        occurred_at=EventTime(at=datetime(2025, 2, 17, tzinfo=UTC), precision=Precision.DAY),
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def stores() -> MemoryStores:
    stances = [
        stance("us-backstop", 0.9, 'he said ,"made_current":true and "quotes"'),
        stance("ukraine-support", 0.7),
        stance("european-peacekeepers", -0.4),
    ]
    current = {
        current_key(one.actor_id, one.issue_id): encode_stored(one, made_current=True, replaced="x")
        for one in stances
    }
    return MemoryStores({"events": {}, "stance-current": current, "stance-history": {}}, 4)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the hot path answered."""
    answered: list[str] = []
    real = hot_path.HotStances.answer

    def spy(scope: Any) -> bytes | None:
        body = real(scope)
        if body is not None:
            answered.append(scope["path"])
        return body

    monkeypatch.setattr(hot_path.HotStances, "answer", staticmethod(spy))
    return answered


def client(stores: MemoryStores, token: str | None = None) -> TestClient:
    api = create_api(QueryContext(stores=stores, registry=load_registry()), token=token)
    return TestClient(api, base_url="http://127.0.0.1")


def test_the_hot_answer_equals_the_routes(stores: MemoryStores, taken: list[str]) -> None:
    api = client(stores)
    hot = api.get(f"/actors/{ACTOR}/stances")
    assert taken == [f"/actors/{ACTOR}/stances"] and hot.status_code == 200
    assert hot.headers["content-type"] == "application/json"
    slow = api.get(f"/actors/{ACTOR}/stances", params={"limit": 100})  # parameters: the route answers
    assert len(taken) == 1 and slow.status_code == 200
    assert hot.json() == slow.json()
    assert [item["issue_id"] for item in hot.json()["items"]] == [
        "european-peacekeepers",
        "ukraine-support",
        "us-backstop",
    ]
    assert hot.json()["items"][2]["quote"] == 'he said ,"made_current":true and "quotes"'


def test_the_route_answers_what_the_hot_path_does_not(stores: MemoryStores, taken: list[str]) -> None:
    api = client(stores)
    assert api.get("/actors/nobody/stances").status_code == 404
    assert api.post(f"/actors/{ACTOR}/stances").status_code == 405
    stores.serving = None  # recovering
    assert api.get(f"/actors/{ACTOR}/stances").status_code == 503
    stores.serving = frozenset()  # not held here; with no peers known, the route answers itself
    assert api.get(f"/actors/{ACTOR}/stances").status_code == 200
    assert taken == []


def test_the_token_is_asked_before_the_hot_path(stores: MemoryStores, taken: list[str]) -> None:
    api = client(stores, token="s3cret")
    assert api.get(f"/actors/{ACTOR}/stances").status_code == 401
    assert taken == []
    answer = api.get(f"/actors/{ACTOR}/stances", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200 and taken == [f"/actors/{ACTOR}/stances"]

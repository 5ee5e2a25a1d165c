"""POST /draft (the page's Draft view) over the bundled registry: the drafts, their spans, the bounds."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.registry import Registry
from streams.drafting.compose import draft_events
from streams.drafting.marker import DRAFT_KEY
from streams.query import highlights as highlights_module
from streams.query.api import create_api
from streams.query.dependencies import QueryContext
from streams.query.highlights import Text, highlights
from streams.query.routes import draft as draft_route
from streams.query.stores import MemoryStores
from streams.registry_files import load_registry

ARTICLE = (Path(__file__).resolve().parents[1] / "data" / "seed-article.txt").read_text("utf-8")
TOKEN = "draft-token"


def client(token: str | None = None) -> TestClient:
    context = QueryContext(stores=MemoryStores({}, 4), registry=load_registry())
    return TestClient(create_api(context, token=token), base_url="http://127.0.0.1")


def drafted(text: str = ARTICLE, **fields: Any) -> Any:
    response = client().post("/draft", json={"text": text, "published": "2025-02-21", **fields})
    assert response.status_code == 200, response.text
    return response.json()


def spans_of(answer: Any, kind: str) -> list[tuple[str, str]]:
    return [
        (ARTICLE[span["start"] : span["end"]], span["label"])
        for item in answer["drafts"]
        for span in item["spans"]
        if span["kind"] == kind
    ]


def test_the_drafts_are_what_timeline_draft_writes_with_their_marker() -> None:
    source = {"outlet": "BBC News", "title": "Starmer and Macron", "url": "https://www.bbc.co.uk/news/x"}
    answer = drafted(**source)
    expected, _ = draft_events(
        ARTICLE, date(2025, 2, 21), load_registry(), {**source, "published_at": "2025-02-21"}
    )
    assert [item["event"] for item in answer["drafts"]] == expected
    assert all(DRAFT_KEY in item["event"] for item in answer["drafts"])
    assert answer["drafts"][0]["event"]["source"]["outlet"] == "BBC News"


def test_spans_point_at_the_evidence_in_the_text() -> None:
    answer = drafted()
    assert ("Sir Keir Starmer", "keir-starmer") in spans_of(answer, "actor")
    assert ("the only way to effectively deter Russia", "keir-starmer") in spans_of(answer, "quote")
    for item in answer["drafts"]:
        event, marker = item["event"], item["event"][DRAFT_KEY]
        wanted = {("actor", actor["words"]) for actor in marker["actors"]}
        wanted |= {("quote", quote["text"]) for quote in event["quotes"]}
        wanted |= {("date", marker["date"]["words"])} if marker["date"]["words"] else set()
        wanted |= {("claim", claim[name]) for claim in marker["claims"] for name in ("issue_words", "cue")}
        found = {(span["kind"], ARTICLE[span["start"] : span["end"]]) for span in item["spans"]}
        assert wanted <= found, event["summary"]
        for span in item["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(ARTICLE)
            if span["kind"] == "claim":
                stance = event["stances"][span["claim"]]
                assert span["label"] == f"{stance['actor_id']} on {stance['issue_id']}"


def test_an_event_s_spans_lie_in_its_own_sentences() -> None:
    """ "Trump" is named in many sentences: Wang Yi's statement marks the one in its paragraph."""
    answer = drafted()
    china = next(item for item in answer["drafts"] if "Wang Yi" in item["event"]["summary"])
    trump = [span for span in china["spans"] if span["label"] == "donald-trump"]
    paragraph = ARTICLE.index("Meanwhile, China")
    assert trump and all(span["start"] > paragraph for span in trump)


def test_line_breaks_inside_a_sentence_still_match_and_offsets_are_the_pasted_text_s() -> None:
    pasted = 'Sir Keir\n  Starmer said "the only way\nto deter Russia."'
    event = {
        "summary": 'Sir Keir Starmer said "the only way to deter Russia."',
        "quotes": [{"actor_id": "keir-starmer", "text": "the only way to deter Russia"}],
        DRAFT_KEY: {"actors": [{"actor_id": "keir-starmer", "words": "Sir Keir Starmer"}], "claims": []},
    }
    [spans] = highlights([event], pasted)
    found = {(pasted[span.start : span.end], span.kind) for span in spans}
    assert found == {("Sir Keir\n  Starmer", "actor"), ("the only way\nto deter Russia", "quote")}
    text = Text("a \n\t b")
    assert text.collapsed == "a b" and text.original(0, 3) == (0, 6)


def test_words_match_whole_words_only() -> None:
    text = Text("USA and the US; thus")
    assert text.occurrences("US") == [(12, 14)]
    assert highlights_module.Text("").occurrences("") == []


def test_bounds_and_bad_input_answer_4xx_with_a_message() -> None:
    api = client()
    too_long = api.post("/draft", json={"text": "x" * 100_001, "published": "2025-02-21"})
    assert too_long.status_code == 413 and "at most 100,000" in too_long.json()["detail"]
    huge = api.post(
        "/draft",
        content=b'{"text": "' + b"x" * 1_100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and "bytes" in huge.json()["detail"]
    chunked = api.post("/draft", content=iter([b'{"text": "', *[b"x" * 100_000] * 11, b'"}']))
    assert chunked.status_code == 413  # no Content-Length: counted as it is read
    bad_day = api.post("/draft", json={"text": "Starmer spoke.", "published": "2025-02-30"})
    assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.json()["detail"]
    assert api.post("/draft", content=b"not json").status_code == 422
    missing = api.post("/draft", json={"published": "2025-02-21"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "text"]
    for body in (
        {"published": "2025-02-21"},
        {"text": 7, "published": "2025-02-21"},
        {"text": "a", "published": "2025-02-21", "url": "javascript:alert(1)", "outlet": "X"},
        [],
    ):
        assert api.post("/draft", json=body).status_code == 422, body
    orphan = api.post("/draft", json={"text": "a", "published": "2025-02-21", "title": "T"})
    assert orphan.status_code == 422 and "outlet" in orphan.json()["detail"]


@pytest.mark.parametrize("text", ["", "   ", "\x00", '""', "He said.", "“" * 5000, 'Starmer said "'])
def test_odd_texts_draft_without_error(text: str) -> None:
    assert isinstance(drafted(text)["drafts"], list)


def test_it_needs_the_token_like_every_route() -> None:
    api = client(TOKEN)
    body = {"text": "Starmer spoke.", "published": "2025-02-21"}
    assert api.post("/draft", json=body).status_code == 401
    assert api.post("/draft", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_drafting_runs_off_the_loop_and_a_busy_worker_answers_503(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []

    def recorded(events: Any, pasted: str) -> Any:
        threads.append(threading.current_thread().name)
        return highlights(events, pasted)

    monkeypatch.setattr(draft_route, "highlights", recorded)
    api = client()
    body = {"text": "Starmer spoke.", "published": "2025-02-21"}
    assert api.post("/draft", json=body).status_code == 200
    assert threads and threads[0].startswith("draft")
    api.app.state.drafting.waiting = draft_route.MAX_WAITING  # type: ignore[attr-defined]
    busy = api.post("/draft", json=body)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"


def test_retired_ids_are_not_drafted() -> None:
    """A publisher refuses a retired id: the Draft view drafts against the same view as `timeline draft`."""
    bundled = load_registry()
    retired = Registry(actors=bundled.actors, issues=bundled.issues, retired=frozenset({"actor:nick-carter"}))
    context = QueryContext(stores=MemoryStores({}, 4), registry=retired)
    api = TestClient(create_api(context), base_url="http://127.0.0.1")
    answer = api.post("/draft", json={"text": ARTICLE, "published": "2025-02-21"}).json()
    named = {actor["actor_id"] for item in answer["drafts"] for actor in item["event"]["actors"]}
    assert "keir-starmer" in named and "nick-carter" not in named
    assert "nick-carter" in {
        actor["actor_id"] for item in drafted()["drafts"] for actor in item["event"]["actors"]
    }

"""/draft: the page's Draft view: what `timeline draft` would write for a pasted text, with where
each event's evidence sits in it. It computes and answers; nothing is stored or sent to Kafka.

Drafting is CPU work: it runs on one thread of its own per worker, off the loop the agents share,
and a worker with a few drafts already waiting answers 503 rather than queueing without end.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from schemas.registry import Registry
from streams.query.dependencies import Known
from streams.query.highlights import Span, highlights

MAX_TEXT = 100_000
"""Characters of pasted text; a longer article is drafted offline with `timeline draft FILE`."""
MAX_BODY = 1_000_000
"""Bytes of request body: the text at most, JSON-escaped, and its source."""
MAX_WAITING = 4
"""Drafts queued on a worker's drafting thread before it answers 503."""


class DraftRequest(BaseModel):
    """A pasted news text and the source it came from (as `timeline draft` takes them)."""

    text: str
    published: str = Field(description="The article's publication day, YYYY-MM-DD.")
    outlet: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class DraftedEvent(BaseModel):
    event: dict[str, Any] = Field(description="The line `timeline draft` writes, `draft` marker included.")
    spans: list[Span]


class DraftAnswer(BaseModel):
    drafts: list[DraftedEvent]
    unknown_people: list[dict[str, str]] = Field(description="Named people not in the registry.")


class Drafting:
    """The worker's drafting thread, and how many drafts wait for it."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draft")
        self.waiting = 0


router = APIRouter()


def drafting_of(request: Request) -> Drafting:
    drafting: Drafting | None = getattr(request.app.state, "drafting", None)
    if drafting is None:
        drafting = request.app.state.drafting = Drafting()
    return drafting


async def read_request(request: Request) -> DraftRequest:
    """The body, read no further than `MAX_BODY` bytes; 413 past it, 422 when it is not a request."""
    too_large = HTTPException(
        413, f"the request is over {MAX_BODY:,} bytes: paste at most {MAX_TEXT:,} characters"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HTTPException(422, f"the body is not JSON: {error}") from None
    try:
        return DraftRequest.model_validate(document)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def compose(wanted: DraftRequest, day: date, registry: Registry) -> DraftAnswer:
    """The drafts and their spans (on the drafting thread: pure, it reads only its arguments)."""
    from streams.drafting.compose import draft_events

    source: dict[str, Any] | None = None
    if wanted.outlet:
        source = {"outlet": wanted.outlet, "published_at": day.isoformat()}
        source |= {key: value for key, value in (("title", wanted.title), ("url", wanted.url)) if value}
    events, proposals = draft_events(wanted.text, day, registry, source)
    drafts = [
        DraftedEvent(event=event, spans=spans)
        for event, spans in zip(events, highlights(events, wanted.text), strict=True)
    ]
    people = [{"id": p.actor_id, "name": p.name, "command": p.command()} for p in proposals]
    return DraftAnswer(drafts=drafts, unknown_people=people)


@router.post(
    "/draft",
    response_model=DraftAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DraftRequest.model_json_schema()}},
        }
    },
)
async def draft(request: Request, registry: Known) -> Any:
    """Draft events from a pasted text, with the spans of their evidence: nothing is published."""
    wanted = await read_request(request)
    if len(wanted.text) > MAX_TEXT:
        raise HTTPException(
            413,
            f"the text has {len(wanted.text):,} characters; the Draft view takes at most {MAX_TEXT:,}"
            " (split it, or run 'timeline draft FILE')",
        )
    try:
        day = date.fromisoformat(wanted.published)
    except ValueError:
        raise HTTPException(422, f"published: {wanted.published!r} is not a day: write YYYY-MM-DD") from None
    if (wanted.title or wanted.url) and not wanted.outlet:
        raise HTTPException(422, "title and url describe a source: give its outlet too")
    # The registry as it is now, taken on the loop (the reader updates it there), without the
    # retired ids a publisher would refuse: `timeline draft` drafts against the same view.
    retired: frozenset[str] = getattr(registry, "retired", frozenset())
    snapshot = Registry(actors=dict(registry.actors), issues=dict(registry.issues), retired=retired)
    snapshot = snapshot.without_retired()
    drafting = drafting_of(request)
    if drafting.waiting >= MAX_WAITING:
        raise HTTPException(
            503, "this worker is drafting other texts: try again", headers={"Retry-After": "1"}
        )
    drafting.waiting += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(drafting.executor, compose, wanted, day, snapshot)
    finally:
        drafting.waiting -= 1

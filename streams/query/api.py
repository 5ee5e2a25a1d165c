"""The query API, served by the worker (FastAPI; OpenAPI at /docs).

Response models are the schemas themselves. Until the worker's view has
caught up with the changelogs every data endpoint answers 503 with
Retry-After, never a stale or empty answer.

Handlers are `async def`: they read the view on the loop that feeds it, so no
query sees a dict mid-update, and no request hops to a thread pool.

This module only assembles the app; the routes live in `streams.query.routes`,
one router per resource, and read the view and registry stored on `app.state`.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from schemas.registry import Registry
from streams.query.routes import actors, changes, digests, events, issues, page, stances, state
from streams.query.view import StanceView

ROUTERS = (page, state, actors, stances, digests, issues, changes, events)


def create_api(view: StanceView, registry: Registry) -> FastAPI:
    api = FastAPI(
        title="diplomatic-timeline",
        description="Stances of actors on issues, folded from the diplomatic event log.",
        version="0.1.0",
    )
    api.state.view = view
    api.state.registry = registry
    api.mount("/static", StaticFiles(directory=str(page.WEB)), name="static")
    for module in ROUTERS:
        api.include_router(module.router)
    return api

"""/issues: the registry's issues, and every actor's current stance on one of them."""

from typing import Any

from fastapi import APIRouter

from schemas.issues import Issue
from schemas.stances import Stance
from streams.query.dependencies import Known, PathIssue, Ready
from streams.query.paging import DEFAULT_LIMIT, Cursor, Limit, Page, page_of
from streams.query.routes.stances import matrix

router = APIRouter()


@router.get("/issues", response_model=Page[Issue])
async def issues(registry: Known, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Any:
    return page_of(sorted(registry.issues.values(), key=lambda i: i.id), lambda i: [i.id], cursor, limit)


@router.get("/issues/{issue_id}/stances", response_model=Page[Stance])
async def issue_stances(
    context: Ready, issue: PathIssue, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Any:
    """Every actor's current stance on the issue, gathered from every worker, by actor."""
    return await matrix(context, as_of=None, issue=issue.id, limit=limit, cursor=cursor)

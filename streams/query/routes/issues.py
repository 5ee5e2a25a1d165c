"""/issues: the registry's issues, and every actor's current stance on one of them."""

from typing import Any

from fastapi import APIRouter

from schemas.issues import Issue
from schemas.stances import Stance
from streams.query.dependencies import Known, PathIssue, Ready

router = APIRouter()


@router.get("/issues", response_model=list[Issue])
async def issues(registry: Known) -> Any:
    return sorted(registry.issues.values(), key=lambda issue: issue.id)


@router.get("/issues/{issue_id}/stances", response_model=list[Stance])
async def issue_stances(view: Ready, issue: PathIssue) -> Any:
    return view.stances_on(issue.id)

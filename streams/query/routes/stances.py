"""/stances: the stance matrix, every actor on every issue.

A router of its own rather than a part of issues.py: the matrix is neither one
actor's nor one issue's, and it reads only the view, never the registry.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from schemas.stances import Stance
from streams.query.dependencies import Ready, end_of

router = APIRouter()


@router.get("/stances", response_model=list[Stance])
async def all_stances(
    view: Ready,
    as_of: Annotated[str | None, Query(description="A date or an instant: the stances then.")] = None,
) -> Any:
    """Every actor's stance on every issue (the stance matrix)."""
    return view.all_stances(end_of(as_of) if as_of else None)

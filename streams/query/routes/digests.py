"""/digests/latest: the newest digest the view has read from the digest topic."""

from typing import Any

from fastapi import APIRouter, HTTPException

from schemas.digests import Digest
from streams.query.dependencies import Ready

router = APIRouter()


@router.get("/digests/latest", response_model=Digest)
async def latest_digest(view: Ready, subscription: str | None = None) -> Any:
    """The most recent digest on the digest topic (of one subscription, or of any)."""
    digests = view.latest_digests
    if subscription is not None:
        found = digests.get(subscription)
    else:
        found = max(digests.values(), key=lambda d: d.window_end, default=None)
    if found is None:
        raise HTTPException(
            404, "no digest has been published yet" + (f" for {subscription!r}" if subscription else "")
        )
    return found

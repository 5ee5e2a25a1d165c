"""/digests/latest: the newest digest on the digest topic, as the worker's `DigestFeed` keeps it."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from schemas.digests import Digest
from streams.query.digest_feed import DigestFeed

router = APIRouter()


async def digest_feed(request: Request) -> DigestFeed:
    """The worker's digest feed (`app.state.digests`) once it has read the topic to where it
    stood at start; until then (or in an app built without one) 503 with Retry-After, never a
    stale answer."""
    feed: DigestFeed | None = getattr(request.app.state, "digests", None)
    if feed is None or not feed.ready:
        raise HTTPException(
            503, "the digests are still being read from the digest topic", headers={"Retry-After": "1"}
        )
    return feed


Digests = Annotated[DigestFeed, Depends(digest_feed)]


@router.get("/digests/latest", response_model=Digest)
async def latest_digest(feed: Digests, subscription: str | None = None) -> Any:
    """The most recent digest on the digest topic (of one subscription, or of any)."""
    found = feed.newest(subscription)
    if found is None:
        raise HTTPException(
            404, "no digest has been published yet" + (f" for {subscription!r}" if subscription else "")
        )
    return found

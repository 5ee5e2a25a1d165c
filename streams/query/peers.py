"""Which worker holds a partition, and asking it: forwarding one-key queries, gathering the rest.

Every worker publishes its query URL in the consumer group's metadata (faust's
`canonical_url`), and the group leader hands every member the map of which URL
holds which changelog partitions as active (`assignor.changelog_distribution`).
A query for one actor or event goes to the holder of murmur2(key) mod P, as the
topics place keys; faust's own `table_route` is not used, since it hashes the
table key, and the stance tables are placed by actor (faust #187, #514).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import faust
from fastapi import HTTPException, Request
from fastapi.responses import Response

from streams.kafka.partitioner import partition_of

FORWARDED = "X-Timeline-Forwarded"
"""Set on a request one worker sends another: the receiver answers itself or says 503."""
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


def recovering(detail: str) -> HTTPException:
    return HTTPException(503, detail, headers={"Retry-After": "1"})


class Peers:
    """The group's workers as this one sees them, and an HTTP session to reach them."""

    def __init__(self, app: faust.App, url: str, changelogs: Mapping[str, str], partitions: int) -> None:
        self.app = app
        self.url = url.rstrip("/")
        self.changelogs = changelogs
        """store name -> its changelog topic."""
        self.partitions = partitions
        self._session: aiohttp.ClientSession | None = None
        self.headers: dict[str, str] = {}
        """Sent with every request to a peer (the API token, when one is set)."""

    def distribution(self) -> dict[str, dict[str, list[int]]]:
        """URL -> changelog topic -> active partitions, from the last assignment."""
        assignor: Any = self.app.assignor  # faust's PartitionAssignor (its interface lacks the map)
        found: dict[str, dict[str, list[int]]] = dict(assignor.changelog_distribution)
        return {url.rstrip("/"): topics for url, topics in found.items()}

    def owner(self, store: str, partition: int) -> str | None:
        topic = self.changelogs[store]
        for url, topics in self.distribution().items():
            if partition in topics.get(topic, ()):
                return url
        return None

    def owner_of_key(self, store: str, routing_key: str) -> tuple[int, str | None]:
        partition = partition_of(routing_key.encode(), self.partitions)
        return partition, self.owner(store, partition)

    def others(self) -> list[str]:
        return sorted(url for url in self.distribution() if url != self.url)

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers=self.headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, request: Request, url: str) -> Response:
        """The owner's answer to this very request, passed on as it came (status, body, type)."""
        query = request.url.query
        status, body, headers, content_type = await self.relay(
            url, request.url.path + (f"?{query}" if query else "")
        )
        return Response(body, status, headers, media_type=content_type)

    async def relay(self, url: str, path: str) -> tuple[int, bytes, dict[str, str], str]:
        """GET `path` (with its query) from the worker at `url`: status, body, headers to pass on, type."""
        try:
            session = await self.session()
            async with session.get(url + path, headers={FORWARDED: "1"}, allow_redirects=False) as answer:
                body = await answer.read()
                headers = {"X-Timeline-Served-By": url}
                if "Retry-After" in answer.headers:
                    headers["Retry-After"] = answer.headers["Retry-After"]
                return answer.status, body, headers, answer.content_type
        except (TimeoutError, aiohttp.ClientError) as error:
            raise recovering(f"the worker at {url} holding this key did not answer ({error})") from error

    async def ask(self, url: str, path: str, params: Mapping[str, str]) -> Any:
        """GET a peer's internal endpoint; its 503 (or no answer) becomes ours."""
        try:
            session = await self.session()
            async with session.get(url + path, params=dict(params), headers={FORWARDED: "1"}) as answer:
                if answer.status == 503:
                    raise recovering(f"the worker at {url} is recovering")
                if answer.status != 200:
                    raise HTTPException(502, f"the worker at {url} answered {answer.status} to {path}")
                return await answer.json()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise recovering(f"the worker at {url} did not answer ({error})") from error


def is_forwarded(request: Request) -> bool:
    return request.headers.get(FORWARDED) == "1"

"""A small HTTP client for the worker's query API, for the CLI and scripts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class QueryError(RuntimeError):
    """The API could not answer; the message says why (not running, 404, 503 ...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def get_json(
    base_url: str,
    path: str,
    params: dict[str, str | None] | None = None,
    timeout: float = 10,
    token: str | None = None,
) -> Any:
    """GET one answer; `token` is sent as `Authorization: Bearer` (TIMELINE_API_TOKEN)."""
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
    url = f"{base_url}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read()).get("detail")
        except (ValueError, AttributeError):
            detail = error.reason
        raise QueryError(f"{error.code} from {url}: {detail}", error.code) from error
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise QueryError(
            f"no worker answers at {base_url} ({reason}): start one with 'timeline worker' or 'make run'"
        ) from error


def get_items(
    base_url: str,
    path: str,
    params: dict[str, str | None] | None = None,
    timeout: float = 10,
    token: str | None = None,
    limit: int = 1000,
) -> list[Any]:
    """Every item of a paged list: follows `next` until the last page."""
    found: list[Any] = []
    cursor: str | None = None
    while True:
        page = get_json(
            base_url, path, {**(params or {}), "limit": str(limit), "cursor": cursor}, timeout, token
        )
        found += page["items"]
        if (cursor := page["next"]) is None:
            return found


def wait_until_ready(base_url: str, timeout: float = 120, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait for /health to say ready; raise QueryError with the last answer if it never does.

    `alive` is asked between tries, so a worker that died is reported at once.
    """
    deadline = time.monotonic() + timeout
    last: QueryError | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise QueryError(f"the worker for {base_url} exited before it was ready")
        try:
            get_json(base_url, "/health", timeout=2)
            return
        except QueryError as error:
            last = error
            time.sleep(0.3)
    raise QueryError(f"the worker at {base_url} was not ready within {timeout:.0f}s: {last}")

"""Real worker processes (`timeline worker`) for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from streams.clients.publisher import Publisher
from streams.query.client import QueryError, get_items, get_json, wait_until_ready
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import free_port


def environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.environment()}


class WorkerProcess:
    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_path = log_dir / f"worker-{settings.web_port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=environment(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 120) -> WorkerProcess:
        process = self.process
        assert process is not None
        try:
            wait_until_ready(self.settings.api, timeout, alive=lambda: process.poll() is None)
        except QueryError as error:
            raise AssertionError(f"{error}\n{self.log_tail()}") from error
        return self

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    @property
    def token(self) -> str | None:
        token = self.settings.api_token
        return token.get_secret_value() if token is not None else None

    def get(self, path: str, **params: str | None) -> Any:
        return get_json(self.settings.api, path, params, token=self.token)

    def items(self, path: str, **params: str | None) -> list[Any]:
        """Every item of a paged list (`{"items", "next"}`), following `next`."""
        return get_items(self.settings.api, path, params, token=self.token)

    def wait_for_items(self, path: str, check: Any, timeout: float = 45, **params: str | None) -> list[Any]:
        """Poll a paged list until `check(items)` is true; return the items."""
        page: Any = self.wait_for(path, lambda page: check(page["items"]), timeout, limit="1000", **params)
        return list(page["items"])

    def wait_for(self, path: str, check: Any, timeout: float = 45, **params: str | None) -> Any:
        """Poll an endpoint until `check(answer)` is true; return the answer."""
        deadline = time.monotonic() + timeout
        answer: Any = None
        while time.monotonic() < deadline:
            try:
                answer = self.get(path, **params)
                if check(answer):
                    return answer
            except QueryError as error:
                answer = error
            time.sleep(0.25)
        raise AssertionError(f"{path} never satisfied the check; last answer: {answer!r}\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(45)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def all_changes(worker: WorkerProcess, since: str | None = None) -> list[dict[str, Any]]:
    """Every change `GET /changes` serves, following `next` page by page."""
    page = worker.get("/changes", since=since, limit="1000")
    found: list[dict[str, Any]] = page["items"]
    while page["next"] is not None:
        page = worker.get("/changes", cursor=page["next"], limit="1000")
        found += page["items"]
    return found


def wait_for_changes(
    worker: WorkerProcess, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 45
) -> list[dict[str, Any]]:
    """Poll every page of /changes until `check(changes)` is true; return the changes."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            found = all_changes(worker)
            if check(found):
                return found
        except QueryError:
            pass
        time.sleep(0.25)
    raise AssertionError(
        f"/changes never satisfied the check; last: {len(found)} changes\n{worker.log_tail()}"
    )


def seed_lines(repo: Path) -> list[bytes]:
    """The seed events, one encoded event per line."""
    return [line for line in (repo / "seed" / "events.jsonl").read_bytes().splitlines() if line]


def seed_folded(lines: list[bytes]) -> Callable[[dict[str, Any]], bool]:
    """A check on /health or /state/hash: every seed event and every claim of it is in the view.

    Claims reach the view a hop after their event (through the claims topic and
    the stance agent), so a count of events alone can pass before the state is
    complete. The seed holds no retraction: every claim it makes stays.
    """
    claims = sum(len(orjson.loads(line).get("stances", [])) for line in lines)
    return lambda state: state["events"] == len(lines) and state["claims"] == claims


async def publish(settings: Settings, events: list[Any]) -> None:
    async with Publisher(settings) as publisher:
        await publisher.publish_many(events)


def own_settings(broker_settings: Settings, home: Path, prefix: str, **extra: object) -> Settings:
    """Settings for one test module: the session broker, its own topics, web port and home."""
    return broker_settings.model_copy(
        update={"topic_prefix": prefix, "web_port": free_port(), "home": home, **extra}
    )


def start_seeded_worker(settings: Settings, repo: Path, log_dir: Path | None = None) -> WorkerProcess:
    """Topics, a ready worker, and the seed published and folded into its tables.

    A worker that never gets there is stopped before the error is raised: a fixture whose
    setup fails has no teardown, and the process would outlive the test run.
    """
    asyncio.run(ensure_topics(settings))
    worker = WorkerProcess(settings, log_dir or settings.home).start()
    try:
        worker.wait_ready()
        lines = seed_lines(repo)
        asyncio.run(publish(settings, lines))
        worker.wait_for("/state/hash", seed_folded(lines))
    except BaseException:
        worker.stop()
        raise
    return worker

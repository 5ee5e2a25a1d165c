"""The hardened sinks in the real scheduler process: a key from the environment, one sink failing alone."""

from __future__ import annotations

import asyncio
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from scheduler.ledger import Ledger
from streams.clients.webhooks import verify_signature
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import free_port
from tests.integration.workers import environment, own_settings

pytestmark = pytest.mark.integration

KEY = "k3y-from-the-environment"
OK_TOKEN, BROKEN_TOKEN = "tok-ok-5b1c", "tok-broken-77ad"


class Receiver:
    """Answers /ok/… with 204 and /broken/… with 500; keeps what each request carried."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes, str | None, str | None]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp, signed = self.headers["X-Timeline-Timestamp"], self.headers["X-Timeline-Signature"]
                receiver.received.append((self.path, body, stamp, signed))
                self.send_response(204 if self.path.startswith("/ok/") else 500)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"


def timeline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=environment(settings) | {"HOOK_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(0.2)


def ledger_rows(path: Path, query: str) -> list[tuple[str, ...]]:
    if not path.exists():
        return []
    ledger = Ledger(path)
    try:
        return [tuple(row) for row in ledger.connection.execute(query).fetchall()]
    finally:
        ledger.close()


def test_signed_from_the_environment_and_a_bad_sink_fails_alone_with_urls_redacted(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # A login with no password file: the SMTP sink cannot be set up, on every run.
    settings = own_settings(
        broker.settings, tmp_path, "hook.", digest_grace_seconds=0.5, sink_attempts=1, smtp_username="digests"
    )
    asyncio.run(ensure_topics(settings))
    receiver = Receiver()
    ok_url, broken_url = f"{receiver.base}/ok/{OK_TOKEN}", f"{receiver.base}/broken/{BROKEN_TOKEN}"
    added = timeline(
        settings, "digest", "add", "hooked", "--every", "2s", "--sink", f"webhook:{ok_url}",
        "--sink", f"webhook:{broken_url}", "--sink", "smtp:127.0.0.1:1/desk@example.org",
        "--secret-env", "HOOK_KEY",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    stored = settings.subscriptions_path.read_text()
    assert stat.S_IMODE(settings.subscriptions_path.stat().st_mode) == 0o600 and KEY not in stored
    assert [s.get("secret_env") for s in yaml.safe_load(stored)["subscriptions"][0]["sinks"]] == [
        "HOOK_KEY",
        "HOOK_KEY",
        None,
    ]
    ledger = settings.scheduler_dir / "ledger.sqlite"
    log = tmp_path / "scheduler.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "scheduler"],
            env=environment(settings) | {"HOOK_KEY": KEY},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: any(path.startswith("/ok/") for path, *_ in receiver.received), "a delivery")
        wait_until(
            lambda: (
                {row[0].split(":")[0] for row in ledger_rows(ledger, "SELECT sink_id FROM failures")}
                == {"webhook", "smtp"}
            ),
            "the two failures in the ledger",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert receiver.received and all(
        verify_signature(KEY, body, stamp, signed) for _, body, stamp, signed in receiver.received
    )
    delivered = ledger_rows(ledger, "SELECT DISTINCT sink_id FROM deliveries")
    assert delivered == [(f"webhook:{ok_url}",)]  # the ledger keeps full ids: old ledgers stay valid
    errors = " ".join(row[0] for row in ledger_rows(ledger, "SELECT last_error FROM failures"))
    assert "cannot set up the sink" in errors and "go together" in errors and "answered 500" in errors
    text = log.read_text()
    assert "webhook:http://127.0.0.1/… failed" in text and BROKEN_TOKEN not in text

    again = timeline(settings, "digest", "run", "hooked")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "to webhook:http://127.0.0.1/…: SinkError: webhook answered 500" in again.stderr
    assert "to smtp:127.0.0.1:1/desk@example.org: cannot set up the sink" in again.stderr
    assert BROKEN_TOKEN not in again.stderr + again.stdout and OK_TOKEN not in again.stderr + again.stdout
    listed = timeline(settings, "digest", "list")
    assert "webhook:http://127.0.0.1/…, webhook:http://127.0.0.1/…, smtp:" in listed.stdout
    receiver.server.shutdown()


@pytest.fixture(autouse=True)
def _no_stray_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key reaches the scheduler only through its own environment, as in production."""
    monkeypatch.delenv("HOOK_KEY", raising=False)

"""What each sink does with a digest it is given again (a scheduler killed between a send and
the ledger's record): the file sink and the ledger's send marks keep it once, SMTP names it."""

from __future__ import annotations

import asyncio
import datetime as dt
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from scheduler.ledger import Ledger
from scheduler.sinks import FileSink, SmtpSink
from schemas.digests import Digest
from schemas.subscriptions import SinkConfig
from streams.settings import Settings
from tests.integration.conftest import free_port

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DIGEST = Digest(
    digest_id="dig-once",
    subscription_id="once",
    window_start=START,
    window_end=START + dt.timedelta(hours=1),
    generated_at=START + dt.timedelta(hours=1),
    text="Digest once: 1 stance change\n",
    markdown="# Digest once\n",
    html="<p>Digest once</p>",
)


def test_the_file_sink_writes_a_digest_once_and_leaves_the_file_alone_when_given_it_again(
    tmp_path: Path,
) -> None:
    sink = FileSink(SinkConfig(kind="file", target=str(tmp_path)))
    asyncio.run(sink.deliver(DIGEST))
    path = sink.path_for(DIGEST)
    first = path.stat()
    rebuilt = DIGEST.model_copy(update={"markdown": "# another rendering of the same digest id\n"})
    asyncio.run(sink.deliver(rebuilt))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_text("utf-8") == DIGEST.markdown
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    other = DIGEST.model_copy(
        update={
            "digest_id": "dig-next",
            "window_start": DIGEST.window_end,
            "window_end": START + dt.timedelta(hours=2),
        }
    )
    asyncio.run(sink.deliver(other))
    assert len(list(tmp_path.iterdir())) == 2


def test_the_ledger_keeps_the_first_send_mark_and_forgets_it_with_its_digest(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", retention=dt.timedelta(hours=1))
    try:
        assert ledger.send_mark("dig-once", "topic", 2, 40) == 40
        assert ledger.send_mark("dig-once", "topic", 2, 57) == 40  # a later try reads from the first mark
        assert ledger.send_mark("dig-once", "topic:other", 2, 57) == 57
        ledger.store(DIGEST)
        for window in range(1, 4):
            later = DIGEST.model_copy(
                update={
                    "digest_id": f"dig-{window}",
                    "window_start": START + dt.timedelta(hours=window),
                    "window_end": START + dt.timedelta(hours=window + 1),
                }
            )
            ledger.store(later)
        ledger.delivered("dig-once", "topic")
        ledger.prune("once", ["topic"])
        assert ledger.send_mark("dig-once", "topic", 2, 99) == 99
    finally:
        ledger.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def test_an_email_sent_twice_carries_the_digest_id_and_one_message_id() -> None:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        sink = SmtpSink(SinkConfig(kind="smtp", target=f"127.0.0.1:{smtp.port}/a@example.org"), Settings())
        asyncio.run(sink.deliver(DIGEST))
        asyncio.run(sink.deliver(DIGEST))  # at least once: the receiver drops the repeat by these
    finally:
        smtp.stop()
    assert [m["X-Timeline-Digest-Id"] for m in mailbox.messages] == ["dig-once", "dig-once"]
    assert {m["Message-ID"] for m in mailbox.messages} == {"<dig-once@diplomatic-timeline.invalid>"}

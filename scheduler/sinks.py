"""Where digests go: stdout, a folder, the `diplomacy.digests` topic, a webhook, SMTP.

Each digest is delivered once where the sink can tell it has it (the file by its name,
the topic by reading for the digest id) and at least once, with the digest id for the
receiver to drop a repeat, where it cannot (webhook, SMTP): README "Digests".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar, Protocol

from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from schemas.digests import Digest
from schemas.subscriptions import SINK_KINDS, SinkConfig, parse_smtp_target, redact_url
from streams.clients import webhooks
from streams.kafka import connection
from streams.kafka.metadata import topic_partitions
from streams.settings import Settings


class SinkError(RuntimeError):
    pass


class Sink(Protocol):
    config: SinkConfig

    async def deliver(self, digest: Digest) -> None: ...


def body_of(digest: Digest, fmt: str) -> str:
    text = {"text": digest.text, "markdown": digest.markdown, "html": digest.html}[fmt]
    assert text is not None, "digests are rendered before delivery"
    return text


class StdoutSink:
    def __init__(self, config: SinkConfig) -> None:
        self.config = config

    async def deliver(self, digest: Digest) -> None:
        sys.stdout.write(body_of(digest, self.config.format) + "\n")
        sys.stdout.flush()


class FileSink:
    """One file per digest in a folder, written atomically and only once.

    The name is (subscription, window), which is what the digest id hashes: a file that is
    there already is this digest, written by a run that stopped before the ledger noted it.
    """

    SUFFIX: ClassVar[dict[str, str]] = {"text": "txt", "markdown": "md", "html": "html"}

    def __init__(self, config: SinkConfig) -> None:
        if not config.target:
            raise SinkError("a file sink needs a folder: file:PATH")
        self.config = config
        self.folder = Path(config.target)

    def path_for(self, digest: Digest) -> Path:
        stamp = f"{digest.window_start:%Y%m%dT%H%M%SZ}-{digest.window_end:%Y%m%dT%H%M%SZ}"
        return self.folder / f"{digest.subscription_id}-{stamp}.{self.SUFFIX[self.config.format]}"

    async def deliver(self, digest: Digest) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path_for(digest)
        if path.is_file():
            return  # delivered before: a rename is atomic, so a file there is whole
        partial = path.with_suffix(path.suffix + ".partial")
        try:
            partial.write_text(body_of(digest, self.config.format), "utf-8")
            os.replace(partial, path)
        except BaseException:
            # A half-written file would sit beside the digests forever; the retry writes it again.
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise


MAX_DIGEST_BYTES = 32 * 1024 * 1024
"""The largest digest (as JSON, before compression) the topic sink sends."""


class SendMarks(Protocol):
    """Where a topic delivery may have landed: the ledger keeps the first mark of each."""

    def send_mark(self, digest_id: str, sink_id: str, partition: int, offset: int) -> int: ...


class MemoryMarks:
    """Marks for one process (a sink made outside the runner): fences its own retries only."""

    def __init__(self) -> None:
        self.marks: dict[tuple[str, str, int], int] = {}

    def send_mark(self, digest_id: str, sink_id: str, partition: int, offset: int) -> int:
        return self.marks.setdefault((digest_id, sink_id, partition), offset)


FENCE_READ_SECONDS = 60.0
"""How long the topic sink may take to read its partition from the mark before it gives up."""


class TopicSink:
    """The Digest as JSON on `diplomacy.digests`, keyed by subscription id, once per digest id.

    Before sending, it marks the partition's end offset (the first mark stays, in the ledger)
    and reads from there for a record with this digest id: a send that landed before a crash
    or a lost acknowledgement is found, not repeated. A check, not a transaction: only a send
    the broker appends after the check has read (still in flight then) would be repeated.
    """

    def __init__(self, config: SinkConfig, settings: Settings, marks: SendMarks | None = None) -> None:
        self.config = config
        self.settings = settings
        self.marks: SendMarks = marks or MemoryMarks()

    def fence_with(self, marks: SendMarks) -> None:
        """Keep the marks where a restarted scheduler finds them (the runner gives its ledger)."""
        self.marks = marks

    async def deliver(self, digest: Digest) -> None:
        partition = await self.partition_to_send(digest)
        if partition is None:
            return
        producer = connection.producer(
            self.settings,
            acks="all",
            enable_idempotence=True,
            # A busy window's digest (text, Markdown and HTML of every change) can pass 1 MB,
            # the default request and topic limit, and then failed on every retry; compressed,
            # it fits (found by `make soak`: docs/reliability.md).
            compression_type="gzip",
            max_request_size=MAX_DIGEST_BYTES,
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                self.settings.topics.digests,
                digest.model_dump_json().encode(),
                key=digest.subscription_id.encode(),
                partition=partition,
                headers=[("digest_id", digest.digest_id.encode())],
            )
        finally:
            await producer.stop()

    async def partition_to_send(self, digest: Digest) -> int | None:
        """The key's partition, marked; None if this digest id is there since the first mark."""
        topic = self.settings.topics.digests
        key = digest.subscription_id.encode()
        wanted = digest.digest_id.encode()
        consumer = connection.consumer(
            self.settings, enable_auto_commit=False, max_partition_fetch_bytes=MAX_DIGEST_BYTES
        )
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, topic)
            if not partitions:
                raise SinkError(f"the digest topic {topic} does not exist")
            # the producer's own choice for the key, made here so the mark and the send agree
            partition: int = DefaultPartitioner()(key, [p.partition for p in partitions], [])
            where = TopicPartition(topic, partition)
            consumer.assign([where])
            end = (await consumer.end_offsets([where]))[where]
            mark = self.marks.send_mark(digest.digest_id, self.config.sink_id, partition, end)
            start = max(mark, (await consumer.beginning_offsets([where]))[where])
            if start >= end:
                return partition
            consumer.seek(where, start)
            deadline = asyncio.get_running_loop().time() + FENCE_READ_SECONDS
            while await consumer.position(where) < end:
                if asyncio.get_running_loop().time() > deadline:
                    raise SinkError(
                        f"could not read {topic} from offset {start} to look for {digest.digest_id}"
                    )
                for record in (await consumer.getmany(where, timeout_ms=500)).get(where, []):
                    if record.key == key and dict(record.headers).get("digest_id") == wanted:
                        return None
            return partition
        finally:
            await consumer.stop()


signature = webhooks.signature
"""The signature header value (streams/clients/webhooks.py, where receivers find `verify_signature`)."""


class WebhookSink:
    """HTTP POST of the Digest JSON, signed over a timestamp and the body when a secret is set.

    Redirects are not followed: aiohttp would turn the POST into a GET, and a
    hook that moved should be configured again, not chased.
    """

    def __init__(self, config: SinkConfig) -> None:
        if not config.target or not config.target.startswith(("http://", "https://")):
            raise SinkError("a webhook sink needs a URL: webhook:https://...")
        self.config = config
        self.url = config.target

    def secret(self) -> str | None:
        """The HMAC key, read at each send: a named variable that is unset fails, never sends unsigned."""
        if self.config.secret_env is None:
            return self.config.secret
        value = os.environ.get(self.config.secret_env, "")
        if not value.strip():
            raise SinkError(
                f"the webhook secret variable {self.config.secret_env} is unset or empty in the scheduler's"
                " environment: not sending unsigned"
            )
        return value

    async def deliver(self, digest: Digest) -> None:
        import aiohttp

        body = digest.model_dump_json().encode()
        headers = {"Content-Type": "application/json", "X-Timeline-Digest-Id": digest.digest_id}
        secret = self.secret()
        if secret is not None:
            headers |= webhooks.signed_headers(secret, body)
        timeout = aiohttp.ClientTimeout(total=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.url, data=body, headers=headers, allow_redirects=False) as response,
        ):
            if 300 <= response.status < 400:
                location = response.headers.get("Location")
                where = (redact_url(location) if "://" in location else "/…") if location else "nowhere"
                raise SinkError(
                    f"webhook answered {response.status} (a redirect to {where}): redirects are not followed,"
                    " set the sink to the final URL"
                )
            if response.status >= 400:
                raise SinkError(f"webhook answered {response.status}: {(await response.text())[:200]}")


class SmtpSink:
    """An email with the text and HTML renderings; target `host[:port]/to@address`.

    TIMELINE_SMTP_SECURITY picks plain, STARTTLS or TLS; a login (username and
    password file, read at each send) is refused over plain SMTP.
    """

    def __init__(self, config: SinkConfig, settings: Settings) -> None:
        try:
            self.host, self.port, self.recipient = parse_smtp_target(config.target or "")
        except ValueError as error:
            raise SinkError(str(error)) from error
        self.config = config
        self.sender = settings.smtp_from
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password_file = settings.smtp_password_file
        if (self.username is None) != (self.password_file is None):
            raise SinkError(
                "TIMELINE_SMTP_USERNAME and TIMELINE_SMTP_PASSWORD_FILE go together:"
                " set both to log in, neither to send without a login"
            )
        if self.username is not None and self.security == "none":
            raise SinkError(
                "an SMTP login needs TIMELINE_SMTP_SECURITY=starttls or tls:"
                " with 'none' the password would cross the network in clear"
            )

    def password(self) -> str | None:
        """The password, read from its file at each send (so a rotated one is picked up)."""
        if self.password_file is None:
            return None
        try:
            password = self.password_file.read_text("utf-8").rstrip("\r\n")
        except OSError as error:
            raise SinkError(
                f"cannot read TIMELINE_SMTP_PASSWORD_FILE {self.password_file}: {error.strerror}"
            ) from error
        if not password:
            raise SinkError(f"TIMELINE_SMTP_PASSWORD_FILE {self.password_file} is empty")
        return password

    async def deliver(self, digest: Digest) -> None:
        import aiosmtplib

        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.recipient
        message["Subject"] = (digest.text or "").splitlines()[0]
        message["X-Timeline-Digest-Id"] = digest.digest_id
        # the same Message-ID on a repeat (at least once): mail stores and receivers drop it by that
        message["Message-ID"] = f"<{digest.digest_id}@diplomatic-timeline.invalid>"
        message.set_content(body_of(digest, "text"))
        message.add_alternative(body_of(digest, "html"), subtype="html")
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,  # None: 25, 587 with STARTTLS, 465 with TLS
            username=self.username,
            password=self.password(),
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=15,
        )


def make_sink(config: SinkConfig, settings: Settings) -> Sink:
    if config.kind == "stdout":
        return StdoutSink(config)
    if config.kind == "file":
        return FileSink(config)
    if config.kind == "topic":
        return TopicSink(config, settings)
    if config.kind == "webhook":
        return WebhookSink(config)
    if config.kind == "smtp":
        return SmtpSink(config, settings)
    raise ValueError(f"unknown sink kind {config.kind!r} (known: {', '.join(SINK_KINDS)})")


def describe_failure(failure: BaseException, config: SinkConfig) -> str:
    """A failure as the ledger, the log and the CLI show it: a webhook's URL redacted wherever it appears."""
    text = f"{type(failure).__name__}: {failure}"
    if config.kind == "webhook" and config.target:
        from yarl import URL

        spellings = {config.target}  # as configured, and as aiohttp normalises it
        with contextlib.suppress(ValueError):
            spellings.add(str(URL(config.target)))
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, redact_url(config.target))
    return text


async def deliver_with_retries(
    sink: Sink, digest: Digest, attempts: int = 3, first_delay: float = 0.5
) -> str | None:
    """Deliver, retrying with exponential backoff; return None on success or the last error."""
    error = "not attempted"
    for attempt in range(attempts):
        try:
            await sink.deliver(digest)
            return None
        except Exception as failure:  # noqa: BLE001 - every sink failure is retried, then reported
            error = describe_failure(failure, sink.config)
            if attempt + 1 < attempts:
                await asyncio.sleep(first_delay * 2**attempt)
    return error

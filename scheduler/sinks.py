"""Where digests go: stdout, a folder, the `diplomacy.digests` topic, a webhook, SMTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar, Protocol

from schemas.digests import Digest
from schemas.subscriptions import SINK_KINDS, SinkConfig
from streams.kafka import connection
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
    """One file per digest in a folder, written atomically."""

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
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(body_of(digest, self.config.format), "utf-8")
        os.replace(partial, path)


MAX_DIGEST_BYTES = 32 * 1024 * 1024
"""The largest digest (as JSON, before compression) the topic sink sends."""


class TopicSink:
    """The Digest as JSON on `diplomacy.digests`, keyed by subscription id."""

    def __init__(self, config: SinkConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    async def deliver(self, digest: Digest) -> None:

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
                headers=[("digest_id", digest.digest_id.encode())],
            )
        finally:
            await producer.stop()


def signature(secret: str, body: bytes) -> str:
    """The webhook signature header value: `sha256=` + HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSink:
    """HTTP POST of the Digest JSON, signed with HMAC-SHA256 when a secret is set."""

    def __init__(self, config: SinkConfig) -> None:
        if not config.target or not config.target.startswith(("http://", "https://")):
            raise SinkError("a webhook sink needs a URL: webhook:https://...")
        self.config = config

    async def deliver(self, digest: Digest) -> None:
        import aiohttp

        body = digest.model_dump_json().encode()
        headers = {"Content-Type": "application/json", "X-Timeline-Digest-Id": digest.digest_id}
        if self.config.secret:
            headers["X-Timeline-Signature"] = signature(self.config.secret, body)
        timeout = aiohttp.ClientTimeout(total=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.config.target or "", data=body, headers=headers) as response,
        ):
            if response.status >= 300:
                raise SinkError(f"webhook answered {response.status}: {(await response.text())[:200]}")


class SmtpSink:
    """An email with the text and HTML renderings; target `host:port/to@address`."""

    def __init__(self, config: SinkConfig, settings: Settings) -> None:
        target = config.target or ""
        server, _, recipient = target.partition("/")
        host, _, port = server.partition(":")
        if not host or not recipient or "@" not in recipient:
            raise SinkError("an smtp sink needs host:port/to@address")
        self.config = config
        self.host, self.port, self.recipient = host, int(port or 25), recipient
        self.sender = settings.smtp_from

    async def deliver(self, digest: Digest) -> None:
        import aiosmtplib

        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.recipient
        message["Subject"] = (digest.text or "").splitlines()[0]
        message["X-Timeline-Digest-Id"] = digest.digest_id
        message.set_content(body_of(digest, "text"))
        message.add_alternative(body_of(digest, "html"), subtype="html")
        await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=15)


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
            error = f"{type(failure).__name__}: {failure}"
            if attempt + 1 < attempts:
                await asyncio.sleep(first_delay * 2**attempt)
    return error

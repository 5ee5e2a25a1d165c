"""Every Kafka client's connection settings, built in one place from `Settings`.

The faust app, the publisher, the subscriber, the change readers, the digests'
change source and topic sink, topic admin and rebuild all get their clients
here, so TLS and SASL are set once and the same way for all of them.
A setting that cannot work (a missing CA file, a SASL protocol without a
user) is a `ConnectionSettingsError` naming the setting, before any client
tries to connect.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from streams.kafka.local_security import CLIENT_USER, MECHANISM, LocalSecurity
from streams.settings import SecurityProtocol, Settings


class ConnectionSettingsError(ValueError):
    """The TIMELINE_* security settings cannot make a connection; the message names the setting."""


@dataclass(frozen=True)
class Security:
    """The resolved security of a connection: protocol, SASL login and TLS context."""

    protocol: SecurityProtocol
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = None
    password_source: str | None = None
    """Which setting the password came from, for an error message."""

    def aiokafka_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        if self.mechanism is not None:
            options["sasl_mechanism"] = self.mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options


def local_security(settings: Settings) -> LocalSecurity:
    """The files of the secured local broker under this settings' broker directory."""
    return LocalSecurity(settings.broker_dir / "security")


def resolve_security(settings: Settings) -> Security:
    """The protocol, login and TLS context these settings ask for, checked."""
    local = local_security(settings) if settings.broker_secure else None
    protocol: SecurityProtocol = settings.security_protocol or ("SASL_SSL" if local else "PLAINTEXT")
    if protocol == "PLAINTEXT":
        return Security("PLAINTEXT")
    context = _ssl_context(settings, local) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "SSL":
        return Security("SSL", ssl_context=context)
    username = settings.sasl_username or (CLIENT_USER if local else None)
    if not username:
        raise ConnectionSettingsError(f"TIMELINE_SECURITY_PROTOCOL={protocol} needs TIMELINE_SASL_USERNAME")
    mechanism = settings.sasl_mechanism if settings.sasl_username or not local else MECHANISM
    password, source = _password(settings, local)
    return Security(protocol, mechanism, username, password, context, source)


def _password(settings: Settings, local: LocalSecurity | None) -> tuple[str, str]:
    """The password and where it came from."""
    if settings.sasl_password_file is not None:
        try:
            text = settings.sasl_password_file.read_text("utf-8")
            # Only the line end an editor adds: spaces may be part of the password.
            return text.removesuffix("\n").removesuffix("\r"), "TIMELINE_SASL_PASSWORD_FILE"
        except OSError as error:
            raise ConnectionSettingsError(
                f"TIMELINE_SASL_PASSWORD_FILE: cannot read {settings.sasl_password_file}: {error.strerror}"
            ) from error
    if settings.sasl_password_env is not None:
        value = os.environ.get(settings.sasl_password_env)
        if value is None:
            raise ConnectionSettingsError(
                f"TIMELINE_SASL_PASSWORD_ENV names {settings.sasl_password_env}, which is not set"
            )
        return value, f"TIMELINE_SASL_PASSWORD_ENV ({settings.sasl_password_env})"
    if settings.sasl_password is not None:
        return settings.sasl_password.get_secret_value(), "TIMELINE_SASL_PASSWORD"
    if local is not None and local.password_file(CLIENT_USER).exists():
        return local.password(CLIENT_USER), f"the local broker's {local.password_file(CLIENT_USER)}"
    raise ConnectionSettingsError(
        "SASL needs a password: set TIMELINE_SASL_PASSWORD_FILE, TIMELINE_SASL_PASSWORD_ENV"
        " or TIMELINE_SASL_PASSWORD"
    )


def _ssl_context(settings: Settings, local: LocalSecurity | None) -> ssl.SSLContext:
    cafile = settings.ssl_cafile or (local.ca_file if local else None)
    for name, path in (("SSL_CAFILE", cafile), ("SSL_CERTFILE", settings.ssl_certfile)):
        if path is not None and not path.is_file():
            raise ConnectionSettingsError(f"TIMELINE_{name}: no file {path}")
    if (settings.ssl_certfile is None) != (settings.ssl_keyfile is None):
        raise ConnectionSettingsError("TIMELINE_SSL_CERTFILE and TIMELINE_SSL_KEYFILE go together")
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=cafile, certfile=settings.ssl_certfile, keyfile=settings.ssl_keyfile
        )
    except (ssl.SSLError, OSError) as error:
        raise ConnectionSettingsError(f"the TLS files cannot be loaded: {error}") from error
    context.check_hostname = settings.ssl_check_hostname
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """`bootstrap_servers` and the security options, for any aiokafka client."""
    return {"bootstrap_servers": settings.bootstrap, **resolve_security(settings).aiokafka_options()}


def consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **client_options(settings), **options)


def producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**client_options(settings), **options)


def admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**client_options(settings), **options)


def client(settings: Settings, **options: Any) -> AIOKafkaClient:
    return AIOKafkaClient(**client_options(settings), **options)


def faust_broker_options(settings: Settings) -> dict[str, Any]:
    """The faust App's `broker` and `broker_credentials` for the same connection."""
    security = resolve_security(settings)
    credentials: faust.types.auth.CredentialsT | None = None
    if security.mechanism is not None:
        credentials = faust.SASLCredentials(
            username=security.username,
            password=security.password,
            ssl_context=security.ssl_context,
            mechanism=security.mechanism,
        )
    elif security.ssl_context is not None:
        credentials = faust.SSLCredentials(security.ssl_context)
    return {"broker": f"kafka://{settings.bootstrap}", "broker_credentials": credentials}


async def start_or_close(client: Any) -> None:
    """Start an aiokafka client; if that fails, close what it opened, then raise.

    aiokafka leaves its connections and tasks behind when `start()` raises (an
    unreachable broker, a refused login), and nothing calls `stop()` for a
    client that never started.
    """
    try:
        await client.start()
    except BaseException:
        try:
            await client.stop()
        except Exception:  # noqa: BLE001 - the start's own error is the one to report
            pass
        raise


class RetriedLeaderErrors(logging.Filter):
    """Drops aiokafka's ERROR line for an offsets request that met a partition without a leader yet.

    A topic made a moment ago answers NotLeaderForPartition for a short while; aiokafka's
    fetcher retries the request itself, but first logs it as an error, which every CLI
    command reading a new topic printed (`timeline up` a few times).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Failed fetch offsets") and "NotLeaderForPartitionError" in message)


logging.getLogger("aiokafka.consumer.fetcher").addFilter(RetriedLeaderErrors())

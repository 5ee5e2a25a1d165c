"""Reach the broker once before a command starts its clients, and say in one line why not.

aiokafka reports a refused login or an untrusted certificate only as
"Unable to bootstrap", after logging the cause; faust retries for ever.
One connection made here with the same options surfaces the cause itself,
so a user sees "SASL login refused" or "certificate not trusted" within
seconds instead of a hang or a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed

from streams.kafka.connection import Security, resolve_security
from streams.kafka.connection import client as kafka_client
from streams.settings import Settings


class KafkaUnreachableError(RuntimeError):
    """No broker of the bootstrap list took a connection; the message is one line with the cause."""


async def check_connection(settings: Settings, timeout: float = 10.0) -> None:
    """Open (and close) one connection with the clients' security options, or raise why not."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # it logs each failed attempt; the error raised here says it once
    try:
        await _check(settings, timeout)
    finally:
        quiet.setLevel(level)


async def _check(settings: Settings, timeout: float) -> None:
    security = resolve_security(settings)
    problems = []
    for address in (part.strip() for part in settings.bootstrap.split(",") if part.strip()):
        host, _, port = address.rpartition(":")
        try:
            connection = await asyncio.wait_for(
                create_conn(
                    host, int(port), request_timeout_ms=int(timeout * 1000), **security.aiokafka_options()
                ),
                timeout,
            )
        except (OSError, KafkaConnectionError, SaslAuthenticationFailed, TimeoutError, ValueError) as error:
            problems.append(describe_failure(address, error, security, settings, timeout))
            continue
        connection.close()
        await _bootstrap(settings, address, security, timeout)
        return
    raise KafkaUnreachableError("; ".join(problems) or "TIMELINE_BOOTSTRAP_SERVERS names no broker")


async def _bootstrap(settings: Settings, address: str, security: Security, timeout: float) -> None:
    """A metadata round trip: a listener that wants SASL takes a TLS connection, then drops it."""
    client = kafka_client(settings, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    except (KafkaConnectionError, TimeoutError) as error:
        raise KafkaUnreachableError(
            f"{address} took the connection but answered no request ({error}): does its listener"
            f" expect another TIMELINE_SECURITY_PROTOCOL than {security.protocol}?"
        ) from error
    finally:
        await client.close()


def describe_failure(
    address: str, error: BaseException, security: Security, settings: Settings, timeout: float
) -> str:
    """One line a user can act on, naming the setting to look at."""
    if isinstance(error, ssl.SSLCertVerificationError):
        if "hostname" in str(error).lower() or "ip address mismatch" in str(error).lower():
            return (
                f"TLS to {address}: the broker's certificate is not for this host ({error.verify_message});"
                " connect by the name it was issued to, or set TIMELINE_SSL_CHECK_HOSTNAME=false"
            )
        cafile = settings.ssl_cafile or "the CA of the secured local broker, or the system's CAs"
        return (
            f"TLS to {address}: the broker's certificate is not trusted ({error.verify_message});"
            f" TIMELINE_SSL_CAFILE ({cafile}) must hold the CA that signed it"
        )
    if isinstance(error, ssl.SSLError):
        return f"TLS to {address} failed: {error.reason or error}"
    if isinstance(error, SaslAuthenticationFailed):
        return (
            f"SASL login to {address} refused for user {security.username!r} ({security.mechanism}):"
            f" wrong password or unknown user (the password came from {security.password_source})"
        )
    if isinstance(error, ConnectionRefusedError):
        return f"nothing listens at {address}: is the broker running? ('timeline broker start')"
    if isinstance(error, TimeoutError):
        return f"no answer from {address} within {timeout:.0f}s"
    if isinstance(error, KafkaConnectionError):
        return (
            f"{address} closed the connection ({error}): does its listener expect another"
            f" TIMELINE_SECURITY_PROTOCOL than {security.protocol}?"
        )
    return f"cannot connect to {address}: {error}"

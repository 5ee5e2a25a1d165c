"""Webhook signatures: how the digest webhook signs a POST, and how a receiver checks one.

The signature covers a timestamp (its own header) as well as the body, so a
captured request cannot be replayed later; receivers call `verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Timeline-Signature"
TIMESTAMP_HEADER = "X-Timeline-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int | str) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of `f"{timestamp}."` + body."""
    if not secret:
        raise ValueError("an empty secret signs nothing: set a webhook secret")
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Both headers for one request, timestamped now (each retry signs afresh)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, body, timestamp)}


def verify_signature(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if the headers sign exactly this body with this secret, timestamped within the tolerance.

    Pass the raw request body (before any JSON parsing) and the two header
    values as received; a missing header, a malformed one, a stale or future
    timestamp or a wrong signature all give False. The comparison takes constant time.
    """
    if not secret:
        raise ValueError("verify with the webhook's secret: an empty one proves nothing")
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, body, timestamp_header)  # as sent: the sender signed these characters
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())

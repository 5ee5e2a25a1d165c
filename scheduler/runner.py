"""One run of a subscription: build the digests of closed windows, deliver what is pending.

One digest per window: windows follow on from the ledger's last one (so a
scheduler that was down catches up, one digest per missed window or one
coalesced), each digest is stored before any sink sees it, and a sink is
marked delivered only after it succeeded. A crash between a send and that
mark sends again: the file and topic sinks find the digest id they have and
send nothing (exactly once), webhook and SMTP repeat it with its digest id
(at least once). A failing sink is retried with backoff, reported, retried
again on the next run, and never holds up the other sinks; a sink that
cannot even be built (a bad setting) fails the same way, alone. A change
that reaches the topic after its window was built (a busy worker, a slow
producer) goes into the next digest, up to LATE_CHANGES late.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scheduler.digest import build_digest
from scheduler.ledger import Ledger
from scheduler.sinks import Sink, TopicSink, deliver_with_retries, describe_failure, make_sink
from scheduler.windows import due_windows, window_containing
from schemas.digests import Digest
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription, redact_sink_id
from streams.settings import Settings

logger = logging.getLogger(__name__)

# How late a change may reach the topic and still go into the next digest.
LATE_CHANGES = timedelta(minutes=5)

FetchChanges = Callable[[Settings, datetime, datetime], Awaitable[list[StanceChange]]]


@dataclass
class RunReport:
    """What a run did; sink ids are the ledger's (unredacted): show them with `redact_sink_id`."""

    built: list[Digest] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def build_sinks(
    subscription: DigestSubscription, settings: Settings, ledger: Ledger
) -> dict[str, Sink | str]:
    """Each sink, or why it could not be built: one bad sink must not stop the others delivering.
    The topic sink keeps its send marks in the ledger, where the next scheduler finds them."""
    sinks: dict[str, Sink | str] = {}
    for config in subscription.sinks:
        try:
            sink = sinks[config.sink_id] = make_sink(config, settings)
            if isinstance(sink, TopicSink):
                sink.fence_with(ledger)
        except Exception as failure:  # noqa: BLE001 - reported as that sink's failed delivery
            sinks[config.sink_id] = f"cannot set up the sink: {describe_failure(failure, config)}"
    return sinks


async def _deliver(sink: Sink | str, digest: Digest, attempts: int) -> str | None:
    return sink if isinstance(sink, str) else await deliver_with_retries(sink, digest, attempts)


async def run_subscription(
    settings: Settings,
    subscription: DigestSubscription,
    ledger: Ledger,
    fetch_changes: FetchChanges,
    now: datetime | None = None,
) -> RunReport:
    now = now or datetime.now(UTC)
    report = RunReport()
    first_window = window_containing(subscription, subscription.start or now)
    first_start = ledger.anchor(subscription.id, first_window[0])
    start = ledger.next_window_start(subscription.id) or first_start
    grace = timedelta(seconds=settings.digest_grace_seconds)
    sink_ids = [sink.sink_id for sink in subscription.sinks]
    for window_start, window_end in due_windows(subscription, start, now, grace):
        late_since = max(first_start, window_start - LATE_CHANGES)
        changes = await fetch_changes(settings, late_since, window_end)
        sent = ledger.sent_changes(subscription.id, late_since)
        digest = ledger.store(
            build_digest(subscription, window_start, window_end, changes, now, late_since, sent)
        )
        ledger.forget_changes_before(subscription.id, late_since)
        report.built.append(digest)
        if digest.change_count == 0 and subscription.skip_empty:
            for sink_id in sink_ids:
                ledger.delivered(digest.digest_id, sink_id)  # nothing to send, by request
    sinks = build_sinks(subscription, settings, ledger)
    for digest, missing in ledger.undelivered(subscription.id, sink_ids):
        outcomes = await asyncio.gather(
            *(_deliver(sinks[sink_id], digest, settings.sink_attempts) for sink_id in missing)
        )
        for sink_id, error in zip(missing, outcomes, strict=True):
            if error is None:
                ledger.delivered(digest.digest_id, sink_id)
                report.delivered.append((digest.digest_id, sink_id))
            else:
                attempts = ledger.failed(digest.digest_id, sink_id, error)
                report.failed.append((digest.digest_id, sink_id, error))
                logger.warning(
                    "digest %s to %s failed (%d runs so far): %s",
                    digest.digest_id,
                    redact_sink_id(sink_id),
                    attempts,
                    error,
                )
    return report

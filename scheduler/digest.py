"""A window and its changes -> a Digest. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from scheduler.render import render_html, render_markdown, render_text
from schemas.digests import Digest, DigestGroup
from schemas.stances import StanceChange
from schemas.subscriptions import DigestSubscription


def digest_id(subscription_id: str, start: datetime, end: datetime) -> str:
    """One id per (subscription, window): what sinks and receivers keep one digest by."""
    text = f"{subscription_id}|{start.isoformat()}|{end.isoformat()}"
    return "dig-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def build_digest(
    subscription: DigestSubscription,
    start: datetime,
    end: datetime,
    changes: Iterable[StanceChange],
    generated_at: datetime,
    late_since: datetime | None = None,
    already_sent: frozenset[str] = frozenset(),
) -> Digest:
    """The changes detected in [start, end) that match the subscription, grouped by actor and issue.

    With `late_since`, changes detected in [late_since, start) that no earlier
    digest holds (`already_sent`) come in too: they reached the topic after
    their own window was built, and a digest late is better than none.
    """
    earliest = start if late_since is None else min(late_since, start)
    kept: dict[str, StanceChange] = {}
    for change in changes:
        if (
            earliest <= change.detected_at < end
            and change.change_id not in already_sent
            and subscription.filters.matches(change)
        ):
            kept.setdefault(change.change_id, change)
    groups: dict[tuple[str, str], list[StanceChange]] = {}
    for change in sorted(kept.values(), key=lambda c: (c.detected_at, c.change_id)):
        groups.setdefault((change.actor_id, change.issue_id), []).append(change)
    digest = Digest(
        digest_id=digest_id(subscription.id, start, end),
        subscription_id=subscription.id,
        window_start=start,
        window_end=end,
        generated_at=generated_at,
        groups=tuple(
            DigestGroup(actor_id=actor, issue_id=issue, changes=tuple(found))
            for (actor, issue), found in sorted(groups.items())
        ),
    )
    return digest.model_copy(
        update={"text": render_text(digest), "markdown": render_markdown(digest), "html": render_html(digest)}
    )

"""Keep the worker's producer tracking the metadata of every topic it writes to.

aiokafka (0.14) refreshes metadata for the topics a client tracks and
replaces what it knew with the answer. A producer adds a topic to that set
only when it sends to a topic it knows nothing of; topics it learnt while it
tracked none (and so fetched all) are never added. Once faust creates its
changelog topics the set is no longer empty, the next refresh forgets every
other topic, and a batch already queued for one of them waits for a leader
that the refresh loop never asks about: the producer re-requests metadata
in a tight loop, the batch is never sent, and faust's commit, which flushes
the producer first, never happens. Seen under CPU load in the digest tests:
a stance change that never reached its topic while the worker said "ok".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def keep_metadata_for(client: Any, topics: Iterable[str]) -> None:
    """Add `topics` to the set an aiokafka client refreshes (a no-op for those already in it)."""
    for topic in topics:
        client.add_topic(topic)

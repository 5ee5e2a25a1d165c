"""The names of the fold's three stores: faust table names, changelog names and hash order.

One constant each, so a table, its changelog, a replay's dict and the state hash
can never disagree on a name.
"""

from __future__ import annotations

from typing import Final

EVENTS: Final = "events"
"""event_id -> EventRecord JSON; partitioned like `diplomacy.events`."""
CURRENT: Final = "stance-current"
"""actor|issue -> the current stance; partitioned by actor, like the claims topic."""
HISTORY: Final = "stance-history"
"""actor|issue|event_id -> one stored claim each."""

STORE_NAMES: Final = (EVENTS, CURRENT, HISTORY)
"""Every store, in the order the state hash reads them."""

DEFAULT_PARTITIONS: Final = 4
"""Partitions of every topic unless `TIMELINE_PARTITIONS` says otherwise."""

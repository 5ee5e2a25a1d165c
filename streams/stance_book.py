"""Current stances and claim history over two key-value stores.

The stores are faust tables in the worker and plain dicts in `timeline
rebuild`; both go through this one class, so live and replayed state are
made by the same code. The cost of adding a claim does not depend on the
length of the key's history: one history record and, when the claim is
newer, one current record (never a whole history re-serialised). Only a
retraction of the current claim reads the key's history back.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime

from schemas.stances import ChangeKind, Stance, StanceChange
from schemas.time import EventTime
from streams.fold import change_kind, current_of, make_change, newer
from streams.records import current_key, encode, history_key, history_prefix

Store = MutableMapping[bytes, bytes]


class StanceBook:
    def __init__(self, current: Store, history: Store, threshold: float) -> None:
        self.current = current
        self.history = history
        self.threshold = threshold
        self.writes = 0
        """Store writes so far: a test counts them to show the per-claim cost is constant."""

    def current_stance(self, actor_id: str, issue_id: str) -> Stance | None:
        raw = self.current.get(current_key(actor_id, issue_id))
        return None if raw is None else Stance.model_validate_json(raw)

    def add(self, stance: Stance, detected_at: datetime) -> StanceChange | None:
        """Record a claim; return the change it makes to the current stance, if any."""
        key = history_key(stance.actor_id, stance.issue_id, stance.event_id)
        if key in self.history:
            return None  # the same claim delivered again
        encoded = encode(stance)
        self.history[key] = encoded
        self.writes += 1
        previous = self.current_stance(stance.actor_id, stance.issue_id)
        if not newer(stance, previous):
            return None  # late in event time: history only
        self.current[current_key(stance.actor_id, stance.issue_id)] = encoded
        self.writes += 1
        kind = change_kind(previous, stance, self.threshold)
        if kind is None:
            return None
        return make_change(
            kind,
            stance.actor_id,
            stance.issue_id,
            previous,
            stance,
            stance.event_id,
            stance.occurred_at,
            detected_at,
        )

    def remove(
        self,
        actor_id: str,
        issue_id: str,
        event_id: str,
        cause_event_id: str,
        cause_occurred_at: EventTime,
        detected_at: datetime,
    ) -> StanceChange | None:
        """Drop a retracted claim; if it was current, fall back to the best remaining one."""
        key = history_key(actor_id, issue_id, event_id)
        if key not in self.history:
            return None
        del self.history[key]
        self.writes += 1
        previous = self.current_stance(actor_id, issue_id)
        if previous is None or previous.event_id != event_id:
            return None
        prefix = history_prefix(actor_id, issue_id)
        replacement = current_of(
            Stance.model_validate_json(value)
            for stored_key, value in list(self.history.items())
            if stored_key.startswith(prefix)
        )
        if replacement is None:
            del self.current[current_key(actor_id, issue_id)]
        else:
            self.current[current_key(actor_id, issue_id)] = encode(replacement)
        self.writes += 1
        # The stance that was current is gone: always a withdrawal, with what stands now.
        return make_change(
            ChangeKind.WITHDRAWN,
            actor_id,
            issue_id,
            previous,
            replacement,
            cause_event_id,
            cause_occurred_at,
            detected_at,
        )

"""Current stances and claim history over two key-value stores.

The stores are faust tables in the worker and plain dicts in `timeline
rebuild`; both go through this one class, so live and replayed state are
made by the same code. The cost of adding a claim does not depend on the
length of the key's history: one history record and, when the claim is
newer, one current record (never a whole history re-serialised). Only a
retraction of the current claim reads the key's history back.
"""

from __future__ import annotations

import contextlib
from collections.abc import MutableMapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from schemas.stances import ChangeKind, Stance, StanceChange
from schemas.time import EventTime
from streams.core.fold import change_kind, current_of, make_change, newer
from streams.core.records import (
    StoredStance,
    WithdrawnStance,
    current_key,
    encode,
    encode_stored,
    history_key,
    history_prefix,
    is_withdrawn,
    parse_stored,
)

Store = MutableMapping[bytes, bytes]


@runtime_checkable
class PrefixScan(Protocol):
    """A store that reads the keys under a prefix without walking the rest (the worker's tables)."""

    def scan_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]: ...


class StanceBook:
    def __init__(self, current: Store, history: Store, threshold: float) -> None:
        self.current = current
        self.history = history
        self.threshold = threshold
        self.writes = 0
        """Store writes so far: a test counts them to show the per-claim cost is constant."""

    def claims(self, actor_id: str, issue_id: str) -> list[tuple[bytes, bytes]]:
        """The stored claims of one (actor, issue): a range scan where the store has one."""
        prefix = history_prefix(actor_id, issue_id)
        if isinstance(self.history, PrefixScan):
            return self.history.scan_prefix(prefix)
        return [(key, value) for key, value in self.history.items() if key.startswith(prefix)]

    def current_stance(self, actor_id: str, issue_id: str) -> StoredStance | None:
        raw = self.current.get(current_key(actor_id, issue_id))
        return None if raw is None else parse_stored(raw)

    def add(self, stance: Stance, detected_at: datetime) -> StanceChange | None:
        """Record a claim; return the change it makes to the current stance, if any.

        A claim seen before (read again after a crash, or sent again for a copy of
        its event) changes nothing, but returns again the change it made, with the
        same change_id, since the crash may have lost it. Its records are written
        again as they are found: a crash may have kept them on disk and lost their
        changelog records; a current record the crash lost is written again.
        """
        key = history_key(stance.actor_id, stance.issue_id, stance.event_id)
        raw_current = self.current.get(current_key(stance.actor_id, stance.issue_id))
        current = None if raw_current is None else parse_stored(raw_current)
        seen = self.history.get(key)
        if seen is not None:
            self.history[key] = seen
            self.writes += 1
            if is_withdrawn(seen):
                return None  # withdrawn since: read again, it does not come back
            if current is not None and current.event_id == stance.event_id:
                assert raw_current is not None
                self.current[current_key(stance.actor_id, stance.issue_id)] = raw_current
                self.writes += 1
            return self._again(parse_stored(seen), current, detected_at)
        if current is not None and current.event_id == stance.event_id:
            # The current record survived a crash that lost the history record.
            self.history[key] = encode(current)
            self.writes += 1
            return self._again(current, current, detected_at)
        if not newer(stance, current):
            self.history[key] = encode_stored(stance)
            self.writes += 1
            return None  # late in event time: history only
        encoded = encode_stored(
            stance, made_current=True, replaced=None if current is None else current.event_id
        )
        self.history[key] = encoded
        self.current[current_key(stance.actor_id, stance.issue_id)] = encoded
        self.writes += 2
        return self._change_of(stance, current, detected_at)

    def _change_of(
        self, stance: Stance, previous: StoredStance | None, detected_at: datetime
    ) -> StanceChange | None:
        """The change from `previous` to `stance` as the current stance, if it is one."""
        kind = change_kind(previous, stance, self.threshold)
        if kind is None:
            return None
        return make_change(
            kind,
            stance.actor_id,
            stance.issue_id,
            None if previous is None else previous.as_stance(),
            stance,
            stance.event_id,
            stance.occurred_at,
            detected_at,
        )

    def _again(
        self, stored: StoredStance, current: StoredStance | None, detected_at: datetime
    ) -> StanceChange | None:
        """The change a claim made when it first arrived, for sending again (same change_id)."""
        if not stored.made_current:
            return None
        if newer(stored, current):
            self.current[current_key(stored.actor_id, stored.issue_id)] = encode(stored)
            self.writes += 1
        previous = None
        if stored.replaced is not None:
            raw = self.history.get(history_key(stored.actor_id, stored.issue_id, stored.replaced))
            if raw is None:
                return None
            previous = parse_stored(raw)  # a tombstone if retracted since: the change is the same
        return self._change_of(stored.as_stance(), previous, detected_at)

    def remove(
        self,
        actor_id: str,
        issue_id: str,
        event_id: str,
        cause_event_id: str,
        cause_occurred_at: EventTime,
        detected_at: datetime,
    ) -> StanceChange | None:
        """Withdraw a retracted claim: its history record becomes a tombstone and, if it was
        current, the best remaining claim takes over.

        Read again after a crash, it writes again what it finds, repairs the current
        record, and reports the withdrawal again with the same change_id (docs/semantics.md,
        "Nothing is lost").
        """
        key = history_key(actor_id, issue_id, event_id)
        raw = self.history.get(key)
        current = self.current_stance(actor_id, issue_id)
        if raw is not None and is_withdrawn(raw):
            self.history[key] = raw
            self.writes += 1
            withdrawn = WithdrawnStance.model_validate_json(raw)
            if not withdrawn.was_current:
                return None
            self._set_current(actor_id, issue_id, self._best_claim(actor_id, issue_id))
            # Reported as it was the first time (a second retraction of the event changes nothing).
            first_occurred_at = withdrawn.withdrawn_occurred_at or cause_occurred_at
            return self._withdrawal(withdrawn, self._fallback_of(withdrawn), first_occurred_at, detected_at)
        held = parse_stored(raw) if raw is not None else None
        if held is None and current is not None and current.event_id == event_id:
            held = current  # a crash kept the current record and lost the history one
        if held is None:
            return None  # never held
        was_current = current is not None and current.event_id == event_id
        fields = held.model_dump(
            exclude={"withdrawn_by", "withdrawn_occurred_at", "was_current", "fell_back_to"}
        )
        withdrawn = WithdrawnStance(
            **fields,
            withdrawn_by=cause_event_id,
            withdrawn_occurred_at=cause_occurred_at,
            was_current=was_current,
        )
        if not was_current:
            self.history[key] = encode(withdrawn)
            self.writes += 1
            return None
        self.history[key] = encode(withdrawn)  # written first: the scan below leaves it out
        replacement = self._best_claim(actor_id, issue_id)
        fell_back_to = None if replacement is None else replacement.event_id
        withdrawn = withdrawn.model_copy(update={"fell_back_to": fell_back_to})
        self.history[key] = encode(withdrawn)
        self._set_current(actor_id, issue_id, replacement)
        self.writes += 2
        previous_now = None if replacement is None else replacement.as_stance()
        return self._withdrawal(withdrawn, previous_now, cause_occurred_at, detected_at)

    def _best_claim(self, actor_id: str, issue_id: str) -> StoredStance | None:
        """The claim that should be current: the newest in event time of the live claims."""
        best = current_of(
            stored
            for _, value in self.claims(actor_id, issue_id)
            if not isinstance(stored := parse_stored(value), WithdrawnStance)
        )
        return None if best is None else StoredStance.model_validate(best)

    def _set_current(self, actor_id: str, issue_id: str, stance: StoredStance | None) -> None:
        key = current_key(actor_id, issue_id)
        if stance is None:
            with contextlib.suppress(KeyError):  # gone already; a table still sends its tombstone
                del self.current[key]
        else:
            self.current[key] = encode(stance)
        self.writes += 1

    def _fallback_of(self, withdrawn: WithdrawnStance) -> Stance | None:
        """The claim that took over when `withdrawn` was withdrawn, as it was then."""
        if withdrawn.fell_back_to is None:
            return None
        raw = self.history.get(history_key(withdrawn.actor_id, withdrawn.issue_id, withdrawn.fell_back_to))
        return None if raw is None else parse_stored(raw).as_stance()

    def _withdrawal(
        self, withdrawn: WithdrawnStance, now: Stance | None, occurred_at: EventTime, detected_at: datetime
    ) -> StanceChange:
        """The stance that was current is gone: always a withdrawal, with what stood after it."""
        return make_change(
            ChangeKind.WITHDRAWN,
            withdrawn.actor_id,
            withdrawn.issue_id,
            withdrawn.as_stance(),
            now,
            withdrawn.withdrawn_by,
            occurred_at,
            detected_at,
        )

"""The query side: an in-memory view of the tables, fed from their changelog topics.

Every worker keeps a whole view (all partitions), so a query gets the same
answer whichever worker it reaches, and a worker that takes over partitions
after another stops already has them. It is not ready, and the API answers
503, until it has read every changelog up to where it stood at start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from datetime import datetime
from typing import TypeVar, overload

from schemas.digests import Digest
from schemas.events import parse_event
from schemas.stances import Stance, StanceChange
from streams.core.fold import as_of, claims_of, order_key
from streams.core.records import EventRecord, is_withdrawn, parse_stored
from streams.core.state_hash import state_hash
from streams.core.stores import CURRENT, EVENTS, HISTORY

K = TypeVar("K")
M = TypeVar("M")


class LazyModels(MutableMapping[K, M]):
    """Values kept as the JSON bytes they arrived in and parsed on first read.

    The worker's view receives every changelog record, but a query reads few
    of them: parsing on read keeps the feed cheap on the worker's hot path.
    """

    def __init__(self, parse: Callable[[bytes], M]) -> None:
        self._parse = parse
        self._raw: dict[K, bytes] = {}
        self._parsed: dict[K, M] = {}

    def set_raw(self, key: K, raw: bytes) -> None:
        self._raw[key] = raw
        self._parsed.pop(key, None)

    def __getitem__(self, key: K) -> M:
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = self._parse(self._raw[key])
        return parsed

    def __setitem__(self, key: K, value: M) -> None:
        raise TypeError("LazyModels holds bytes: use set_raw")

    def __delitem__(self, key: K) -> None:
        del self._raw[key]
        self._parsed.pop(key, None)

    def __iter__(self) -> Iterator[K]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class ChangeLog(Sequence[StanceChange]):
    """Stance changes in arrival order, each change_id once, kept as their JSON bytes.

    A worker's view receives every change but a query or a stream reads few
    of them again: holding the bytes instead of validated models (several
    times larger) and parsing on read keeps the view small. Each is validated
    on arrival all the same: a bad record let in would fail every later read.
    """

    def __init__(self) -> None:
        self._raw: list[bytes] = []
        self._detected: list[datetime] = []
        self.positions: dict[str, int] = {}
        """change_id -> its index (arrival order), for resuming a stream."""
        self.skipped = 0
        """Records left out as not a valid stance change."""

    def add(self, value: bytes) -> bool:
        """Keep one change record (delivery is at least once); False for a change seen before.
        A record that is not a valid stance change is counted in `skipped` and raises
        pydantic's `ValidationError` (a `ValueError`)."""
        try:
            change = StanceChange.model_validate_json(value)
        except ValueError:
            self.skipped += 1
            raise
        if change.change_id in self.positions:
            return False
        self.positions[change.change_id] = len(self._raw)
        self._raw.append(value)
        self._detected.append(change.detected_at)
        return True

    @overload
    def __getitem__(self, index: int) -> StanceChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[StanceChange]: ...

    def __getitem__(self, index: int | slice) -> StanceChange | list[StanceChange]:
        if isinstance(index, slice):
            return [StanceChange.model_validate_json(raw) for raw in self._raw[index]]
        return StanceChange.model_validate_json(self._raw[index])

    def __len__(self) -> int:
        return len(self._raw)

    def since(self, moment: datetime | None) -> list[StanceChange]:
        """Changes detected at or after `moment` (all when None), parsed."""
        return [
            StanceChange.model_validate_json(raw)
            for raw, detected in zip(self._raw, self._detected, strict=True)
            if moment is None or detected >= moment
        ]


class StanceView:
    def __init__(self) -> None:
        self.raw: dict[str, dict[bytes, bytes]] = {EVENTS: {}, CURRENT: {}, HISTORY: {}}
        self.current: LazyModels[tuple[str, str], Stance] = LazyModels(parse_stored)
        self.current_by_actor: dict[str, LazyModels[str, Stance]] = {}
        """actor_id -> issue_id -> current stance: an index so one actor's query is cheap."""
        self.history_by_actor: dict[str, LazyModels[tuple[str, str], Stance]] = {}
        self.events: LazyModels[str, EventRecord] = LazyModels(EventRecord.model_validate_json)
        self.changes = ChangeLog()
        self.change_positions = self.changes.positions
        """change_id -> its index in `changes` (arrival order), for resuming a stream."""
        self.latest_digests: dict[str, Digest] = {}
        """subscription_id -> its most recent digest (by window end), from the digest topic."""
        self.ready = False
        self.withdrawn: set[bytes] = set()
        """History keys that hold a tombstone (a withdrawn claim), not a claim."""

    # -- feeding --------------------------------------------------------------

    def apply(self, store: str, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (None value: the key was deleted)."""
        raw = self.raw[store]
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
        text = key.decode()
        if store == EVENTS:
            if value is None:
                self.events.pop(text, None)
            else:
                self.events.set_raw(text, value)
        elif store == CURRENT:
            actor_id, issue_id = text.split("|", 1)
            by_issue = self.current_by_actor.setdefault(actor_id, LazyModels(parse_stored))
            if value is None:
                self.current.pop((actor_id, issue_id), None)
                by_issue.pop(issue_id, None)
            else:
                self.current.set_raw((actor_id, issue_id), value)
                by_issue.set_raw(issue_id, value)
        elif store == HISTORY:
            actor_id, issue_id, event_id = text.split("|", 2)
            claims = self.history_by_actor.setdefault(actor_id, LazyModels(parse_stored))
            if value is None or is_withdrawn(value):
                claims.pop((issue_id, event_id), None)
            else:
                claims.set_raw((issue_id, event_id), value)
            if value is not None and is_withdrawn(value):
                self.withdrawn.add(key)
            else:
                self.withdrawn.discard(key)

    @property
    def claim_count(self) -> int:
        """Claims held, tombstones of withdrawn claims left out."""
        return len(self.raw[HISTORY]) - len(self.withdrawn)

    def apply_change(self, value: bytes) -> None:
        """Keep each stance change once (delivery is at least once); a bad record raises
        `ValueError` and is counted in `changes.skipped`."""
        self.changes.add(value)

    def apply_digest(self, value: bytes) -> None:
        digest = Digest.model_validate_json(value)
        known = self.latest_digests.get(digest.subscription_id)
        if known is None or known.window_end <= digest.window_end:
            self.latest_digests[digest.subscription_id] = digest

    # -- queries --------------------------------------------------------------

    def all_stances(self, moment: datetime | None = None) -> list[Stance]:
        """Every actor's stance on every issue, now or as of a moment."""
        if moment is None:
            return sorted(self.current.values(), key=lambda s: (s.actor_id, s.issue_id))
        found = []
        for actor_id in sorted(self.history_by_actor):
            found += self.stances_of(actor_id, moment)
        return found

    def retracted_claims(self, actor_id: str) -> list[tuple[Stance, str]]:
        """Claims of an actor withdrawn by a retraction, with the retraction's id."""
        found = []
        for record in self.events.values():
            if record.retracted_by is None or record.event is None:
                continue
            if not any(claim.get("actor_id") == actor_id for claim in record.event.get("stances", [])):
                continue
            for claim in claims_of(parse_event(record.event)):
                if claim.actor_id == actor_id:
                    found.append((claim, record.retracted_by))
        return found

    def stances_of(self, actor_id: str, moment: datetime | None = None) -> list[Stance]:
        """An actor's current stances, or as of a moment, by issue.

        See docs/semantics.md, "As of, on two axes" (the event-time axis).
        """
        if moment is None:
            current_of_actor = self.current_by_actor.get(actor_id)
            found = list(current_of_actor.values()) if current_of_actor is not None else []
        else:
            by_issue: dict[str, list[Stance]] = {}
            for (issue_id, _), claim in self.history_by_actor.get(actor_id, {}).items():
                by_issue.setdefault(issue_id, []).append(claim)
            found = [stance for claims in by_issue.values() if (stance := as_of(claims, moment)) is not None]
        return sorted(found, key=lambda stance: stance.issue_id)

    def stances_on(self, issue_id: str) -> list[Stance]:
        """Every actor's current stance on one issue."""
        found = [stance for (_, issue), stance in self.current.items() if issue == issue_id]
        return sorted(found, key=lambda stance: stance.actor_id)

    def timeline(self, actor_id: str, issue_id: str | None = None) -> list[Stance]:
        """An actor's claims in event-time order (retracted claims are gone)."""
        claims = [
            claim
            for (issue, _), claim in self.history_by_actor.get(actor_id, {}).items()
            if issue_id is None or issue == issue_id
        ]
        return sorted(claims, key=order_key)

    def changes_since(self, moment: datetime | None) -> list[StanceChange]:
        found = self.changes.since(moment)
        return sorted(found, key=lambda change: (change.detected_at, change.change_id))

    def hash(self) -> str:
        return state_hash(self.raw)

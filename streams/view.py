"""The query side: an in-memory view of the tables, fed from their changelog topics.

Every worker keeps a whole view (all partitions), so a query gets the same
answer whichever worker it reaches, and a worker that takes over partitions
after another stops already has them. It is not ready, and the API answers
503, until it has read every changelog up to where it stood at start.
"""

from __future__ import annotations

from datetime import datetime

from schemas.digests import Digest
from schemas.events import parse_event
from schemas.stances import Stance, StanceChange
from streams.fold import as_of, claims_of, order_key
from streams.records import EventRecord
from streams.state_hash import state_hash
from streams.tables import CURRENT, EVENTS, HISTORY


class StanceView:
    def __init__(self) -> None:
        self.raw: dict[str, dict[bytes, bytes]] = {EVENTS: {}, CURRENT: {}, HISTORY: {}}
        self.current: dict[tuple[str, str], Stance] = {}
        self.current_by_actor: dict[str, dict[str, Stance]] = {}
        """actor_id -> issue_id -> current stance: an index so one actor's query is cheap."""
        self.history_by_actor: dict[str, dict[tuple[str, str], Stance]] = {}
        self.events: dict[str, EventRecord] = {}
        self.changes: list[StanceChange] = []
        self.change_positions: dict[str, int] = {}
        """change_id -> its index in `changes` (arrival order), for resuming a stream."""
        self.latest_digests: dict[str, Digest] = {}
        """subscription_id -> its most recent digest (by window end), from the digest topic."""
        self.ready = False

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
                self.events[text] = EventRecord.model_validate_json(value)
        elif store == CURRENT:
            actor_id, issue_id = text.split("|", 1)
            if value is None:
                self.current.pop((actor_id, issue_id), None)
                self.current_by_actor.get(actor_id, {}).pop(issue_id, None)
            else:
                stance = Stance.model_validate_json(value)
                self.current[(actor_id, issue_id)] = stance
                self.current_by_actor.setdefault(actor_id, {})[issue_id] = stance
        elif store == HISTORY:
            actor_id, issue_id, event_id = text.split("|", 2)
            claims = self.history_by_actor.setdefault(actor_id, {})
            if value is None:
                claims.pop((issue_id, event_id), None)
            else:
                claims[(issue_id, event_id)] = Stance.model_validate_json(value)

    def apply_change(self, value: bytes) -> None:
        """Keep each stance change once (delivery is at least once)."""
        change = StanceChange.model_validate_json(value)
        if change.change_id not in self.change_positions:
            self.change_positions[change.change_id] = len(self.changes)
            self.changes.append(change)

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
        """An actor's current stances, or as of a moment (rule 5), by issue."""
        if moment is None:
            found = list(self.current_by_actor.get(actor_id, {}).values())
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
        found = [c for c in self.changes if moment is None or c.detected_at >= moment]
        return sorted(found, key=lambda change: (change.detected_at, change.change_id))

    def hash(self) -> str:
        return state_hash(self.raw)

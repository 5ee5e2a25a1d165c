"""The oracle: what the views must hold, computed apart from the code under test.

Nothing here imports the fold (`streams.core`): the rules are written again from
docs/semantics.md, so a bug in the worker's fold cannot also be in its judge.

- The current stance of every (actor, issue) is the event-time fold of the claims
  of the accepted, unretracted events ("Event time wins"), from the events as
  generated, with plain dicts.
- The stance changes must be exactly those that folding the claim operations in
  the order the claims topic holds them gives ("A change is a change",
  "Corrections"): each transition once, none missing, none extra. A change is
  named by (actor, issue, kind, previous event, current event); its change_id is
  the code's own hash, so the oracle only asks that one id has one content and
  one transition one id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

Key = tuple[str, str]
Order = tuple[datetime, datetime, str]
Transition = tuple[str, str, str, str | None, str | None]
"""(actor, issue, kind, previous event_id, current event_id): what a change is, whatever its id."""

POSITIONS = frozenset({"support", "oppose", "conditional", "neutral", "ambiguous"})


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def order_of(occurred_at: str, recorded_at: str, event_id: str) -> Order:
    """Event time first, then the later recorded_at, then the larger event_id."""
    return (_at(occurred_at), _at(recorded_at), event_id)


def expected_view(documents: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """(actor, issue) -> the current claim (event_id, position, score) in event-time order."""
    unique: dict[str, dict[str, Any]] = {}
    for doc in documents:
        unique.setdefault(doc["event_id"], doc)
    retracted = {doc["retracts"] for doc in unique.values() if doc.get("type") == "retraction"}
    best: dict[Key, tuple[Order, dict[str, Any]]] = {}
    for doc in unique.values():
        if doc["event_id"] in retracted:
            continue
        order = order_of(doc["occurred_at"]["at"], doc["recorded_at"], doc["event_id"])
        for claim in doc.get("stances", ()):
            key = (claim["actor_id"], claim["issue_id"])
            if key not in best or order > best[key][0]:
                best[key] = (order, {"event_id": doc["event_id"], **claim})
    return {key: claim for key, (_, claim) in best.items()}


def expected_claims(documents: Iterable[dict[str, Any]]) -> int:
    """How many claims the history holds: those of accepted, unretracted events."""
    unique: dict[str, dict[str, Any]] = {}
    for doc in documents:
        unique.setdefault(doc["event_id"], doc)
    retracted = {doc["retracts"] for doc in unique.values() if doc.get("type") == "retraction"}
    return sum(len(doc.get("stances", ())) for doc in unique.values() if doc["event_id"] not in retracted)


def view_mismatches(expected: dict[Key, dict[str, Any]], stances: list[dict[str, Any]]) -> list[str]:
    """Every key where the served view differs from the oracle (empty when they agree)."""
    served = {(s["actor_id"], s["issue_id"]): s for s in stances}
    problems = []
    for key in sorted(expected.keys() | served.keys()):
        want, got = expected.get(key), served.get(key)
        if want is None:
            problems.append(f"{key}: served {got and got['event_id']}, oracle has no stance")
        elif got is None:
            problems.append(f"{key}: oracle {want['event_id']}, nothing served")
        elif (got["event_id"], got["score"], got["position"]) != (
            want["event_id"],
            want["score"],
            want["position"],
        ):
            problems.append(
                f"{key}: oracle {want['event_id']}/{want['score']}, served {got['event_id']}/{got['score']}"
            )
    return problems


# -- the change rules, from docs/semantics.md ------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claim as the oracle needs it: its order, position and score."""

    event_id: str
    order: Order
    position: str
    score: Decimal
    """Exact decimal of the JSON number: "moves by at least the threshold" is decided without float error."""


def side(claim: Claim) -> int:
    """+1 for support, -1 for oppose, otherwise the sign of the score."""
    if claim.position == "support":
        return 1
    if claim.position == "oppose":
        return -1
    return (claim.score > 0) - (claim.score < 0)


def kind_of(previous: Claim | None, current: Claim | None, threshold: Decimal) -> str | None:
    """The kind of going from `previous` to `current` when `current` becomes current (None: no change)."""
    if previous is None:
        return None if current is None else "new"
    if current is None:
        return "withdrawn"
    if previous.event_id == current.event_id:
        return None
    if side(previous) * side(current) < 0:
        return "reversed"
    if previous.position != current.position or abs(current.score - previous.score) >= threshold:
        return "shifted"
    return None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("not a non-empty string")
    return value


def parse_op(value: bytes | None) -> tuple[str, Key, str, Claim | None]:
    """(op, key, event_id, claim for an add) of a claims-topic record; ValueError for anything
    that is not a whole claim operation (poison another client wrote: the worker dead-letters it)."""
    op = orjson.loads(value or b"")
    if not isinstance(op, dict) or op.get("op") not in ("add", "remove"):
        raise ValueError("not a claim operation")
    key = (_text(op.get("actor_id")), _text(op.get("issue_id")))
    event_id = _text(op.get("event_id"))
    if op["op"] == "remove":
        return "remove", key, event_id, None
    stance = op.get("stance")
    if not isinstance(stance, dict) or (stance.get("actor_id"), stance.get("issue_id")) != key:
        raise ValueError("an add without its stance")
    score = stance.get("score")
    if stance.get("position") not in POSITIONS or not isinstance(score, int | float) or not -1 <= score <= 1:
        raise ValueError("a stance without a position and a score in [-1, 1]")
    if stance.get("event_id") != event_id:
        raise ValueError("a stance of another event")
    order = order_of(_text(stance["occurred_at"]["at"]), _text(stance.get("recorded_at")), event_id)
    return "add", key, event_id, Claim(event_id, order, stance["position"], Decimal(repr(score)))


@dataclass
class ChangeFold:
    """The claim operations folded in log order, with the change rules above."""

    threshold: Decimal
    live: dict[Key, dict[str, Claim]] = field(default_factory=dict)
    """Each key's claims that stand (added, not withdrawn)."""
    withdrawn: set[tuple[Key, str]] = field(default_factory=set)
    """(key, event_id) of every claim withdrawn: read again later, it stays withdrawn."""
    changes: set[Transition] = field(default_factory=set)

    def current(self, key: Key) -> Claim | None:
        return max(self.live.get(key, {}).values(), key=lambda claim: claim.order, default=None)

    def apply(self, op: str, key: Key, event_id: str, claim: Claim | None) -> None:
        claims = self.live.setdefault(key, {})
        previous = self.current(key)
        if op == "add":
            assert claim is not None
            if event_id in claims or (key, event_id) in self.withdrawn:
                return  # a claim read again: no new transition
            claims[event_id] = claim
            if previous is not None and claim.order <= previous.order:
                return  # late in event time: history only
            self.record(key, kind_of(previous, claim, self.threshold), previous, claim)
            return
        self.withdrawn.add((key, event_id))
        if claims.pop(event_id, None) is None or previous is None or previous.event_id != event_id:
            return  # not current (or never seen): the view does not move
        self.record(key, "withdrawn", previous, self.current(key))

    def record(self, key: Key, kind: str | None, previous: Claim | None, current: Claim | None) -> None:
        if kind is not None:
            before = previous.event_id if previous else None
            self.changes.add((key[0], key[1], kind, before, current.event_id if current else None))


def expected_changes(claim_values_in_log_order: Iterable[bytes | None], threshold: float) -> set[Transition]:
    """Records that are not whole claim operations are skipped: the worker dead-letters them."""
    fold = ChangeFold(Decimal(repr(threshold)))
    for value in claim_values_in_log_order:
        try:
            fold.apply(*parse_op(value))
        except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
            continue
    return fold.changes


def transition_of(change: dict[str, Any]) -> Transition:
    previous, current = change.get("previous"), change.get("current")
    return (
        change["actor_id"],
        change["issue_id"],
        change["kind"],
        previous["event_id"] if previous else None,
        current["event_id"] if current else None,
    )


@dataclass
class ChangeReport:
    expected: int
    received: int
    distinct: int
    missing: list[str]
    unexpected: list[str]
    inconsistent: list[str]
    """change_ids received more than once with different content, and transitions sent under two ids."""

    @property
    def duplicates_after_dedup(self) -> int:
        return len(self.inconsistent)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.inconsistent)


def compare_changes(expected: set[Transition], received_values: Iterable[bytes]) -> ChangeReport:
    """The change topic against the oracle's transitions: a repeat with one change_id and one
    content is at-least-once delivery (allowed); anything else is a finding."""
    seen: dict[str, dict[str, Any]] = {}
    inconsistent = []
    count = 0
    for value in received_values:
        count += 1
        change = orjson.loads(value)
        change.pop("detected_at", None)
        known = seen.setdefault(change["change_id"], change)
        if known != change:
            inconsistent.append(change["change_id"])
    ids_of: dict[Transition, list[str]] = {}
    for change_id, change in seen.items():
        ids_of.setdefault(transition_of(change), []).append(change_id)
    inconsistent += [f"{t} sent as {ids}" for t, ids in ids_of.items() if len(ids) > 1]
    missing = sorted(str(t) for t in expected - ids_of.keys())
    unexpected = sorted(f"{ids_of[t]} {t}" for t in ids_of.keys() - expected)
    return ChangeReport(len(expected), count, len(seen), missing, unexpected, inconsistent)

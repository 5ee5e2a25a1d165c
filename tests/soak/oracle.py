"""The oracle: what the views must hold, computed apart from the worker.

- The current stance of every (actor, issue) is the event-time fold of the
  claims of the accepted, unretracted events (docs/semantics.md, "Event time
  wins"), computed here from the events as generated, with plain dicts.
- The stance changes must be exactly those that folding the claim operations
  in the order the claims topic holds them gives (docs/semantics.md, "A change
  is a change"): each change once after de-duplication by change_id, none
  missing, none extra. The change detection itself is the pure
  `streams.core.fold` reducer, as the reliability notes prescribe ("the same
  stance reducer").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from schemas.stances import Stance
from streams.core.fold import change_id, change_kind, current_of, newer
from streams.core.records import ClaimOp

Key = tuple[str, str]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected_view(documents: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """(actor, issue) -> the current claim (event_id, position, score) in event-time order."""
    unique: dict[str, dict[str, Any]] = {}
    for doc in documents:
        unique.setdefault(doc["event_id"], doc)
    retracted = {doc["retracts"] for doc in unique.values() if doc.get("type") == "retraction"}
    best: dict[Key, tuple[tuple[datetime, datetime, str], dict[str, Any]]] = {}
    for doc in unique.values():
        if doc["event_id"] in retracted:
            continue
        order = (_at(doc["occurred_at"]["at"]), _at(doc["recorded_at"]), doc["event_id"])
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


@dataclass
class ChangeFold:
    """The claim operations folded in log order, with the pure change detection."""

    threshold: float
    history: dict[Key, dict[str, Stance]] = field(default_factory=dict)
    current: dict[Key, Stance] = field(default_factory=dict)
    changes: dict[str, str] = field(default_factory=dict)
    """change_id -> kind."""
    withdrawn: set[tuple[Key, str]] = field(default_factory=set)
    """(key, event_id) of every claim withdrawn: read again later, it stays withdrawn."""

    def apply(self, op: dict[str, Any]) -> None:
        key = (op["actor_id"], op["issue_id"])
        claims = self.history.setdefault(key, {})
        previous = self.current.get(key)
        if op["op"] == "add":
            stance = Stance.model_validate(op["stance"])
            if stance.event_id in claims or (key, stance.event_id) in self.withdrawn:
                return
            claims[stance.event_id] = stance
            if not newer(stance, previous):
                return
            self.current[key] = stance
            kind = change_kind(previous, stance, self.threshold)
            if kind is not None:
                self.changes[change_id(key[0], key[1], previous, stance)] = kind.value
        else:
            self.withdrawn.add((key, op["event_id"]))
            if claims.pop(op["event_id"], None) is None:
                return
            if previous is None or previous.event_id != op["event_id"]:
                return
            replacement = current_of(claims.values())
            if replacement is None:
                del self.current[key]
            else:
                self.current[key] = replacement
            self.changes[change_id(key[0], key[1], previous, replacement)] = "withdrawn"


def expected_changes(claim_values_in_log_order: Iterable[bytes | None], threshold: float) -> dict[str, str]:
    """Records that are not claim operations, or that the fold cannot apply (poison written
    by another client), are skipped: the worker dead-letters them."""
    fold = ChangeFold(threshold)
    for value in claim_values_in_log_order:
        try:
            fold.apply(ClaimOp.model_validate_json(value or b"").model_dump(mode="json"))
        except ValueError:
            continue
    return fold.changes


@dataclass
class ChangeReport:
    expected: int
    received: int
    distinct: int
    missing: list[str]
    unexpected: list[str]
    inconsistent: list[str]
    """change_ids received more than once with different content."""

    @property
    def duplicates_after_dedup(self) -> int:
        return len(self.inconsistent)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.inconsistent)


def compare_changes(expected: dict[str, str], received_values: Iterable[bytes]) -> ChangeReport:
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
    kinds = {cid: c["kind"] for cid, c in seen.items()}
    missing = sorted(cid for cid in expected if cid not in kinds)
    unexpected = sorted(cid for cid in kinds if cid not in expected or expected[cid] != kinds[cid])
    return ChangeReport(len(expected), count, len(seen), missing, unexpected, inconsistent)

"""The oracle's own rules, without a broker: a judge that cannot tell a wrong change from a
right one would pass every scenario."""

from __future__ import annotations

from typing import Any

import orjson

from tests.soak.oracle import Transition, compare_changes, expected_changes


def add(
    event_id: str, occurred: str, score: float, position: str = "", recorded: str = "2026-01-01T00:00:00Z"
) -> bytes:
    stance = {
        "actor_id": "a",
        "issue_id": "i",
        "position": position or ("support" if score > 0 else "oppose"),
        "score": score,
        "confidence": 0.5,
        "event_id": event_id,
        "occurred_at": {"at": occurred, "precision": "second"},
        "recorded_at": recorded,
    }
    return orjson.dumps(
        {"op": "add", "actor_id": "a", "issue_id": "i", "event_id": event_id, "stance": stance}
    )


def remove(event_id: str) -> bytes:
    return orjson.dumps({"op": "remove", "actor_id": "a", "issue_id": "i", "event_id": event_id})


def test_kinds_threshold_ties_and_fallback() -> None:
    log = [
        add("e1", "2025-01-01T00:00:00Z", 0.5),
        add("e2", "2025-01-02T00:00:00Z", 0.3),  # moves by exactly 0.2: shifted
        add("e3", "2025-01-03T00:00:00Z", 0.49),  # 0.19: the view moves, no change
        add("e0", "2024-12-01T00:00:00Z", -0.9),  # late in event time: no change
        add("e4", "2025-01-03T00:00:00Z", -0.5, recorded="2026-01-02T00:00:00Z"),  # tie: later recorded_at
        remove("e4"),  # falls back to e3
        add("e4", "2025-01-03T00:00:00Z", -0.5, recorded="2026-01-02T00:00:00Z"),  # withdrawn stays out
        add("e5", "2025-01-04T00:00:00Z", 0.1, position="neutral"),  # another position: shifted
        b"not a claim operation",
        orjson.dumps({"op": "add", "actor_id": "a", "issue_id": "i", "event_id": "ghost"}),
        remove("e5"),
        remove("e3"),
        remove("e2"),
        remove("e1"),
        remove("e0"),  # the last claim: withdrawn to nothing
    ]
    assert expected_changes(log, 0.2) == {
        ("a", "i", "new", None, "e1"),
        ("a", "i", "shifted", "e1", "e2"),
        ("a", "i", "reversed", "e3", "e4"),
        ("a", "i", "withdrawn", "e4", "e3"),
        ("a", "i", "shifted", "e3", "e5"),
        ("a", "i", "withdrawn", "e5", "e3"),
        ("a", "i", "withdrawn", "e3", "e2"),
        ("a", "i", "withdrawn", "e2", "e1"),
        ("a", "i", "withdrawn", "e1", "e0"),
        ("a", "i", "withdrawn", "e0", None),
    }


def change(change_id: str, kind: str, previous: str | None, current: str | None, **extra: Any) -> bytes:
    def stance(event_id: str | None) -> dict[str, str] | None:
        return None if event_id is None else {"event_id": event_id}

    body = {"change_id": change_id, "actor_id": "a", "issue_id": "i", "kind": kind}
    return orjson.dumps(body | {"previous": stance(previous), "current": stance(current)} | extra)


def test_the_comparison_finds_missing_invented_and_inconsistent_changes() -> None:
    expected: set[Transition] = {("a", "i", "new", None, "e1"), ("a", "i", "shifted", "e1", "e2")}
    exact = [change("c1", "new", None, "e1"), change("c2", "shifted", "e1", "e2")]
    assert compare_changes(expected, exact + exact[:1]).ok  # a repeat with one id and one content
    report = compare_changes(
        expected,
        [
            change("c1", "new", None, "e1"),
            change("c1", "new", None, "e1", detected_at="x", event_id="other"),  # one id, two contents
            change("c3", "new", None, "e1"),  # one change, two ids
            change("c4", "reversed", "e1", "e2"),  # the wrong kind
        ],
    )
    assert report.missing == [str(("a", "i", "shifted", "e1", "e2"))]
    assert len(report.unexpected) == 1 and "reversed" in report.unexpected[0]
    assert len(report.inconsistent) == 2 and not report.ok

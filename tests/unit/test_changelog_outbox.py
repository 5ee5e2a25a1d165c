"""The worker's changelog outbox keeps each event's table writes apart (streams/worker/tables.py)."""

from __future__ import annotations

import weakref
from typing import Any

from faust.streams import _current_event

from streams.worker.tables import ChangelogOutbox


class FakeEvent:
    """Stands in for a faust event: the outbox only needs the current event's identity."""


def during(event: Any, outbox: ChangelogOutbox, *keys: bytes) -> None:
    token = _current_event.set(weakref.ref(event))
    try:
        for key in keys:
            outbox.add(("app-stance-history-changelog", 3, key, b"{}"))
    finally:
        _current_event.reset(token)


def test_each_event_takes_only_its_own_writes() -> None:
    """The agents share one loop: a step that pauses must not have its writes sent (and
    its event acknowledged) by another agent's step, nor send that step's writes."""
    outbox = ChangelogOutbox()
    first, second = FakeEvent(), FakeEvent()
    during(first, outbox, b"a|x|1")
    during(second, outbox, b"b|y|2")
    during(first, outbox, b"a|x")

    assert [key for _, _, key, _ in outbox.take(second)] == [b"b|y|2"]
    assert [key for _, _, key, _ in outbox.take(first)] == [b"a|x|1", b"a|x"]
    assert outbox.take(first) == []
    assert outbox.records == {}

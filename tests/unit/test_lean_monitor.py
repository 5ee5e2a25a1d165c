"""The lean monitor keeps what faust's consumer reads to tell a busy stream from a stalled one."""

from __future__ import annotations

from typing import Any, cast

from faust.types import TP

from streams.worker.app import LeanMonitor


def test_stream_inbound_time_is_kept_per_partition() -> None:
    monitor = LeanMonitor()
    tp = TP("diplomacy.events", 2)
    monitor.on_stream_event_in(tp, 41, cast(Any, None), cast(Any, None))
    first = monitor.stream_inbound_time[tp]
    monitor.on_stream_event_in(tp, 42, cast(Any, None), cast(Any, None))
    assert monitor.stream_inbound_time[tp] >= first
    assert set(monitor.stream_inbound_time) == {tp}
    assert monitor.events_total == 0  # the rest of faust's per-event bookkeeping stays off

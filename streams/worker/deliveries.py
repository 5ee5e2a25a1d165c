"""An event is acknowledged only once every record its step sent has reached Kafka.

aiokafka's flush does not raise, and faust flushes before it commits, so a
send that failed after the step returned used to be committed past: the
claims, change or changelog records were lost with a log line. Here each
event's sends are counted and the event is acked when the last one has
succeeded. A failure that a retry may cure leaves the event unacked: the
commit holds there and the partition is read again from it (`offsets.HoleWatch`).
Any other failure sends the event to the dead-letter topic, and the event is
acked once that send has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError

Settle = Callable[[list[BaseException]], None]
"""Called once, when the sends are over: with no errors, or with every one."""


class Delivery:
    """The sends made for one event; `settle` runs once they are all done and `close` was called."""

    def __init__(self, settle: Settle) -> None:
        self.settle = settle
        self.pending = 0
        self.errors: list[BaseException] = []
        self.closed = False
        self.settled = False

    def track(self, future: Any) -> None:
        self.pending += 1
        future.add_done_callback(self._done)

    def close(self) -> None:
        """No more sends for this event."""
        self.closed = True
        self._maybe_settle()

    def _done(self, future: Any) -> None:
        self.pending -= 1
        if future.cancelled():
            self.errors.append(RuntimeError("the send was cancelled"))
        elif future.exception() is not None:
            self.errors.append(future.exception())
        self._maybe_settle()

    def _maybe_settle(self) -> None:
        if self.closed and self.pending == 0 and not self.settled:
            self.settled = True
            self.settle(self.errors)


def retriable(errors: list[BaseException]) -> bool:
    """True when every failure is one Kafka says a later attempt may not meet (a broker away)."""
    return all(isinstance(error, KafkaError) and error.retriable for error in errors)

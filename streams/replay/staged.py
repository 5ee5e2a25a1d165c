"""Replay in two processes: events in this one, stances in a second (`timeline rebuild`).

The pipeline has two steps keyed differently, events by event_id and claims
by actor, which the workers join through the claims topic. A rebuild joins
them through a pipe instead: this process decodes, deduplicates and retracts
(`Pipeline.on_event` and `on_retract` over the events store) and sends each
claim op, in order, to a stance process that folds them (`fold_claim` over
the stance stores). The same code in the same order as `Replay`, so the same
state and hash (a unit test holds the two equal); each step gets a core.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from schemas.registry_log import RegistryView
from schemas.stances import StanceChange
from streams.core.dead_letters import DeadLetter, error_text
from streams.core.pipeline import CatchUp, Pipeline, fold_claim, utc_now
from streams.core.records import ClaimOp, RetractRequest
from streams.core.stance_book import StanceBook
from streams.core.stores import CURRENT, EVENTS, HISTORY
from streams.replay.memory import Outcome

BATCH = 2000
"""Claim ops per message on the pipe: few enough system calls, little held in flight."""


class StanceStageStopped(RuntimeError):
    """The stance process is gone (killed, or out of memory): the rebuild cannot go on."""


@dataclass
class StagedReplay:
    registry: RegistryView
    threshold: float = 0.2
    clock: Callable[[], datetime] = utc_now
    max_event_bytes: int | None = None
    catch_up: CatchUp | None = None
    """Reads the registry topic on when the view is behind an event (`RegistryReader.catch_up`)."""
    events: dict[bytes, bytes] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __post_init__(self) -> None:
        # fork: the child runs one plain function and needs nothing re-imported; spawn would
        # re-run the caller's main module (a script without a main guard would start over).
        context: Any = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=fold_stances,
            args=(child_end, self.threshold, self.clock),
            name="stance-stage",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._batch: list[bytes] = []
        # The stance book here stays empty: claim ops go to the stance process.
        self.pipeline = Pipeline(
            self.events, StanceBook({}, {}, self.threshold), self.registry, self.clock, self.max_event_bytes
        )

    async def feed(self, key: bytes | None, value: bytes | None, timestamp_ms: int) -> None:
        """One record of the event log; one that raises is dead-lettered, as in `Replay`."""
        try:
            await self.pipeline.on_event_caught_up(key, value, timestamp_ms, self, self.catch_up)
        except StanceStageStopped:
            raise  # not the record's fault: the rebuild stops
        except Exception as error:  # noqa: BLE001 - dead-lettered with its reason, never fatal
            await self.dead_letter(key, value, "processing_error", error_text(error))

    def finish(self) -> Outcome:
        """Send the last claim ops, wait for the stance process, and put the state together."""
        self._flush()
        self._pipe.send_bytes(b"")
        try:
            current, history, changes, dead_letters = self._pipe.recv()
        except EOFError as error:
            self._process.join(5)
            raise StanceStageStopped(
                f"the stance process stopped (exit code {self._process.exitcode})"
            ) from error
        self._process.join(30)
        return Outcome(
            stores={EVENTS: self.events, CURRENT: current, HISTORY: history},
            changes=changes,
            dead_letters=self.dead_letters + dead_letters,
        )

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)

    def _flush(self) -> None:
        if self._batch:
            try:
                self._pipe.send_bytes(b"\n".join(self._batch))  # JSON never holds a raw newline
            except OSError as error:
                self._process.join(5)
                raise StanceStageStopped(
                    f"the stance process stopped (exit code {self._process.exitcode}): {error}"
                ) from error
            self._batch = []

    # -- the Emitter protocol -------------------------------------------------

    async def dead_letter(self, key: bytes | None, value: bytes | None, reason: str, error: str) -> None:
        self.dead_letters.append(DeadLetter(key, value, reason, error))

    async def claim(self, actor_id: str, op: bytes) -> None:
        self._batch.append(op)
        if len(self._batch) >= BATCH:
            self._flush()

    async def retract(self, request: RetractRequest) -> None:
        await self.pipeline.on_retract(request, self)

    async def change(self, change: StanceChange) -> None:
        raise AssertionError("changes are made in the stance process")


def fold_stances(pipe: Connection, threshold: float, clock: Callable[[], datetime]) -> None:
    """The stance process: fold claim ops until an empty message, then send back the stores."""
    current: dict[bytes, bytes] = {}
    history: dict[bytes, bytes] = {}
    book = StanceBook(current, history, threshold)
    changes = 0
    dead_letters: list[DeadLetter] = []
    while message := pipe.recv_bytes():
        for line in message.split(b"\n"):
            try:
                if fold_claim(book, ClaimOp.model_validate_json(line), clock()) is not None:
                    changes += 1
            except Exception as error:  # noqa: BLE001 - as the stances agent: dead-lettered, never fatal
                dead_letters.append(DeadLetter(None, line, "processing_error", error_text(error)))
    result: Any = (current, history, changes, dead_letters)
    pipe.send(result)
    pipe.close()

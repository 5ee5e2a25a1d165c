"""Replay: the pipeline applied to records in order, in memory, with no worker.

`timeline rebuild` reads the log with aiokafka in batches and feeds it here;
unit tests feed lists. Each step's output goes straight into the next step
instead of through a topic, so the state equals what the workers build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from schemas.registry_log import RegistryView
from schemas.stances import StanceChange
from streams.core.dead_letters import DeadLetter, error_text
from streams.core.pipeline import CatchUp, Pipeline, utc_now
from streams.core.records import ClaimOp, RetractRequest
from streams.core.stance_book import StanceBook
from streams.core.state_hash import state_hash
from streams.core.stores import CURRENT, DEFAULT_PARTITIONS, EVENTS, HISTORY


@dataclass
class Outcome:
    """What a replay made: the three stores, how many changes, and the dead letters."""

    stores: dict[str, dict[bytes, bytes]]
    changes: int
    dead_letters: list[DeadLetter]

    def hash(self, partitions: int = DEFAULT_PARTITIONS) -> str:
        return state_hash(self.stores, partitions)


@dataclass
class Replay:
    """In-memory stores, the pipeline over them, and what came out."""

    registry: RegistryView
    threshold: float = 0.2
    clock: Callable[[], datetime] = utc_now
    max_event_bytes: int | None = None
    catch_up: CatchUp | None = None
    """Reads the registry topic on when the view is behind an event (`RegistryReader.catch_up`)."""
    events: dict[bytes, bytes] = field(default_factory=dict)
    current: dict[bytes, bytes] = field(default_factory=dict)
    history: dict[bytes, bytes] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    changes: list[StanceChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(
            self.events,
            StanceBook(self.current, self.history, self.threshold),
            self.registry,
            self.clock,
            self.max_event_bytes,
        )

    async def feed(self, key: bytes | None, value: bytes | None, timestamp_ms: int) -> None:
        """One record of the event log; a record whose processing raises is dead-lettered,
        as the worker's agents do, so one poison record never stops a rebuild."""
        try:
            await self.pipeline.on_event_caught_up(key, value, timestamp_ms, self, self.catch_up)
        except Exception as error:  # noqa: BLE001 - dead-lettered with its reason, never fatal
            await self.dead_letter(key, value, "processing_error", error_text(error))

    # -- the Emitter protocol: straight into the next step --------------------

    async def dead_letter(self, key: bytes | None, value: bytes | None, reason: str, error: str) -> None:
        self.dead_letters.append(DeadLetter(key, value, reason, error))

    async def claim(self, actor_id: str, op: bytes) -> None:
        await self.pipeline.on_claim(ClaimOp.model_validate_json(op), self)

    async def retract(self, request: RetractRequest) -> None:
        await self.pipeline.on_retract(request, self)

    async def change(self, change: StanceChange) -> None:
        self.changes.append(change)

    def finish(self) -> Outcome:
        return Outcome(self.stores(), len(self.changes), self.dead_letters)

    def close(self) -> None:
        """Nothing to release (the staged replay stops its process here)."""

    def stores(self) -> dict[str, dict[bytes, bytes]]:
        return {EVENTS: self.events, CURRENT: self.current, HISTORY: self.history}

    def hash(self, partitions: int = DEFAULT_PARTITIONS) -> str:
        return state_hash(self.stores(), partitions)

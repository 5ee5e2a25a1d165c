"""The registry as a log: every version of every actor and issue, each with the time it was
registered, and the registry as it stood at any instant. Pure (the topic is read in
`streams.registry`).

The value of a record of `diplomacy.registry` (key `actor:ID` or `issue:ID`) is the actor or
issue document plus `registered_at` and `retired`. Ids are retired, never deleted.

The stream side decides an event against `as_of(recorded_at)`: every id with a version
registered at or before that instant, retired ones too. That set only grows as records are
read, so a reader that is behind can only find an id missing, never one too many; on a
missing id it reads the topic to its end first (`complete_through`), and then live processing
and any replay decide the same way (docs/semantics.md, "The registry, as of recorded_at").
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

import orjson
from pydantic import AwareDatetime, Field, ValidationError

from schemas.actors import Actor
from schemas.issues import Issue
from schemas.registry import Registry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""`registered_at` of the first load into an empty registry topic: the registry the files held
before it was in the log, so events recorded before that load are decided as they were."""
NEVER = datetime.min.replace(tzinfo=UTC)
ALWAYS = datetime.max.replace(tzinfo=UTC)


class ActorRecord(Actor):
    """One version of an actor on the registry topic (key `actor:ID`)."""

    registered_at: AwareDatetime = Field(description="From when this version counts.")
    retired: bool = Field(default=False, description="A retired id is refused by publishers, never reused.")


class IssueRecord(Issue):
    """One version of an issue on the registry topic (key `issue:ID`)."""

    registered_at: AwareDatetime = Field(description="From when this version counts.")
    retired: bool = Field(default=False, description="A retired id is refused by publishers, never reused.")


RegistryRecord = ActorRecord | IssueRecord
Entity = Actor | Issue
_META = {"registered_at", "retired"}


def key_of(entity: Entity) -> str:
    """`actor:ID` or `issue:ID`: the record key of an actor or issue (or of one of its versions)."""
    return f"{'actor' if isinstance(entity, Actor) else 'issue'}:{entity.id}"


def entity_of(record: RegistryRecord) -> Entity:
    """The actor or issue a record holds, without its registration."""
    document = record.model_dump(exclude=_META)
    return (
        Actor.model_validate(document) if isinstance(record, ActorRecord) else Issue.model_validate(document)
    )


def record_of(entity: Entity, registered_at: datetime, retired: bool = False) -> RegistryRecord:
    document = {**entity.model_dump(), "registered_at": registered_at, "retired": retired}
    if isinstance(entity, Actor):
        return ActorRecord.model_validate(document)
    return IssueRecord.model_validate(document)


def encode_record(record: RegistryRecord) -> tuple[bytes, bytes]:
    """The record's key and value as written to the topic (defaults left out, as in registry files)."""
    value = record.model_dump(mode="json", exclude_defaults=True)
    value["registered_at"] = record.registered_at.isoformat().replace("+00:00", "Z")
    return key_of(record).encode(), orjson.dumps(value)


class BadRecord(ValueError):
    """A record of the registry topic that is not an actor or issue document under its key."""


def decode_record(key: bytes | None, value: bytes | None) -> RegistryRecord:
    """Parse one record of the registry topic; `BadRecord` says why it cannot be used."""
    try:
        kind, _, wanted = (key or b"").decode().partition(":")
    except UnicodeDecodeError:
        kind, wanted = "", ""
    if kind not in ("actor", "issue"):
        raise BadRecord(f"key {key!r} is not 'actor:ID' or 'issue:ID'")
    try:
        record: RegistryRecord = (ActorRecord if kind == "actor" else IssueRecord).model_validate_json(
            value or b""
        )
    except ValidationError as error:
        raise BadRecord(f"{key!r}: {error.errors(include_url=False)[0]['msg']}") from None
    if record.id != wanted:
        raise BadRecord(f"key {key!r} names {wanted!r} but the document is {record.id!r}")
    return record


class RegistryView(Protocol):
    """What the pipeline and the publisher ask: the registry as of an instant, and up to when
    the view is known to hold every registration (a plain `Registry` holds for all time)."""

    @property
    def complete_through(self) -> datetime: ...

    def as_of(self, instant: datetime) -> Registry: ...


class RegistryNames(Protocol):
    """What the query API reads: the actors and issues by id (a `Registry`, or the live reader)."""

    @property
    def actors(self) -> Mapping[str, Actor]: ...

    @property
    def issues(self) -> Mapping[str, Issue]: ...


class RegistryHistory:
    """Every version read from the registry topic, and the registry as of any instant."""

    def __init__(self) -> None:
        self._versions: dict[str, list[tuple[datetime, int, RegistryRecord]]] = {}
        self._times: list[datetime] = []
        self._snapshots: dict[int, Registry] = {}
        self._count = 0
        self.complete_through: datetime = NEVER
        """Every registration in effect by this instant has been read (set by the reader)."""

    def __len__(self) -> int:
        return self._count

    def add(self, record: RegistryRecord) -> None:
        """One version, in the order read (versions of one key share a partition, so their order is
        the topic's); among versions registered at the same instant the later read wins."""
        self._count += 1
        insort(self._versions.setdefault(key_of(record), []), (record.registered_at, self._count, record))
        position = bisect_right(self._times, record.registered_at)
        if position == 0 or self._times[position - 1] != record.registered_at:
            self._times.insert(position, record.registered_at)
        self._snapshots.clear()

    def latest(self, key: str) -> RegistryRecord | None:
        """The newest version of `actor:ID` / `issue:ID`, future-dated ones included."""
        versions = self._versions.get(key)
        return versions[-1][2] if versions else None

    def records(self) -> list[RegistryRecord]:
        """The newest version of every key, by key."""
        return [versions[-1][2] for _, versions in sorted(self._versions.items())]

    def versions(self, key: str) -> list[RegistryRecord]:
        return [record for _, _, record in self._versions.get(key, [])]

    def as_of(self, instant: datetime) -> Registry:
        """Every id with a version registered at or before `instant`, each as its latest such
        version; retired ids included (and named in `retired`): the stream side's view."""
        index = bisect_right(self._times, instant)
        found = self._snapshots.get(index)
        if found is None:
            found = self._snapshots[index] = self._build(self._times[index - 1] if index else None)
        return found

    def current(self) -> Registry:
        """Every id's newest version (the query API's view)."""
        return self.as_of(ALWAYS)

    def _build(self, until: datetime | None) -> Registry:
        actors: dict[str, Actor] = {}
        issues: dict[str, Issue] = {}
        retired: set[str] = set()
        if until is not None:
            for versions in self._versions.values():
                chosen = [record for registered_at, _, record in versions if registered_at <= until]
                if not chosen:
                    continue
                record = chosen[-1]
                entity = entity_of(record)
                if isinstance(entity, Actor):
                    actors[entity.id] = entity
                else:
                    issues[entity.id] = entity
                if record.retired:
                    retired.add(key_of(record))
        return Registry(actors=actors, issues=issues, retired=frozenset(retired))

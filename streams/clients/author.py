"""Validate event files as the publisher would, with pydantic alone: for authors of events.

`timeline publish --dry-run` needs the whole install (faust, aiokafka,
FastAPI); an author checking a file before handing it on needs only pydantic,
orjson and PyYAML, so this module imports nothing else (a unit test holds it):

    python -m streams.clients.author my-events.jsonl [--registry my-actors.yaml]

The checks are the publisher's own (`prepare_event`, which the publisher
imports from here), so a file that passes here publishes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.events import DiplomaticEvent, EventRejected, derive_event_id, encode_event, parse_event
from schemas.registry import UnknownReferenceError
from schemas.registry_log import RegistryView
from streams.drafting.marker import REFUSAL, is_draft
from streams.registry_files import RegistryFileError, load_registry, registry_paths

EventInput = DiplomaticEvent | dict[str, Any] | str | bytes

DEFAULT_MAX_EVENT_BYTES = 256 * 1024
"""`Settings.max_event_bytes`'s default, read here without pydantic-settings (a unit test holds
them equal)."""
EXIT_INVALID = 1
EXIT_REGISTRY = 5
"""The exit codes of `timeline publish` for invalid events and a broken registry (README, exit codes)."""


class InvalidEventError(ValueError):
    """An event the publisher refuses, with a reason code and a message naming the fields."""

    def __init__(self, reason: str, message: str, line: int | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.reason = reason
        self.message = message
        self.line = line


def prepare_event(
    raw: EventInput,
    registry: RegistryView,
    max_bytes: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    line: int | None = None,
) -> tuple[DiplomaticEvent, bytes]:
    """Validate, resolve aliases, fill `event_id` and `recorded_at`; return the event and its bytes.

    The event is checked against the registry as of the `recorded_at` it gets, as the stream
    will check it, and retired ids are refused.
    """
    recorded_at = now()
    if is_draft(raw):
        raise InvalidEventError("draft", REFUSAL, line)
    try:
        document: Any = raw.model_dump() if isinstance(raw, BaseModel) else raw
        event = parse_event(document)
        event = registry.as_of(recorded_at).without_retired().canonicalize(event)
    except EventRejected as error:
        raise InvalidEventError(error.reason, error.message, line) from error
    except UnknownReferenceError as error:
        raise InvalidEventError("unknown_reference", str(error), line) from error
    updates: dict[str, Any] = {"recorded_at": recorded_at}
    if event.event_id is None:
        updates["event_id"] = derive_event_id(event)
    event = event.model_copy(update=updates)
    encoded = encode_event(event)
    if len(encoded) > max_bytes:
        raise InvalidEventError(
            "oversized",
            f"event is {len(encoded)} bytes, more than the limit of {max_bytes} (TIMELINE_MAX_EVENT_BYTES)",
            line,
        )
    return event, encoded


def check_lines(
    lines: Iterable[bytes], registry: RegistryView, max_bytes: int
) -> tuple[int, list[InvalidEventError]]:
    """How many non-blank lines are valid events, and the problem of each that is not."""
    valid, problems = 0, []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            prepare_event(line, registry, max_bytes, line=number)
            valid += 1
        except InvalidEventError as error:
            problems.append(error)
    return valid, problems


def main(argv: Sequence[str] | None = None) -> int:
    """Check each file; print a line per invalid event; exit 0, 1 (invalid) or 5 (registry)."""
    parser = argparse.ArgumentParser(
        prog="timeline-check", description="Validate JSONL event files as 'timeline publish' would."
    )
    parser.add_argument("files", nargs="+", type=Path, help="JSONL files, one event per line ('-' for stdin)")
    parser.add_argument(
        "--registry",
        action="append",
        type=Path,
        default=None,
        help="an extra registry YAML file (repeatable); default TIMELINE_REGISTRY_FILES",
    )
    arguments = parser.parse_args(argv)
    try:
        extra = arguments.registry or registry_paths(os.environ.get("TIMELINE_REGISTRY_FILES", ""))
        registry = load_registry(extra)
    except RegistryFileError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_REGISTRY
    except ValueError as error:
        print(f"error: TIMELINE_REGISTRY_FILES: {error}", file=sys.stderr)
        return 2
    max_bytes = int(os.environ.get("TIMELINE_MAX_EVENT_BYTES", DEFAULT_MAX_EVENT_BYTES))
    invalid = 0
    for path in arguments.files:
        try:
            text = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        except OSError as error:
            print(f"error: {path}: {error.strerror or error}", file=sys.stderr)
            return 2
        valid, refused = check_lines(text.splitlines(), registry, max_bytes)
        for refusal in refused:
            print(f"invalid: {path}: {refusal} [{refusal.reason}]", file=sys.stderr)
        print(f"{path}: {valid} valid event(s), {len(refused)} invalid")
        invalid += len(refused)
    return EXIT_INVALID if invalid else 0


if __name__ == "__main__":
    sys.exit(main())

"""Read old event documents as the current schema (upcasting, on raw JSON).

The log is kept forever, so every version ever written must stay readable.
Each step rewrites a document of version N into version N+1; readers apply
the steps in order before validation.

Version 0 (the first drafts, before `schema_version` existed) had `kind`
instead of `type`, a plain `date`, one `actor` string and `claims` with
`stance` instead of `position`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

CURRENT_SCHEMA_VERSION: Final = 1
"""The version this reader writes; `schemas.events` pins `schema_version` to it."""

Document = dict[str, Any]


class UnsupportedSchemaVersionError(ValueError):
    pass


def _v0_to_v1(document: Document) -> Document:
    upgraded = {key: value for key, value in document.items() if key not in _V0_ONLY_FIELDS}
    if "kind" in document:
        upgraded["type"] = document["kind"]
    if "date" in document:
        upgraded["occurred_at"] = document["date"]
    if "actor" in document:
        upgraded["actors"] = [{"actor_id": document["actor"], "role": "speaker"}]
    if "claims" in document:
        upgraded["stances"] = [
            {
                "actor_id": claim.get("actor", document.get("actor")),
                "issue_id": claim.get("issue"),
                "position": claim.get("stance"),
                "score": claim.get("score"),
                "confidence": claim.get("confidence", 1.0),
                **({"quote": claim["quote"]} if claim.get("quote") else {}),
            }
            for claim in document["claims"]
        ]
    upgraded["schema_version"] = 1
    return upgraded


_V0_ONLY_FIELDS = frozenset({"kind", "date", "actor", "claims"})

UPCASTERS: dict[int, Callable[[Document], Document]] = {0: _v0_to_v1}
"""Version N -> the step that turns a version-N document into version N+1."""


def upcast(document: Document) -> Document:
    """Bring a raw event document up to `CURRENT_SCHEMA_VERSION`."""
    version = document.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UnsupportedSchemaVersionError(f"schema_version must be a whole number, got {version!r}")
    if version > CURRENT_SCHEMA_VERSION or version < 0:
        raise UnsupportedSchemaVersionError(
            f"schema_version {version} is not known to this reader (it reads 0 to"
            f" {CURRENT_SCHEMA_VERSION}); upgrade diplomatic-timeline to read it"
        )
    while version < CURRENT_SCHEMA_VERSION:
        document = UPCASTERS[version](document)
        version = document["schema_version"]
    return document

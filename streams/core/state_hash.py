"""A SHA-256 of the canonical state, to compare a replay with the live view.

See docs/semantics.md, "Replay is exact".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

from streams.core.records import is_withdrawn
from streams.core.stores import EVENTS, HISTORY, STORE_NAMES

BOOKKEEPING = ("made_current", "replaced", "was_current")
"""Fields of a stored stance that record the order claims arrived in (for re-sending a
change after a crash), not the state: a replay in another order differs there only."""


def canonical(name: str, value: bytes) -> bytes:
    if name == EVENTS:
        return value
    document = orjson.loads(value)
    for field in BOOKKEEPING:
        document.pop(field, None)
    return orjson.dumps(document)


def state_hash(stores: Mapping[str, Mapping[bytes, bytes]]) -> str:
    """Hash every (store, key, canonical value) in sorted order; equal state gives an equal hash.

    Tombstones of withdrawn claims are left out: they keep a withdrawal safe from a crash,
    and whether one exists depends on the order a claim and its retraction arrived in.
    """
    digest = hashlib.sha256()
    for name in STORE_NAMES:
        store = stores.get(name, {})
        for key in sorted(store):
            if name == HISTORY and is_withdrawn(store[key]):
                continue
            value = canonical(name, store[key])
            for part in (name.encode(), key, value):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.hexdigest()

"""A SHA-256 of the canonical state, to compare a replay with the live view (rule 4)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

STORES = ("events", "stance-current", "stance-history")


def state_hash(stores: Mapping[str, Mapping[bytes, bytes]]) -> str:
    """Hash every (store, key, value) in sorted order; equal state gives an equal hash."""
    digest = hashlib.sha256()
    for name in STORES:
        store = stores.get(name, {})
        for key in sorted(store):
            value = store[key]
            for part in (name.encode(), key, value):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.hexdigest()

"""Dead letters: a record that could not be processed, with its bytes and its reason.

Shared by the live agents and every replay, so that both say the same about
the same bad record (docs/semantics.md, "Nothing is lost").
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass


def error_text(error: BaseException) -> str:
    """What a dead letter says about the exception that stopped its record."""
    return "".join(traceback.format_exception_only(error)).strip()


@dataclass
class DeadLetter:
    key: bytes | None
    value: bytes | None
    reason: str
    error: str

"""Shared test helpers: paths of the repository's data files.

The soak scenarios (tests/soak) take many minutes: `make soak` runs them with
TIMELINE_SOAK=1; a plain `pytest` (and `make test`) leaves them out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

collect_ignore = [] if os.environ.get("TIMELINE_SOAK") == "1" else ["soak"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO

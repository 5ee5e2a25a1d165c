"""`make help` lists every target: each phony target carries a `## description`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def phony_targets(makefile: str) -> set[str]:
    line = next(line for line in makefile.splitlines() if line.startswith(".PHONY:"))
    return set(line.removeprefix(".PHONY:").split())


def test_every_phony_target_has_a_help_line(repo: Path) -> None:
    makefile = (repo / "Makefile").read_text()
    described = set(re.findall(r"^([a-z-]+):[^\n]*## ", makefile, flags=re.M))
    assert phony_targets(makefile) - described == set()


def test_make_help_prints_every_target(repo: Path) -> None:
    shown = subprocess.run(["make", "-s", "help"], cwd=repo, capture_output=True, text=True, check=True)
    listed = {line.split()[1] for line in shown.stdout.splitlines() if line.startswith("make ")}
    assert listed == phony_targets((repo / "Makefile").read_text())

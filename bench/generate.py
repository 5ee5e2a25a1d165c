"""Synthetic diplomatic events for the benchmarks: realistic size, skew and disorder.

About 500 bytes each, 2,000 actors, 50 issues; keys drawn with a Zipf-like
skew so that some (actor, issue) keys get long histories; about 20% of claims
change the key's stance; about 10% arrive out of order in event time.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml

ACTORS = 2000
ISSUES = 50
BASE = datetime(2020, 1, 1, tzinfo=UTC)
WORDS = (
    "minister talks summit ceasefire sanctions guarantee treaty envoy delegation security border "
    "dialogue negotiations support opposition statement visit agreement council alliance reform"
).split()


def actor_id(index: int) -> str:
    return f"bench-actor-{index:04d}"


def issue_id(index: int) -> str:
    return f"bench-issue-{index:02d}"


def write_registry(path: Path) -> Path:
    """A registry file with the synthetic actors and issues (TIMELINE_REGISTRY_FILES)."""
    document = {
        "actors": [
            {"id": actor_id(i), "name": f"Bench Actor {i}", "kind": "person", "country": "GBR"}
            for i in range(ACTORS)
        ],
        "issues": [{"id": issue_id(i), "title": f"Bench issue {i}"} for i in range(ISSUES)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def events(count: int, seed: int = 7, keys: int | None = None) -> Iterator[bytes]:
    """`count` encoded events (with event_id and recorded_at set, as the publisher leaves them)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(ACTORS)]
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    positions: dict[tuple[int, int], float] = {}
    recorded = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(count):
        if keys is None:
            actor = _pick(rng, cumulative, total)
            issue = rng.randrange(ISSUES)
        else:
            actor, issue = divmod(rng.randrange(keys), ISSUES)
        score = positions.get((actor, issue))
        if score is None or rng.random() < 0.2:
            score = round(rng.uniform(-1, 1), 2) or 0.1
        else:
            score = max(-1.0, min(1.0, round(score + rng.uniform(-0.05, 0.05), 2))) or 0.1
        positions[(actor, issue)] = score
        day = number / 50
        if rng.random() < 0.1:
            day -= rng.uniform(1, 60)  # out of order in event time
        occurred = BASE + timedelta(days=day)
        summary = " ".join(rng.choice(WORDS) for _ in range(22))
        document = {
            "schema_version": 1,
            "event_id": f"bench-{seed}-{number:08d}",
            "type": "statement",
            "occurred_at": {"at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"), "precision": "second"},
            "recorded_at": (recorded + timedelta(milliseconds=number)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actors": [{"actor_id": actor_id(actor), "role": "speaker"}],
            "summary": summary,
            "stances": [
                {
                    "actor_id": actor_id(actor),
                    "issue_id": issue_id(issue),
                    "position": "support" if score > 0 else "oppose",
                    "score": score,
                    "confidence": 0.8,
                }
            ],
        }
        yield orjson.dumps(document)


def _pick(rng: random.Random, cumulative: list[float], total: float) -> int:
    import bisect

    return bisect.bisect_left(cumulative, rng.random() * total)

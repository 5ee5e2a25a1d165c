"""`python -m bench.drafting`: how close `timeline draft` comes to hand-made events.

Each `tests/data/NAME.txt` is drafted (its publication day and outlet from the expected file's
first source) and compared with `tests/data/NAME.expected.jsonl`. Drafted and expected events
are matched greedily: every pair is scored by the Jaccard overlap of their actor sets (actors,
quote speakers and claim holders), plus 0.5 when both give the same day; the best pair is taken
first, each event at most once, and a pair sharing no actor is never matched. Then:

- actors recall / precision: shared actors of matched pairs over all expected / drafted actors
  (an unmatched event counts all its actors as missed / wrong);
- quotes recall: expected (text, speaker) pairs drafted anywhere in the article;
- dates recall: expected events with a day (precision `day`) whose match has that day;
- claims recall: expected (actor, issue) pairs found in the matched drafted event;
- position agreement: of those found, the share with the same position.

Sums are pooled over articles for the top level. Writes bench/results/drafting.json.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from streams.drafting.compose import draft_events
from streams.registry_files import load_registry

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
RESULT = REPO / "bench" / "results" / "drafting.json"
KEYS = (
    "actors_recall",
    "actors_precision",
    "quotes_recall",
    "dates_recall",
    "claims_recall",
    "position_agreement",
)


def actors_of(event: dict[str, Any]) -> set[str]:
    found = {actor["actor_id"] for actor in event.get("actors", [])}
    found |= {quote["actor_id"] for quote in event.get("quotes", [])}
    return found | {claim["actor_id"] for claim in event.get("stances", [])}


def day_of(event: dict[str, Any]) -> str | None:
    when = event["occurred_at"]
    if isinstance(when, dict):
        return when["at"][:10] if when.get("precision") == "day" else None
    return when[:10] if len(when) >= 10 else None


def match(drafted: list[dict[str, Any]], expected: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Greedy pairs (drafted index, expected index), best score first (module docstring)."""
    scored = []
    for d, draft in enumerate(drafted):
        for e, wanted in enumerate(expected):
            shared = actors_of(draft) & actors_of(wanted)
            if not shared:
                continue
            score = len(shared) / len(actors_of(draft) | actors_of(wanted))
            if day_of(draft) is not None and day_of(draft) == day_of(wanted):
                score += 0.5
            scored.append((score, d, e))
    pairs, used_d, used_e = [], set(), set()
    for _score, d, e in sorted(scored, key=lambda item: (-item[0], item[1], item[2])):
        if d not in used_d and e not in used_e:
            pairs.append((d, e))
            used_d.add(d)
            used_e.add(e)
    return pairs


def counts(drafted: list[dict[str, Any]], expected: list[dict[str, Any]]) -> dict[str, int]:
    tally = dict.fromkeys(
        ("actors_hit", "actors_expected", "actors_drafted", "quotes_hit", "quotes_expected", "dates_hit",
         "dates_expected", "claims_hit", "claims_expected", "positions_agree"),
        0,
    )  # fmt: skip
    pairs = match(drafted, expected)
    partner = {e: d for d, e in pairs}
    tally["actors_drafted"] = sum(len(actors_of(event)) for event in drafted)
    drafted_quotes = {(q["text"], q["actor_id"]) for event in drafted for q in event.get("quotes", [])}
    for e, wanted in enumerate(expected):
        draft = drafted[partner[e]] if e in partner else None
        tally["actors_expected"] += len(actors_of(wanted))
        quotes = {(q["text"], q["actor_id"]) for q in wanted.get("quotes", [])}
        tally["quotes_expected"] += len(quotes)
        tally["quotes_hit"] += len(quotes & drafted_quotes)
        if day_of(wanted) is not None:
            tally["dates_expected"] += 1
            tally["dates_hit"] += int(draft is not None and day_of(draft) == day_of(wanted))
        tally["claims_expected"] += len(wanted.get("stances", []))
        if draft is None:
            continue
        tally["actors_hit"] += len(actors_of(wanted) & actors_of(draft))
        positions = {(c["actor_id"], c["issue_id"]): c["position"] for c in draft.get("stances", [])}
        for claim in wanted.get("stances", []):
            found = positions.get((claim["actor_id"], claim["issue_id"]))
            if found is not None:
                tally["claims_hit"] += 1
                tally["positions_agree"] += int(found == claim["position"])
    return tally


def ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 3) if total else None


def figures(tally: dict[str, int]) -> dict[str, Any]:
    return {
        "actors_recall": ratio(tally["actors_hit"], tally["actors_expected"]),
        "actors_precision": ratio(tally["actors_hit"], tally["actors_drafted"]),
        "quotes_recall": ratio(tally["quotes_hit"], tally["quotes_expected"]),
        "dates_recall": ratio(tally["dates_hit"], tally["dates_expected"]),
        "claims_recall": ratio(tally["claims_hit"], tally["claims_expected"]),
        "position_agreement": ratio(tally["positions_agree"], tally["claims_hit"]),
        "counts": tally,
    }


def run(data: Path = DATA, result: Path = RESULT) -> dict[str, Any]:
    registry = load_registry()
    total: dict[str, int] = {}
    articles = {}
    for text_path in sorted(data.glob("*.txt")):
        expected_path = text_path.with_name(f"{text_path.stem}.expected.jsonl")
        if not expected_path.exists():
            continue
        expected = [
            json.loads(line) for line in expected_path.read_text("utf-8").splitlines() if line.strip()
        ]
        source = dict(expected[0].get("source") or {})
        published = date.fromisoformat(str(source.get("published_at"))[:10])
        drafted, _ = draft_events(text_path.read_text("utf-8"), published, registry, source or None)
        tally = counts(drafted, expected)
        articles[text_path.stem] = figures(tally) | {"drafted": len(drafted), "expected": len(expected)}
        for key, value in tally.items():
            total[key] = total.get(key, 0) + value
    report = figures(total) | {"articles": articles}
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drafting", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="articles NAME.txt with NAME.expected.jsonl")
    parser.add_argument("--out", type=Path, default=RESULT)
    arguments = parser.parse_args()
    report = run(arguments.data, arguments.out)
    print(json.dumps({key: report[key] for key in KEYS}))


if __name__ == "__main__":
    main()

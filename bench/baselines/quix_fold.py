"""Baseline (c): the same fold in Quix Streams (3.x), with its own RocksDB state store.

Claims are repartitioned by actor (`group_by`), and per actor the state keeps
the newest claim per issue. Run: python -m bench.baselines.quix_fold
BOOTSTRAP TOPIC COUNT RESULT_JSON GROUP STATE_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from quixstreams import Application, State

from bench.baselines._common import Stopwatch, claim_of


def main(bootstrap: str, topic: str, count: int, result: Path, group: str, state_dir: str) -> None:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel="WARNING",
    )
    source = app.topic(topic, value_deserializer="bytes", key_deserializer="bytes")
    changes = app.topic(f"{group}-changes", value_serializer="json")
    stopwatch = Stopwatch(count, result)

    def parse(value: bytes) -> dict[str, Any]:
        actor, issue, order, position, score = claim_of(orjson.loads(value))
        return {"actor": actor, "issue": issue, "order": list(order), "position": position, "score": score}

    def fold(claim: dict[str, Any], state: State) -> dict[str, Any] | None:
        known = state.get(claim["issue"])
        change = None
        if known is None or known["order"] < claim["order"]:
            state.set(claim["issue"], claim)
            if known is None or known["position"] != claim["position"]:
                change = claim
        if stopwatch.tick():
            app.stop()
        return change

    sdf = app.dataframe(source).apply(parse).group_by(lambda claim: claim["actor"], name="by-actor")
    sdf = sdf.apply(fold, stateful=True).filter(lambda change: change is not None).to_topic(changes)
    app.run(sdf)


if __name__ == "__main__":
    bootstrap, topic, count, result, group, state_dir = sys.argv[1:7]
    main(bootstrap, topic, int(count), Path(result), group, state_dir)

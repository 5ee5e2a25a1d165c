"""Baseline (b): the fold written the plain faust way, with default settings.

One event per iteration, one table write per newer claim, a change sent when
the position moves. Run: python -m bench.baselines.faust_idiomatic BOOTSTRAP
TOPIC COUNT RESULT_JSON APP_ID DATADIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import faust
import orjson

from bench.baselines._common import Stopwatch, claim_of, create_topic


def build(bootstrap: str, topic: str, count: int, result: Path, app_id: str, datadir: str) -> faust.App:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=datadir,
        topic_partitions=4,
        web_enabled=False,
    )
    events = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")
    changes = app.topic(f"{app_id}-changes", value_type=bytes, value_serializer="raw", partitions=4)
    current = app.Table("current", default=None, partitions=4, value_type=bytes)
    stopwatch = Stopwatch(count, result)

    @app.agent(events)
    async def fold(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            actor, issue, order, position, score = claim_of(orjson.loads(value))
            key = f"{actor}|{issue}"
            known = current.get(key)
            if known is None or tuple(orjson.loads(known)["order"]) < order:
                current[key] = orjson.dumps({"order": order, "position": position, "score": score})
                if known is None or orjson.loads(known)["position"] != position:
                    await changes.send(key=actor.encode(), value=value)
            stopwatch.tick()

    return app


if __name__ == "__main__":
    bootstrap, topic, count, result, app_id, datadir = sys.argv[1:7]
    create_topic(bootstrap, f"{app_id}-changes")
    worker_app = build(bootstrap, topic, int(count), Path(result), app_id, datadir)
    faust.Worker(worker_app, loglevel="WARNING", quiet=True).execute_from_commandline()

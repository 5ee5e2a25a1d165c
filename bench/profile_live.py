"""Profile the live path: one worker works off a backlog while py-spy samples it.

    python -m bench.profile_live [--events 20000] [--no-profile] [--claims-only]

Starts its own broker and one `timeline worker`, produces the benchmark's
synthetic events into empty topics, and reports events/s from the first send
until the worker's view holds every event and claim (as `make bench` does).
`--claims-only` times the stance hop alone: the events' claim ops are
produced straight into the claims topic.
With py-spy (the `bench` extra) it writes a flame graph and the top functions
to bench/results/profile-live.svg and profile-live.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import events
from bench.run import (
    REPO,
    fresh_settings,
    latency,
    percentile,
    produce,
    query_latency,
    say,
    start_worker,
    wait_for_worker,
)
from bench.steps import claim_ops
from streams.kafka.local_broker import LocalBroker
from streams.registry_files import load_registry
from streams.settings import Settings
from streams.topics import ensure_topics


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def py_spy() -> Path | None:
    found = Path(sys.executable).with_name("py-spy")
    return found if found.exists() else (Path(p) if (p := shutil.which("py-spy")) else None)


async def live(
    settings: Settings,
    count: int,
    out: Path | None,
    rate: int = 0,
    queries: int = 0,
    claims_only: bool = False,
) -> float:
    await ensure_topics(settings)
    payloads = list(events(count, seed=1))
    topics = settings.topics
    if claims_only:  # the stance hop alone: the claim ops the ingest agent would send
        payloads, _ = await claim_ops(payloads, load_registry(settings.registry_files))
    home = settings.home
    worker = start_worker(settings, home)
    sampler = None
    try:
        await wait_for_worker(settings, 0, 0, timeout=120)
        await asyncio.sleep(3)
        spy = py_spy() if out is not None else None
        if spy is not None and out is not None:
            sampler = subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(worker.pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out.with_suffix(".raw")),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        started = time.perf_counter()
        cpu_before = cpu_seconds(worker.pid)
        if claims_only:
            await produce(settings, topics.claims, payloads, key_field="actor_id")
        else:
            await produce(settings, topics.events, payloads)
        await wait_for_worker(settings, 0 if claims_only else count, len(payloads), timeout=1800)
        elapsed = time.perf_counter() - started
        throughput = count / elapsed
        cpu = cpu_seconds(worker.pid) - cpu_before
        say(
            f"worker CPU {cpu:.1f} s in {elapsed:.1f} s ({100 * cpu / elapsed:.0f}% of a core), "
            f"{1e6 * cpu / count:.0f} us per event"
        )
        if rate:
            delays = await latency(settings, rate, 10.0)
            p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
            say(f"latency at {rate}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        if queries:
            timings = await query_latency(settings, queries)
            p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
            say(f"query /actors/{{id}}/stances x {queries}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        return throughput
    finally:
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(60)
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)


def summarize(raw: Path, out: Path, top: int = 40) -> None:
    """Self and total sample counts per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"{samples} samples"]
    lines.append("-- self --")
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / samples:5.1f}%  {frame}")
    lines.append("-- total --")
    for frame, count in sorted(total.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / samples:5.1f}%  {frame}")
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--no-profile", action="store_true", help="measure only, no py-spy")
    parser.add_argument("--queries", type=int, default=0, help="then this many stance queries (16 at a time)")
    parser.add_argument("--latency", type=int, default=0, help="then publish->change latency at this rate/s")
    parser.add_argument(
        "--claims-only",
        action="store_true",
        help="the stance hop alone: produce the events' claim ops straight into the claims topic",
    )
    options = parser.parse_args()
    settings = fresh_settings(REPO / ".timeline" / "profile-live", "profile.")
    out = None if options.no_profile else REPO / "bench" / "results" / "profile-live.txt"
    broker = LocalBroker(settings, say=say)
    broker.start()
    try:
        rate = asyncio.run(
            live(settings, options.events, out, options.latency, options.queries, options.claims_only)
        )
    finally:
        broker.stop()
    say(f"live: {options.events:,} events at {rate:,.0f} events/s")
    if out is not None and out.with_suffix(".raw").exists():
        summarize(out.with_suffix(".raw"), out)
        say(f"profile: {out}")


if __name__ == "__main__":
    main()

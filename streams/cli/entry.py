"""The `timeline` entry point: every command added to the root group, in its `-h` section.

The scheduler's commands live in scheduler/cli.py; they are added here, so
that `streams/cli/__init__.py` imports nothing and either side's modules can
be imported first.
"""

from __future__ import annotations

import click

from scheduler.cli import digest, scheduler_command
from streams.cli.broker import broker
from streams.cli.dlq import dlq
from streams.cli.draft import draft
from streams.cli.publish import publish
from streams.cli.queries import changes, stance, timeline_command
from streams.cli.rebuild import rebuild
from streams.cli.registry import actors, issues, registry
from streams.cli.root import main
from streams.cli.schema import schema
from streams.cli.subscribe import subscribe
from streams.cli.supervisor import down, up
from streams.cli.topics import topics
from streams.cli.worker import worker

SECTIONS: dict[str, list[click.Command]] = {
    "Broker and topics": [broker, topics],
    "Publishing and subscribing": [draft, publish, subscribe, dlq],
    "Registry": [registry, actors, issues],
    "Queries": [stance, timeline_command, changes],
    "Processes": [worker, scheduler_command, up, down, rebuild],
    "Digests": [digest],
    "Schema": [schema],
}

for section, commands in SECTIONS.items():
    for command in commands:
        main.add_command(command, section=section)

__all__ = ["main"]

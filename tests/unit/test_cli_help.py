"""`timeline -h` lists every command once, in the section of its package; no broker needed."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from streams.cli.entry import main
from streams.cli.root import OTHER, SectionedGroup

SECTIONS = [
    "Broker and topics",
    "Publishing and subscribing",
    "Registry",
    "Queries",
    "Processes",
    "Digests",
    "Schema",
]


def listed_by_section(help_text: str) -> dict[str, list[str]]:
    """The help's command sections: a heading ending in ':' and its indented rows."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in help_text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = sections.setdefault(line[:-1], [])
        elif line.startswith("  ") and current is not None:
            current.append(line.split()[0])
    return sections


def test_help_lists_every_command_in_exactly_one_section() -> None:
    result = CliRunner().invoke(main, ["-h"], prog_name="timeline")
    assert result.exit_code == 0, result.output
    sections = listed_by_section(result.output)
    assert list(sections) == ["Options", *SECTIONS]
    listed = [name for section in SECTIONS for name in sections[section]]
    assert sorted(listed) == sorted(main.commands), "a command in no section, or in two"
    assert sections["Processes"] == ["worker", "scheduler", "up", "down", "rebuild"]
    assert sections["Digests"] == ["digest"]


def test_a_command_added_without_a_section_shows_under_other() -> None:
    group = SectionedGroup("demo")
    group.add_command(click.Command("listed", help="In a section."), section="Named")
    group.add_command(click.Command("forgotten", help="In none."))
    sections = listed_by_section(CliRunner().invoke(group, ["--help"]).output)
    assert sections["Named"] == ["listed"] and sections[OTHER] == ["forgotten"]


def test_digest_and_broker_help() -> None:
    runner = CliRunner()
    digest = runner.invoke(main, ["digest", "-h"], prog_name="timeline")
    assert digest.exit_code == 0, digest.output
    assert "Usage: timeline digest" in digest.output
    assert listed_by_section(digest.output)["Commands"] == ["add", "list", "remove", "run"]
    broker = runner.invoke(main, ["broker", "-h"], prog_name="timeline")
    assert broker.exit_code == 0, broker.output
    assert listed_by_section(broker.output)["Commands"] == ["fetch", "start", "status", "stop"]


def test_python_m_streams_cli_runs_the_same_command_line() -> None:
    """`timeline up`, the integration tests and the benchmark start workers this way."""
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "-h"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Processes:" in result.stdout and "worker" in result.stdout

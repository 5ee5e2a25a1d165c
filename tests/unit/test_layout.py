"""The house rules of the layout, read from the source (no imports run).

Dependencies point one way (schemas <- streams <- scheduler, the CLI on top),
the core stays pure, and every module stays small enough to read.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "scheduler")
CLI_MODULES = ("streams.cli", "scheduler.cli")
"""The top floor: the command line, for the streams and the scheduler."""


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


ALL = list(modules())


def forbidden_for(name: str) -> tuple[str, ...]:
    if within(name, ("schemas",)):
        return ("streams", "scheduler", "faust", "aiokafka", "apscheduler", "fastapi")
    if within(name, ("streams.core",)):
        pure = ("faust", "aiokafka", "fastapi", "apscheduler")
        return ("scheduler", "streams.worker", "streams.query", "streams.replay", "streams.cli", *pure)
    if within(name, CLI_MODULES):
        return ()
    if within(name, ("streams.worker", "streams.query", "streams.clients")):
        return ("scheduler", "streams.cli", "streams.replay")  # live code never leans on offline code
    if within(name, ("streams",)):
        return ("scheduler", "streams.cli")
    return ("streams.cli",)


def test_dependencies_point_one_way() -> None:
    offenders = {
        name: wrong
        for name, path in ALL
        if (wrong := sorted(m for m in imports_of(path) if within(m, forbidden_for(name))))
    }
    assert offenders == {}


def test_modules_stay_under_400_lines() -> None:
    lengths = {name: len(path.read_text("utf-8").splitlines()) for name, path in ALL}
    assert {name: length for name, length in lengths.items() if length > 400} == {}


def test_streams_keeps_at_most_six_modules_at_its_top() -> None:
    top = sorted(path.name for path in (REPO / "streams").glob("*.py"))
    assert len(top) <= 6, top


def test_nothing_outside_the_cli_imports_it() -> None:
    outside = [*ALL, *((path.stem, path) for path in (REPO / "bench").rglob("*.py"))]
    offenders = [
        name
        for name, path in outside
        if not within(name, CLI_MODULES) and any(within(m, CLI_MODULES) for m in imports_of(path))
    ]
    assert offenders == []


KAFKA_CLIENTS = {"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient", "AIOKafkaClient"}


def test_every_kafka_client_is_built_by_the_connection_module() -> None:
    """So TLS and SASL settings reach every client (streams/kafka/connection.py)."""
    offenders = []
    for name, path in ALL:
        if name == "streams.kafka.connection":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in KAFKA_CLIENTS or any(keyword.arg == "broker" for keyword in node.keywords):
                offenders.append(f"{name}:{node.lineno} {called}")
    assert offenders == []

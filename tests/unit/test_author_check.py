"""The authors' validator (`python -m streams.clients.author`, `timeline-check`) needs pydantic
alone: it runs in a subprocess and imports none of faust, aiokafka or FastAPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streams.clients.author import DEFAULT_MAX_EVENT_BYTES, EXIT_INVALID, EXIT_REGISTRY
from streams.settings import Settings

HEAVY = ("faust", "aiokafka", "fastapi", "starlette", "uvicorn", "apscheduler", "pydantic_settings", "click")

RUN_AND_LIST_MODULES = """
import runpy, sys
sys.argv = ["timeline-check", *sys.argv[1:]]
try:
    runpy.run_module("streams.clients.author", run_name="__main__")
except SystemExit as exit:
    code = exit.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("heavy:", ",".join(heavy), file=sys.stderr)
sys.exit(code)
""".replace("HEAVY", repr(HEAVY))


def check(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_the_seed_validates_without_faust_aiokafka_or_fastapi(repo: Path) -> None:
    result = check(repo, "seed/events.jsonl")
    assert result.returncode == 0, result.stderr
    assert "seed/events.jsonl: 13 valid event(s), 0 invalid" in result.stdout
    assert "heavy: \n" in result.stderr  # none imported


def test_invalid_events_and_a_broken_registry_exit_as_timeline_publish_does(
    repo: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"type":"statement","occurred_at":"2025-02-20","summary":"x","actors":[{"actor_id":"deu","role":"speaker"}]}\n'
    )
    invalid = check(repo, str(events))
    assert invalid.returncode == EXIT_INVALID
    assert (
        "line 1: actors.0.actor_id: unknown actor 'deu'" in invalid.stderr and "heavy: \n" in invalid.stderr
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("actors: [{id: Bad Id, name: x, kind: person}]\n")
    refused = check(repo, str(events), "--registry", str(broken))
    assert refused.returncode == EXIT_REGISTRY
    assert f"error: registry file {broken}: actors entry 1 'Bad Id'" in refused.stderr


def test_its_size_limit_is_the_settings_default() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == Settings.model_fields["max_event_bytes"].default

"""Digest windows, ids, filters, rendering and the exactly-once runner (no broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.digest import build_digest, digest_id
from scheduler.ledger import Ledger
from scheduler.runner import run_subscription
from scheduler.windows import due_windows, window_containing
from schemas.stances import ChangeKind, Position, Stance, StanceChange
from schemas.subscriptions import ChangeFilter, DigestSubscription, SinkConfig
from schemas.time import EventTime, Precision
from streams.settings import Settings

LONDON = ZoneInfo("Europe/London")


def daily_london(**extra: object) -> DigestSubscription:
    return DigestSubscription.model_validate(
        {
            "id": "daily",
            "schedule": {"kind": "cron", "cron": "0 0 * * *"},
            "timezone": "Europe/London",
            **extra,
        }
    )


def test_daily_windows_across_the_spring_and_autumn_clock_changes() -> None:
    subscription = daily_london()
    spring = window_containing(subscription, datetime(2025, 3, 30, 12, tzinfo=UTC))
    assert spring == (datetime(2025, 3, 30, 0, tzinfo=UTC), datetime(2025, 3, 30, 23, tzinfo=UTC))
    assert spring[1] - spring[0] == timedelta(hours=23)
    autumn = window_containing(subscription, datetime(2025, 10, 26, 12, tzinfo=UTC))
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert autumn[0].astimezone(LONDON).hour == 0 and autumn[1].astimezone(LONDON).hour == 0


def test_due_windows_follow_on_and_coalesce() -> None:
    start = datetime(2025, 3, 29, 0, tzinfo=UTC)
    now = datetime(2025, 4, 1, 1, tzinfo=UTC)
    windows = due_windows(daily_london(), start, now)
    assert [end - begin for begin, end in windows] == [
        timedelta(hours=24),
        timedelta(hours=23),
        timedelta(hours=24),
    ]
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))
    coalesced = due_windows(daily_london(catch_up="coalesce"), start, now)
    assert coalesced == [(windows[0][0], windows[-1][1])]


def test_interval_windows_are_aligned_and_wait_for_the_grace() -> None:
    every_minute = DigestSubscription.model_validate(
        {"id": "m", "schedule": {"kind": "interval", "seconds": 60}}
    )
    assert window_containing(every_minute, datetime(2025, 1, 1, 10, 0, 30, tzinfo=UTC)) == (
        datetime(2025, 1, 1, 10, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 10, 1, tzinfo=UTC),
    )
    start = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert (
        due_windows(every_minute, start, datetime(2025, 1, 1, 10, 1, 1, tzinfo=UTC), timedelta(seconds=2))
        == []
    )
    assert (
        len(
            due_windows(every_minute, start, datetime(2025, 1, 1, 10, 1, 3, tzinfo=UTC), timedelta(seconds=2))
        )
        == 1
    )


def test_digest_ids_are_one_per_subscription_and_window() -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    assert digest_id("a", start, end) == digest_id("a", start, end)
    assert (
        len(
            {
                digest_id("a", start, end),
                digest_id("b", start, end),
                digest_id("a", start, end + timedelta(1)),
            }
        )
        == 3
    )


def change(
    actor: str, issue: str, detected: datetime, score: float = 0.6, quote: str | None = None
) -> StanceChange:
    stance = Stance(
        actor_id=actor,
        issue_id=issue,
        position=Position.SUPPORT if score > 0 else Position.OPPOSE,
        score=score,
        confidence=0.9,
        quote=quote,
        event_id=f"ev-{actor}-{issue}",
        occurred_at=EventTime(at=datetime(2025, 2, 17, tzinfo=UTC), precision=Precision.DAY),
        recorded_at=detected,
    )
    return StanceChange(
        change_id=f"chg-{actor}-{issue}-{detected.timestamp()}",
        actor_id=actor,
        issue_id=issue,
        kind=ChangeKind.NEW,
        current=stance,
        event_id=stance.event_id,
        occurred_at=stance.occurred_at,
        detected_at=detected,
    )


def test_filters_match_actors_issues_kinds_and_score_moves() -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    starmer = change("keir-starmer", "us-backstop", moment, 0.9)
    assert ChangeFilter().matches(starmer)
    assert ChangeFilter(actors=frozenset({"keir-starmer"})).matches(starmer)
    assert not ChangeFilter(actors=frozenset({"donald-trump"})).matches(starmer)
    assert not ChangeFilter(issues=frozenset({"eu"})).matches(starmer)
    assert not ChangeFilter(kinds=frozenset({ChangeKind.REVERSED})).matches(starmer)
    assert ChangeFilter(min_score_move=0.9).matches(starmer)
    assert not ChangeFilter(min_score_move=0.95).matches(starmer)


def test_rendering_groups_changes_and_escapes_script_in_html() -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    evil = '<script>alert("x")</script>'
    changes = [
        change("keir-starmer", "us-backstop", start + timedelta(hours=2), quote=evil),
        change("donald-trump", "us-backstop", start + timedelta(hours=1)),
        change("outside", "us-backstop", end),  # detected at the end: next window
    ]
    digest = build_digest(daily_london(), start, end, changes, end)
    assert [(g.actor_id, g.issue_id) for g in digest.groups] == [
        ("donald-trump", "us-backstop"),
        ("keir-starmer", "us-backstop"),
    ]
    assert digest.html is not None and digest.markdown is not None and digest.text is not None
    assert "<script>" not in digest.html and "&lt;script&gt;" in digest.html
    assert "<script>" not in digest.markdown
    assert evil in digest.text  # plain text is not markup
    assert digest.text.startswith(
        "Digest daily: 2 stance changes, 2025-01-01 00:00 UTC to 2025-01-02 00:00 UTC"
    )
    assert "happened 2025-02-17" in digest.text
    empty = build_digest(daily_london(), start, end, [], end)
    assert "No stance changes in this window." in (empty.markdown or "")


class FlakySink:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[str] = []

    async def deliver(self, digest: object) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("sink down")
        self.received.append(digest.digest_id)  # type: ignore[attr-defined]


async def test_runner_sends_each_window_once_across_restarts_and_retries_a_failing_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path, digest_grace_seconds=0, sink_attempts=1)
    subscription = DigestSubscription.model_validate(
        {
            "id": "hourly",
            "schedule": {"kind": "interval", "seconds": 3600},
            "sinks": [
                {"kind": "file", "target": str(tmp_path / "out")},
                {"kind": "webhook", "target": "http://x"},
            ],
            "start": "2025-01-01T00:30:00Z",
        }
    )
    flaky = FlakySink(failures=1)

    def make_sink(config: SinkConfig, _settings: Settings) -> object:
        if config.kind == "webhook":
            flaky.config = config  # type: ignore[attr-defined]
            return flaky
        from scheduler.sinks import FileSink

        return FileSink(config)

    monkeypatch.setattr("scheduler.runner.make_sink", make_sink)
    changes = [change("keir-starmer", "us-backstop", datetime(2025, 1, 1, 0, 45, tzinfo=UTC))]

    async def fetch(_settings: Settings, start: datetime, end: datetime) -> list[StanceChange]:
        return [c for c in changes if start <= c.detected_at < end]

    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = await run_subscription(
        settings, subscription, ledger, fetch, now=datetime(2025, 1, 1, 3, 5, tzinfo=UTC)
    )
    assert len(first.built) == 3  # 00:00-01:00, 01:00-02:00, 02:00-03:00
    assert first.built[0].change_count == 1 and first.built[1].change_count == 0
    assert len(first.failed) == 1 and flaky.received == [first.built[1].digest_id, first.built[2].digest_id]
    ledger.close()

    ledger = Ledger(tmp_path / "ledger.sqlite")  # a restart
    again = await run_subscription(
        settings, subscription, ledger, fetch, now=datetime(2025, 1, 1, 3, 30, tzinfo=UTC)
    )
    assert again.built == [] and again.delivered == [(first.built[0].digest_id, "webhook:http://x")]
    assert sorted(flaky.received) == sorted(d.digest_id for d in first.built)
    files = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert len(files) == 3 and all(name.endswith(".md") for name in files)
    assert len(ledger.deliveries("hourly")) == 6


async def test_a_change_that_reaches_the_topic_after_its_window_was_built_goes_into_the_next_digest_once(
    tmp_path: Path,
) -> None:
    """Under load a change detected at 00:59 reached the topic after the 00:00-01:00 digest was built."""
    settings = Settings(home=tmp_path, digest_grace_seconds=0)
    subscription = DigestSubscription.model_validate(
        {"id": "hourly", "schedule": {"kind": "interval", "seconds": 3600}, "start": "2025-01-01T00:00:00Z"}
    )
    on_topic: list[StanceChange] = [
        change("before-anchor", "us-backstop", datetime(2024, 12, 31, 23, 58, tzinfo=UTC))
    ]

    async def fetch(_settings: Settings, start: datetime, end: datetime) -> list[StanceChange]:
        return [c for c in on_topic if start <= c.detected_at < end]

    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = await run_subscription(
        settings, subscription, ledger, fetch, now=datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    )
    on_topic.append(change("keir-starmer", "us-backstop", datetime(2025, 1, 1, 0, 59, tzinfo=UTC)))  # late
    on_topic.append(change("donald-trump", "us-backstop", datetime(2025, 1, 1, 1, 30, tzinfo=UTC)))
    second = await run_subscription(
        settings, subscription, ledger, fetch, now=datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    )
    third = await run_subscription(
        settings, subscription, ledger, fetch, now=datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
    )
    ledger.close()

    def actors(report: object) -> list[list[str]]:
        return [[g.actor_id for g in d.groups] for d in report.built]  # type: ignore[attr-defined]

    assert actors(first) == [[]]  # the change before the subscription's first window is not in it
    assert actors(second) == [["donald-trump", "keir-starmer"]]
    assert actors(third) == [[]]  # sent once


def test_make_sink_refuses_an_unknown_kind_instead_of_falling_back() -> None:
    import pytest

    from scheduler.sinks import make_sink
    from schemas.subscriptions import SINK_KINDS, SinkConfig
    from streams.settings import Settings

    assert set(SINK_KINDS) == {"stdout", "file", "topic", "webhook", "smtp"}
    stray = SinkConfig.model_construct(kind="carrier-pigeon", target=None, format="markdown", secret=None)
    with pytest.raises(ValueError, match="unknown sink kind 'carrier-pigeon'"):
        make_sink(stray, Settings())


def test_job_settings_keep_no_password_and_get_it_back_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.settings import Settings

    monkeypatch.setenv("TIMELINE_SASL_PASSWORD", "s3cret")
    stored = Settings(topic_prefix="x.").without_secrets_json()
    assert "s3cret" not in stored and "sasl_password" not in json.loads(stored)
    again = Settings.from_json_and_environment(stored)
    assert again.topic_prefix == "x." and again.sasl_password is not None
    assert again.sasl_password.get_secret_value() == "s3cret"

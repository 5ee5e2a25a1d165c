"""Digest windows: consecutive fire times of a schedule, in its time zone. Pure.

Window boundaries depend only on the schedule (a cron in its zone, or an
interval aligned to the Unix epoch), never on when a scheduler happened to
start, so a window has one identity across restarts: [previous fire, fire).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from schemas.subscriptions import CronSchedule, DigestSubscription

Window = tuple[datetime, datetime]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TINY = timedelta(microseconds=1)
_LOOKBACK = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


def trigger_for(subscription: DigestSubscription) -> BaseTrigger:
    zone = ZoneInfo(subscription.timezone)
    schedule = subscription.schedule
    if isinstance(schedule, CronSchedule):
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    return IntervalTrigger(seconds=schedule.seconds, start_date=EPOCH, timezone=zone)


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime:
    """The first fire time strictly after `after`."""
    fire = trigger.get_next_fire_time(None, after + _TINY)
    if fire is None:
        raise ValueError("the schedule never fires again")
    return fire.astimezone(UTC)  # type: ignore[no-any-return]


def previous_fire(trigger: BaseTrigger, before: datetime) -> datetime:
    """The last fire time strictly before `before`."""
    for step in _LOOKBACK:
        candidate = trigger.get_next_fire_time(None, before - step)
        if candidate is not None and candidate < before:
            fire = candidate.astimezone(UTC)
            while (following := next_fire(trigger, fire)) < before:
                fire = following
            return fire  # type: ignore[no-any-return]
    raise ValueError("the schedule fires less than once a year")


def window_containing(subscription: DigestSubscription, moment: datetime) -> Window:
    """The window [start, end) with start <= moment < end."""
    trigger = trigger_for(subscription)
    end = next_fire(trigger, moment)
    return previous_fire(trigger, end), end


def due_windows(
    subscription: DigestSubscription, start: datetime, now: datetime, grace: timedelta = timedelta(0)
) -> list[Window]:
    """The windows from `start` (a window start) that have closed by `now - grace`.

    With `catch_up="coalesce"`, several closed windows become one.
    """
    trigger = trigger_for(subscription)
    windows: list[Window] = []
    window_start = start
    while True:
        window_end = next_fire(trigger, window_start)
        if window_end + grace > now:
            break
        windows.append((window_start, window_end))
        window_start = window_end
    if subscription.catch_up == "coalesce" and len(windows) > 1:
        return [(windows[0][0], windows[-1][1])]
    return windows

"""The digest service: APScheduler 3 (`AsyncIOScheduler`) with a persistent SQLite job store.

One job per subscription, fired at each window end. Schedules survive a
restart in the job store; what was sent survives in the ledger, which is
what makes catching up exact (APScheduler's `coalesce` and
`misfire_grace_time` only make sure a run happens after downtime: the run
itself works out every missed window from the ledger). The subscriptions
file is re-read every few seconds, so `timeline digest add` takes effect
in a running service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.changes_source import changes_between
from scheduler.ledger import Ledger
from scheduler.runner import RunReport, run_subscription
from scheduler.subscriptions_file import load_subscriptions
from scheduler.windows import trigger_for
from schemas.subscriptions import redact_sink_id
from streams.settings import Settings

logger = logging.getLogger(__name__)

JOB_STORE = "digests"
# On SIGTERM, let a digest run in progress finish its deliveries for this long.
SHUTDOWN_WAIT_SECONDS = 30.0


async def run_digest_job(subscription_id: str, settings_json: str) -> RunReport | None:
    """The job APScheduler persists (by this module path) and calls at each window end."""
    settings = Settings.from_json_and_environment(settings_json)
    subscription = next(
        (s for s in load_subscriptions(settings.subscriptions_path) if s.id == subscription_id), None
    )
    if subscription is None:
        logger.warning("subscription %s is gone from %s", subscription_id, settings.subscriptions_path)
        return None
    # Fired at a window's end: give changes detected just before it time to reach the topic.
    await asyncio.sleep(settings.digest_grace_seconds)
    ledger = Ledger(settings.scheduler_dir / "ledger.sqlite")
    try:
        report = await run_subscription(settings, subscription, ledger, changes_between)
    finally:
        ledger.close()
    for digest in report.built:
        logger.info(
            "built digest %s of %s: %d change(s), %s to %s",
            digest.digest_id,
            subscription_id,
            digest.change_count,
            digest.window_start,
            digest.window_end,
        )
    for digest_id, sink_id in report.delivered:
        logger.info("delivered %s to %s", digest_id, redact_sink_id(sink_id))
    return report


class DigestService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.scheduler_dir.mkdir(parents=True, exist_ok=True)
        self.scheduler = AsyncIOScheduler(
            jobstores={
                JOB_STORE: SQLAlchemyJobStore(url=f"sqlite:///{settings.scheduler_dir / 'jobs.sqlite'}"),
                "internal": MemoryJobStore(),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 7 * 24 * 3600},
            timezone=UTC,
        )
        self._known: dict[str, str] = {}
        self.running: dict[str, int] = {}  # job id -> runs in progress
        self.scheduler.add_listener(self._job_started, EVENT_JOB_SUBMITTED)
        self.scheduler.add_listener(self._job_ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _job_started(self, event: JobSubmissionEvent) -> None:
        self.running[event.job_id] = self.running.get(event.job_id, 0) + 1

    def _job_ended(self, event: JobExecutionEvent) -> None:
        left = self.running.get(event.job_id, 0) - 1
        if left > 0:
            self.running[event.job_id] = left
        else:
            self.running.pop(event.job_id, None)

    async def drain(self, timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
        """Start no new run and wait for those in progress, so a stop does not cut a delivery short."""
        self.scheduler.pause()
        deadline = asyncio.get_running_loop().time() + timeout
        while self.running and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if self.running:
            logger.warning("stopping with runs in progress: %s (the next start ends them)", self.running)

    def sync_jobs(self, run_now: bool = False) -> None:
        """Make the persistent jobs match the subscriptions file."""
        subscriptions = {s.id: s for s in load_subscriptions(self.settings.subscriptions_path)}
        settings_json = self.settings.without_secrets_json()
        for job in self.scheduler.get_jobs(jobstore=JOB_STORE):
            if job.id not in subscriptions:
                job.remove()
                self._known.pop(job.id, None)
                logger.info("removed digest job %s", job.id)
        for subscription_id, subscription in subscriptions.items():
            fingerprint = subscription.model_dump_json()
            if self._known.get(subscription_id) == fingerprint and not run_now:
                continue
            existing = self.scheduler.get_job(subscription_id, jobstore=JOB_STORE)
            options = {"next_run_time": datetime.now(UTC)} if run_now or existing is None else {}
            self.scheduler.add_job(
                run_digest_job,
                trigger_for(subscription),
                args=[subscription_id, settings_json],
                id=subscription_id,
                name=f"digest {subscription_id}",
                jobstore=JOB_STORE,
                replace_existing=True,
                **options,
            )
            self._known[subscription_id] = fingerprint
            logger.info("scheduled digest %s", subscription_id)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set (or SIGINT/SIGTERM)."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        self.scheduler.start()
        try:
            # A run at start catches up on every window missed while the service was down.
            self.sync_jobs(run_now=True)
            self.scheduler.add_job(self.sync_jobs, "interval", seconds=5, id="resync", jobstore="internal")
            await stop.wait()
            await self.drain()
        finally:
            self.scheduler.shutdown(wait=False)

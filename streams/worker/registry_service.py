"""The worker's registry reader as a service of the faust worker: started before the app,
stopped with it (`streams.registry.reader.RegistryReader`)."""

from __future__ import annotations

import asyncio
import logging

from mode import Service

from streams.registry.reader import RegistryReader

logger = logging.getLogger(__name__)

FIRST_READ_SECONDS = 30.0
"""How long the worker waits for a first read of the registry before it starts anyway (the
ingest agent then waits for the registry itself: `RegistryReader(wait=True)`)."""


class RegistryService(Service):
    def __init__(self, reader: RegistryReader) -> None:
        super().__init__()
        self.reader = reader
        self._first: asyncio.Future[None] | None = None

    async def on_start(self) -> None:
        self._first = asyncio.ensure_future(self.reader.start())
        try:
            await asyncio.wait_for(asyncio.shield(self._first), FIRST_READ_SECONDS)
        except TimeoutError:
            logger.warning("the registry topic %s is not readable yet; starting anyway", self.reader.topic)

    async def on_stop(self) -> None:
        if self._first is not None and not self._first.done():
            self._first.cancel()
        await self.reader.stop()

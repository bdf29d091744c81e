"""The worker process: carries out approved requests, expires and reminds."""

from __future__ import annotations

from bot.domain.execution import Worker
from bot.runtime.services import Services


def build_worker(services: Services, *, name: str | None = None,
                 sweep_every: float = 30.0) -> Worker:
    settings = services.settings
    return Worker(services.redis, services.store, services.requests, services.api,
                  concurrency=settings.worker_concurrency,
                  claim_idle=settings.worker_claim_idle_seconds, sweep_every=sweep_every,
                  name=name)

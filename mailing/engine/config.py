"""The send engine's knobs, read from settings at call time (never at import).

Each has a default here so that the engine works with no configuration;
mailsite/settings/base.py exposes them as environment variables.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class EngineConfig:
    timeout: float
    connections: int
    processes: int
    batch_size: int
    rate_limit: float
    lease_seconds: float
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    breaker_threshold: int
    breaker_pause_seconds: float
    breaker_max_pause_seconds: float
    journal_dir: Path


def _processes(setting: int) -> int:
    # 0: one per core; past 4 the database, not Python, is the limit.
    if setting > 0:
        return setting
    return max(1, min(os.cpu_count() or 1, 4))


def engine_config() -> EngineConfig:
    def get(name, default):
        return getattr(settings, name, default)

    return EngineConfig(
        # Django's own default is no timeout at all; ours always has one.
        timeout=float(get("EMAIL_TIMEOUT", None) or 10),
        connections=max(1, int(get("MAILING_CONNECTIONS", 8))),
        processes=_processes(int(get("MAILING_PROCESSES", 0))),
        batch_size=max(1, int(get("MAILING_BATCH_SIZE", 500))),
        rate_limit=float(get("MAILING_RATE_LIMIT", 0)),
        lease_seconds=max(1.0, float(get("MAILING_LEASE_SECONDS", 60))),
        max_attempts=max(1, int(get("MAILING_MAX_ATTEMPTS", 5))),
        retry_base_seconds=float(get("MAILING_RETRY_BASE_SECONDS", 60)),
        retry_max_seconds=float(get("MAILING_RETRY_MAX_SECONDS", 6 * 3600)),
        breaker_threshold=max(1, int(get("MAILING_BREAKER_THRESHOLD", 5))),
        breaker_pause_seconds=float(get("MAILING_BREAKER_PAUSE_SECONDS", 60)),
        breaker_max_pause_seconds=float(get("MAILING_BREAKER_MAX_PAUSE_SECONDS", 3600)),
        # Local to the machine: each machine replays its own dispatchers'.
        journal_dir=Path(
            get("MAILING_JOURNAL_DIR", None)
            or Path(settings.BASE_DIR) / "var" / "journal"
        ),
    )

"""The send engine's knobs, read from settings at call time (never at import).

Every knob, with its environment variable and its one default, is declared
in mailsite/settings/base.py; this module only reads and bounds them.
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
    s = settings
    return EngineConfig(
        timeout=float(s.EMAIL_TIMEOUT),
        connections=max(1, int(s.MAILING_CONNECTIONS)),
        processes=_processes(int(s.MAILING_PROCESSES)),
        batch_size=max(1, int(s.MAILING_BATCH_SIZE)),
        rate_limit=float(s.MAILING_RATE_LIMIT),
        lease_seconds=max(1.0, float(s.MAILING_LEASE_SECONDS)),
        max_attempts=max(1, int(s.MAILING_MAX_ATTEMPTS)),
        retry_base_seconds=float(s.MAILING_RETRY_BASE_SECONDS),
        retry_max_seconds=float(s.MAILING_RETRY_MAX_SECONDS),
        breaker_threshold=max(1, int(s.MAILING_BREAKER_THRESHOLD)),
        breaker_pause_seconds=float(s.MAILING_BREAKER_PAUSE_SECONDS),
        breaker_max_pause_seconds=float(s.MAILING_BREAKER_MAX_PAUSE_SECONDS),
        # Local to the machine: each machine replays its own dispatchers'.
        journal_dir=Path(s.MAILING_JOURNAL_DIR),
    )

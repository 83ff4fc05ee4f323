"""When a mailing's occurrences fall (the send engine issue completes this)."""

from datetime import datetime


def next_run_at_for(mailing, *, now: datetime) -> datetime | None:
    """The next occurrence of `mailing` not yet planned, or None."""
    if now >= mailing.end_at:
        return None
    return max(mailing.start_at, now) if mailing.periodicity else None

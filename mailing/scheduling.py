"""When a mailing's occurrences fall.

Occurrences are computed in the time zone of the mailing's owner
(`User.time_zone`; `settings.TIME_ZONE` for a mailing without one) so that a
daily 09:00 mailing stays at 09:00 the owner's local time across a DST
change. Everything returned is UTC; the engine never sees local time.
A monthly mailing keeps the day of month of `start_at`, clamped to the last
day of shorter months: 31 Jan, 28/29 Feb, 31 Mar (always counted from
`start_at`, never from the previous clamped date).

A missed occurrence (the service was down) collapses: `next_run_at_for`
returns the latest occurrence that is already due, so the planner sends one
run, never a backlog.
"""

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from mailing.models import Mailing

ONCE = Mailing.Periodicity.ONCE
_PERIOD_DAYS = {Mailing.Periodicity.DAILY: 1, Mailing.Periodicity.WEEKLY: 7}


def mailing_zone(mailing) -> ZoneInfo:
    """The zone a mailing's wall-clock times live in: its owner's."""
    if mailing.owner_id is None and "owner" not in mailing._state.fields_cache:
        return ZoneInfo(settings.TIME_ZONE)
    return mailing.owner.zone


def occurrence(mailing, index: int) -> datetime:
    """The `index`-th occurrence (0 is `start_at`) as an aware UTC datetime."""
    if index == 0 or mailing.periodicity == ONCE:
        return mailing.start_at.astimezone(UTC)
    tz = mailing_zone(mailing)
    start = mailing.start_at.astimezone(tz).replace(tzinfo=None)
    if mailing.periodicity in _PERIOD_DAYS:
        local = start + timedelta(days=index * _PERIOD_DAYS[mailing.periodicity])
    else:
        month0 = start.month - 1 + index
        year, month = start.year + month0 // 12, month0 % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        local = start.replace(year=year, month=month, day=day)
    # A wall-clock time that does not exist (spring forward) resolves to the
    # pre-transition offset, i.e. an hour later on the clock; an ambiguous
    # one (fall back) to its first instance.
    return local.replace(tzinfo=tz).astimezone(UTC)


def _index_at_or_before(mailing, moment: datetime) -> int:
    """The largest index whose occurrence is <= moment (-1 if none)."""
    if moment < mailing.start_at:
        return -1
    if mailing.periodicity == ONCE:
        return 0
    tz = mailing_zone(mailing)
    start = mailing.start_at.astimezone(tz)
    local = moment.astimezone(tz)
    if mailing.periodicity in _PERIOD_DAYS:
        guess = (local.date() - start.date()).days // _PERIOD_DAYS[mailing.periodicity]
    else:
        guess = (local.year - start.year) * 12 + local.month - start.month
    # The estimate is off by at most one either way (time of day, DST).
    guess = max(guess + 1, 0)
    while guess > 0 and occurrence(mailing, guess) > moment:
        guess -= 1
    return guess


def next_run_at_for(
    mailing, *, now: datetime, after: datetime | None = None
) -> datetime | None:
    """The next occurrence of `mailing` not yet planned, or None.

    `after` is the occurrence planned last; by default the latest run of a
    saved mailing. Of the occurrences after it, the latest one that is due
    (<= now) wins, so a mailing that missed several occurrences gets one run;
    otherwise the first one in the future. Nothing at or after `end_at`, and
    nothing once `end_at` has passed.
    """
    if now >= mailing.end_at:
        return None
    if after is None and mailing.pk:
        after = (
            mailing.runs.order_by("-scheduled_for")
            .values_list("scheduled_for", flat=True)
            .first()
        )
    first = 0 if after is None else _index_at_or_before(mailing, after) + 1
    if mailing.periodicity == ONCE and first > 0:
        return None
    due = _index_at_or_before(mailing, now)
    index = due if due >= first else first
    if mailing.periodicity == ONCE and index > 0:
        return None
    moment = occurrence(mailing, index)
    return moment if moment < mailing.end_at else None

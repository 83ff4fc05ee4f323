"""When mailings send: periodicity, DST, month ends, missed occurrences, and
who may never send.

Occurrences follow the owner's time zone. The calendar tests run for three
owners: Europe/Berlin (the test TIME_ZONE), Europe/Moscow (no DST) and
America/New_York (DST on other dates than Berlin's), while the site's
TIME_ZONE stays Berlin, so the owner's zone is what counts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from mailing.models import Delivery, Mailing, Run
from mailing.scheduling import next_run_at_for
from mailing.tasks import start_mailing_run
from mailing.tests.engine_support import make_mailing, make_owner

ZONES = ["Europe/Berlin", "Europe/Moscow", "America/New_York"]


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.EMAIL_TIMEOUT = 0.5


@pytest.fixture(params=ZONES)
def zone(request):
    """The owner's zone name; the tests run once per zone."""
    return request.param


@pytest.fixture
def local(zone):
    """`local(2026, 3, 27, 9)`: a wall-clock time in the owner's zone."""
    tz = ZoneInfo(zone)
    return lambda *args: datetime(*args, tzinfo=tz)


@pytest.fixture
def unsaved(zone):
    """An unsaved mailing whose (unsaved) owner lives in `zone`."""
    owner = User(email="owner@example.com", time_zone=zone)

    def make(periodicity, start, end):
        return Mailing(owner=owner, periodicity=periodicity, start_at=start, end_at=end)

    return make


def occurrences(mailing, start_now, count):
    """The first `count` occurrences in the owner's zone, planning each one
    as it comes."""
    found, after = [], None
    tz = ZoneInfo(mailing.owner.time_zone)
    for _ in range(count):
        moment = next_run_at_for(mailing, now=start_now, after=after)
        if moment is None:
            break
        found.append(moment.astimezone(tz))
        after = moment
    return found


# Per zone: a spring and an autumn date three days before a DST change (any
# dates for Moscow, which has none) and the UTC offsets (hours) that 09:00
# local has on the four days from there.
DST = {
    "Europe/Berlin": ((2026, 3, 26), [1, 1, 1, 2], (2026, 10, 22), [2, 2, 2, 1]),
    "Europe/Moscow": ((2026, 3, 26), [3, 3, 3, 3], (2026, 10, 22), [3, 3, 3, 3]),
    "America/New_York": (
        (2026, 3, 5),
        [-5, -5, -5, -4],
        (2026, 10, 29),
        [-4, -4, -4, -5],
    ),
}


def test_daily_keeps_the_local_time_across_both_dst_changes(zone, local, unsaved):
    """09:00 stays 09:00 in the owner's zone when its clocks move (UTC moves
    instead); where the clocks never move, UTC stays put too."""
    spring, spring_offsets, autumn, autumn_offsets = DST[zone]
    for day, offsets in ((spring, spring_offsets), (autumn, autumn_offsets)):
        mailing = unsaved("daily", local(*day, 9), local(2026, 12, 31))
        got = occurrences(mailing, local(*day), 4)
        assert [d.hour for d in got] == [9, 9, 9, 9]
        assert [d.utcoffset() / timedelta(hours=1) for d in got] == offsets
        assert [d.astimezone(UTC).hour for d in got] == [9 - o for o in offsets]


def test_the_owner_zone_decides_not_the_site_zone(settings):
    """The same stored start gives different UTC occurrences for owners in
    different zones: a day later, 09:00 Moscow is 06:00 UTC and 09:00 New
    York (after the March change) is 13:00 UTC."""
    start = datetime(2026, 3, 7, 14, tzinfo=UTC)  # 09:00 in New York (EST)
    new_york = Mailing(
        owner=User(time_zone="America/New_York"),
        periodicity="daily",
        start_at=start,
        end_at=start + timedelta(days=30),
    )
    second = next_run_at_for(new_york, now=start, after=start)
    assert second == datetime(2026, 3, 8, 13, tzinfo=UTC)
    start = datetime(2026, 3, 7, 6, tzinfo=UTC)  # 09:00 in Moscow
    moscow = Mailing(
        owner=User(time_zone="Europe/Moscow"),
        periodicity="daily",
        start_at=start,
        end_at=start + timedelta(days=30),
    )
    assert next_run_at_for(moscow, now=start, after=start) == datetime(
        2026, 3, 8, 6, tzinfo=UTC
    )
    # Without an owner the site's zone (Berlin) is used.
    ownerless = Mailing(
        periodicity="daily", start_at=start, end_at=start + timedelta(days=30)
    )
    assert next_run_at_for(ownerless, now=start, after=start) == start + timedelta(
        days=1
    )


def test_monthly_clamps_to_the_month_end_and_keeps_the_31st(local, unsaved):
    """31 Jan -> 29 Feb (leap year) -> 31 Mar -> 30 Apr; 28 Feb otherwise."""
    mailing = unsaved("monthly", local(2028, 1, 31, 10, 30), local(2029, 12, 31))
    got = occurrences(mailing, local(2028, 1, 1), 5)
    assert [(d.month, d.day, d.hour, d.minute) for d in got] == [
        (1, 31, 10, 30),
        (2, 29, 10, 30),
        (3, 31, 10, 30),
        (4, 30, 10, 30),
        (5, 31, 10, 30),
    ]
    plain = unsaved("monthly", local(2027, 1, 31, 10), local(2027, 12, 31))
    assert [d.day for d in occurrences(plain, local(2027, 1, 1), 3)] == [31, 28, 31]


def test_weekly_and_once_and_nothing_after_end_at(local, unsaved):
    weekly = unsaved("weekly", local(2026, 6, 1, 8), local(2026, 6, 20))
    got = occurrences(weekly, local(2026, 5, 1), 10)
    assert [d.day for d in got] == [1, 8, 15]
    once = unsaved("once", local(2026, 6, 1, 8), local(2026, 6, 20))
    assert occurrences(once, local(2026, 5, 1), 3) == [local(2026, 6, 1, 8)]
    assert next_run_at_for(once, now=local(2026, 6, 21)) is None


def test_missed_occurrences_collapse_into_the_latest_due_one(local, unsaved):
    """After ten days down, a daily mailing owes one run, not ten."""
    mailing = unsaved("daily", local(2026, 5, 1, 9), local(2026, 12, 31))
    after = local(2026, 5, 2, 9)
    now = local(2026, 5, 12, 15)
    assert next_run_at_for(mailing, now=now, after=after) == local(2026, 5, 12, 9)
    assert next_run_at_for(mailing, now=now, after=local(2026, 5, 12, 9)) == local(
        2026, 5, 13, 9
    )


@pytest.mark.django_db
def test_the_clock_sends_across_month_end_leap_day_and_dst(smtp_sink, zone, local):
    """A monthly mailing on the 31st, driven by the clock through a leap
    February and the spring DST change: one run per month, at 10:30 the
    owner's local time."""
    with time_machine.travel(local(2028, 1, 20, 12), tick=False):
        mailing = make_mailing(
            owner=make_owner(time_zone=zone),
            clients=2,
            periodicity="monthly",
            start_at=local(2028, 1, 31, 10, 30),
            end_at=local(2028, 5, 1),
        )
    for moment in [
        local(2028, 1, 31, 10, 29),  # a minute early: nothing
        local(2028, 1, 31, 10, 31),
        local(2028, 2, 29, 10, 31),
        local(2028, 3, 31, 10, 31),  # after the spring DST change in March
        local(2028, 4, 30, 10, 31),
        local(2028, 5, 2),  # past end_at
    ]:
        with time_machine.travel(moment, tick=False):
            call_command("send_mailings")
    runs = [
        r.astimezone(ZoneInfo(zone))
        for r in Run.objects.filter(mailing=mailing)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    ]
    assert [(r.month, r.day, r.hour, r.minute) for r in runs] == [
        (1, 31, 10, 30),
        (2, 29, 10, 30),
        (3, 31, 10, 30),
        (4, 30, 10, 30),
    ]
    assert len(smtp_sink.messages) == 8
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.FINISHED


@pytest.mark.django_db
def test_a_missed_week_gives_one_run_when_the_service_returns(smtp_sink, zone, local):
    with time_machine.travel(local(2026, 5, 1, 8), tick=False):
        mailing = make_mailing(
            owner=make_owner(time_zone=zone),
            clients=1,
            periodicity="daily",
            start_at=local(2026, 5, 1, 9),
        )
    with time_machine.travel(local(2026, 5, 8, 12), tick=False):
        call_command("send_mailings")
        call_command("send_mailings")
    assert Run.objects.filter(mailing=mailing).count() == 1
    assert Run.objects.get(mailing=mailing).scheduled_for == local(2026, 5, 8, 9)
    mailing.refresh_from_db()
    assert mailing.next_run_at == local(2026, 5, 9, 9)
    assert mailing.status == Mailing.Status.RUNNING
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_a_mailing_for_the_future_is_sent_by_the_clock_when_its_time_comes(
    smtp_sink,
):
    start = timezone.now() + timedelta(hours=2)
    mailing = make_mailing(clients=3, start_at=start)
    assert mailing.next_run_at == start
    call_command("send_mailings")
    assert smtp_sink.messages == []
    assert mailing.status == Mailing.Status.CREATED
    with time_machine.travel(start + timedelta(seconds=20), tick=True):
        call_command("send_mailings")
    assert len(smtp_sink.messages) == 3
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.FINISHED


@pytest.mark.django_db
def test_a_mailing_created_in_its_window_is_sent_by_the_worker_without_cron(
    smtp_sink, django_capture_on_commit_callbacks
):
    """Creating it queues `start_mailing_run` on commit; no clock involved."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mailing = make_mailing(clients=4)
        transaction.on_commit(lambda: start_mailing_run.enqueue(mailing_id=mailing.pk))
    assert len(smtp_sink.messages) == 4
    assert Delivery.objects.filter(run__mailing=mailing, status="sent").count() == 4
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.FINISHED


@pytest.mark.django_db
@pytest.mark.parametrize("switch", ["inactive", "paused", "blocked owner"])
def test_disabled_paused_or_blocked_never_send(switch, smtp_sink):
    """Neither the clock, the task nor pending deliveries send for them."""
    mailing = make_mailing(clients=3, periodicity="daily")
    # A run is already planned with pending deliveries when the switch flips.
    smtp_sink.mode = "451"
    call_command("send_mailings")
    assert Delivery.objects.filter(status="deferred").count() == 3
    if switch == "inactive":
        Mailing.objects.filter(pk=mailing.pk).update(is_active=False)
    elif switch == "paused":
        Mailing.objects.filter(pk=mailing.pk).update(is_paused=True)
    else:
        mailing.owner.is_active = False
        mailing.owner.save()
    smtp_sink.mode = "accept"
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=True):
        call_command("send_mailings")
        start_mailing_run.enqueue(mailing_id=mailing.pk)
        call_command("send_mailings", mailing=mailing.pk)
    assert smtp_sink.messages == []
    assert Run.objects.filter(mailing=mailing).count() == 1
    assert Delivery.objects.filter(status="deferred").count() == 3


@pytest.mark.django_db
def test_send_now_from_the_command_starts_a_run_before_its_time(smtp_sink):
    mailing = make_mailing(clients=2, start_at=timezone.now() + timedelta(days=2))
    call_command("send_mailings", mailing=mailing.pk)
    assert len(smtp_sink.messages) == 2
    mailing.refresh_from_db()
    # The scheduled occurrence still comes.
    assert mailing.next_run_at == mailing.start_at
    assert mailing.status == Mailing.Status.RUNNING


@pytest.mark.django_db
def test_the_send_now_task_starts_a_run_before_its_time(smtp_sink):
    mailing = make_mailing(clients=2, start_at=timezone.now() + timedelta(days=2))
    start_mailing_run.enqueue(mailing_id=mailing.pk)
    assert smtp_sink.messages == []
    start_mailing_run.enqueue(mailing_id=mailing.pk, send_now=True)
    assert len(smtp_sink.messages) == 2

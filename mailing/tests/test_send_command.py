"""The mailing script's options, the clock, cron and the worker queue."""

import signal
import time

import pytest
from django.core.management import CommandError, call_command

from mailing import cron
from mailing.models import Delivery, Run
from mailing.tests.engine_support import (
    dispatcher,
    make_mailing,
    require_postgresql,
)


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.EMAIL_TIMEOUT = 1


@pytest.mark.django_db
def test_queue_only_plans_and_the_worker_delivers(
    smtp_sink, django_capture_on_commit_callbacks
):
    """--queue sends nothing itself; the queued task does (on commit)."""
    mailing = make_mailing(clients=3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("send_mailings", queue=True)
    assert Run.objects.filter(mailing=mailing).count() == 1
    assert smtp_sink.messages == []
    assert callbacks
    for callback in callbacks:  # what the commit does: the worker runs it
        callback()
    assert len(smtp_sink.messages) == 3
    assert Delivery.objects.filter(status="sent").count() == 3


@pytest.mark.django_db
def test_unknown_mailing_and_bad_combinations_are_refused():
    with pytest.raises(CommandError, match="There is no mailing 999999"):
        call_command("send_mailings", mailing=999999)
    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("send_mailings", mailing=1, queue=True)
    with pytest.raises(CommandError, match="positive"):
        call_command("send_mailings", watch=0)


def test_crontab_add_says_so_when_cron_is_missing(monkeypatch):
    """django-crontab would exit 0 having installed nothing."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(CommandError, match="`crontab` program is not installed"):
        call_command("crontab", "add")


def test_the_cron_entry_is_the_send_service(settings):
    assert ("* * * * *", "mailing.cron.send_due_mailings") in settings.CRONJOBS
    assert callable(cron.send_due_mailings)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_watch_keeps_sending_and_stops_cleanly_on_sigterm(smtp_sink):
    """The clock of `make run`: rounds every N seconds, exits 0 on SIGTERM."""
    require_postgresql()
    watch = dispatcher(smtp_sink, "--watch", "0.3")
    try:
        time.sleep(3)  # Django starts, a few empty rounds pass
        make_mailing(clients=2)
        deadline = time.monotonic() + 30
        while len(smtp_sink.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        watch.send_signal(signal.SIGTERM)
        output, _ = watch.communicate(timeout=15)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert len(smtp_sink.messages) == 2, output
    assert watch.returncode == 0, output
    assert "Stopping after the current round." in output

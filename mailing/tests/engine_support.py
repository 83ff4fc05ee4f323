"""Test data for the send engine's tests (plain ORM calls, no factories)."""

import itertools
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from mailing.models import Client, Mailing, Message
from mailing.scheduling import next_run_at_for
from mailing.tests.counters import run_counters_counted

_seq = itertools.count(1)


def make_owner(**extra) -> User:
    return User.objects.create_user(
        email=f"owner{next(_seq)}@example.com", password="pw-123456789", **extra
    )


def make_mailing(
    *,
    owner=None,
    clients=3,
    start_at=None,
    end_at=None,
    periodicity=Mailing.Periodicity.ONCE,
    subject="Hello {{ full_name }}",
    body="Dear {{ full_name }},\nnews for {{ email }}.",
    html_body="",
    plan=True,
    **extra,
) -> Mailing:
    """A mailing to `clients` new clients; `next_run_at` set as the services do."""
    # One transaction, as the services do: a dispatcher process running
    # meanwhile must never see the mailing before its clients.
    with transaction.atomic():
        owner = owner or make_owner()
        now = timezone.now()
        message = Message.objects.create(
            owner=owner, subject=subject, body=body, html_body=html_body
        )
        mailing = Mailing.objects.create(
            owner=owner,
            message=message,
            start_at=start_at or now - timedelta(minutes=1),
            end_at=end_at or now + timedelta(days=400),
            periodicity=periodicity,
            **extra,
        )
        if clients:
            n = next(_seq)
            Client.objects.bulk_create(
                Client(
                    owner=owner,
                    email=f"client{i}.{n}@example.net",
                    full_name=f"Client {i}",
                )
                for i in range(clients)
            )
            mailing.clients.set(Client.objects.filter(owner=owner))
        if plan:
            mailing.next_run_at = next_run_at_for(mailing, now=now)
            mailing.save(update_fields=["next_run_at"])
    return mailing


def dispatcher(sink, *options, **env) -> subprocess.Popen:
    """`manage.py send_mailings *options` as a separate process on the test
    database, sending to `sink`; `env` sets more environment variables."""
    return manage_process(sink, "send_mailings", *options, **env)


def manage_process(sink, command, *options, **env) -> subprocess.Popen:
    """`manage.py command *options` as a separate process on the test
    database, sending to `sink`; `env` sets more environment variables."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mailing.tests.smtp_settings",
        "DATABASE_URL": f"{url}/{db['NAME']}",
        "EMAIL_URL": f"smtp://{sink.host}:{sink.port}",
        "EMAIL_TIMEOUT": "2",
        "PYTHONUNBUFFERED": "1",
        **{key: str(value) for key, value in env.items()},
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", command, *options],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_counters_match(run) -> None:
    """The counters the engine keeps on a run equal a count of its rows."""
    counted = run_counters_counted(run)
    run.refresh_from_db()
    assert {name: getattr(run, name) for name in counted} == counted


def require_postgresql() -> None:
    """Tests with separate dispatcher processes need a database that other
    processes can reach and SKIP LOCKED: PostgreSQL. CI always has it."""
    if connection.vendor != "postgresql":
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI must run these tests on PostgreSQL.")
        pytest.skip("Separate dispatcher processes need PostgreSQL.")

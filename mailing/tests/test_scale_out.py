"""Scale-out on the engine the README names: PostgreSQL, Redis and RQ.

Everything is a separate process except the SMTP server and the web request:
two `rqworker` processes serve the Redis queue, "send now" goes through the
real view, and two clocks (`send_mailings --queue`, as on two machines) run
at the same moment.
"""

import re
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta

import django_rq
import pytest
from django.urls import reverse
from django.utils import timezone
from rq import Worker

from conftest import missing
from mailing.models import Client, Delivery, Mailing, Run
from mailing.tests.engine_support import (
    make_mailing,
    manage_process,
    require_postgresql,
)
from mailing.tests.factories import UserFactory

CLIENTS = 5_000
# Per dispatcher: one worker alone would need 12.5 s for the big run, so the
# second worker, woken by the clocks, still finds most of it to share.
RATE_LIMIT = 400
RQ_SETTINGS = {
    "TASKS": {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
    },
    "RQ": {"JOB_CLASS": "django_tasks_rq.Job"},
}


def _wait_for(condition, *, timeout, what, processes=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args} exited: {process.communicate()[0]}")
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}.")


def _stop(processes) -> str:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    output = []
    for process in processes:
        try:
            output.append(process.communicate(timeout=30)[0])
        except subprocess.TimeoutExpired:
            process.kill()
            output.append(process.communicate()[0])
    return "\n".join(output)


@pytest.fixture
def rq_queue(settings):
    """The "default" RQ queue in the test's Redis, emptied, with the site's
    tasks going there (TASK_BACKEND=rq as production sets it)."""
    if not settings.REDIS_URL:
        missing("Redis (REDIS_URL)")
    for name, value in RQ_SETTINGS.items():
        setattr(settings, name, value)
    settings.RQ_QUEUES = {"default": {"URL": settings.REDIS_URL}}
    queue = django_rq.get_queue("default")
    # Jobs, registries and workers left by an earlier run of this test.
    for key in queue.connection.scan_iter("rq:*"):
        queue.connection.delete(key)
    return queue


@pytest.mark.slow
# Serialized like the engine tests around it: a plain transactional test's
# flush recreates the content types, which the next serialized test then
# cannot load again.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_rq_workers_and_two_clocks_send_every_client_exactly_once(
    client, smtp_sink, rq_queue
):
    """A 5,000-client run started by "send now" and queued again by two
    clocks at once is shared by two RQ workers: the SMTP server receives
    every client exactly once, and both workers sent part of it. The two
    clocks also race to plan a due mailing: it gets one run, sent once."""
    require_postgresql()
    customer = UserFactory(email="big@example.com")
    big = make_mailing(
        owner=customer,
        clients=CLIENTS,
        # Not due for a day: only "send now" starts it.
        start_at=timezone.now() + timedelta(days=1),
        subject="Spring news for {{ full_name }}",
    )
    due = make_mailing(clients=50, subject="Due now")

    environment = {"TASK_BACKEND": "rq", "MAILING_RATE_LIMIT": RATE_LIMIT}
    workers = [
        manage_process(smtp_sink, "rqworker", "default", **environment)
        for _ in range(2)
    ]
    clocks = []
    try:
        _wait_for(
            lambda: len(Worker.all(queue=rq_queue)) == 2,
            timeout=30,
            what="two RQ workers",
            processes=workers,
        )

        client.force_login(customer)
        response = client.post(reverse("mailing:mailing_send_now", args=[big.pk]))
        assert response.status_code == 302

        # The clocks start while the first worker is sending the big run.
        _wait_for(
            lambda: Delivery.objects.filter(run__mailing=big, status="sent").exists(),
            timeout=30,
            what="the first worker to start sending",
            processes=workers,
        )
        clocks = [
            manage_process(smtp_sink, "send_mailings", "--queue", **environment)
            for _ in range(2)
        ]
        for clock in clocks:
            assert clock.wait(timeout=30) == 0, clock.communicate()[0]

        open_statuses = ["pending", "sending", "deferred"]
        _wait_for(
            lambda: (
                not Delivery.objects.filter(status__in=open_statuses).exists()
                and Delivery.objects.count() == CLIENTS + 50
            ),
            timeout=40,
            what="every delivery to be sent",
            processes=workers,
        )
    finally:
        output = _stop(clocks + workers)

    received = Counter(
        address.lower() for mail in smtp_sink.messages for address in mail.rcpt_tos
    )
    expected = Client.objects.filter(mailings__in=[big, due]).values_list(
        "email", flat=True
    )
    assert len(expected) == CLIENTS + 50
    assert received == Counter(expected), output
    assert Delivery.objects.filter(status="sent").count() == CLIENTS + 50
    assert Run.objects.filter(mailing=big).count() == 1
    assert Run.objects.filter(mailing=due).count() == 1
    assert Mailing.objects.get(pk=due.pk).status == Mailing.Status.FINISHED

    # Each mailing job's result says how many messages its worker sent
    # (Wagtail's reference-index tasks went through the same queue).
    shares = Counter()
    for job_id in rq_queue.finished_job_registry.get_job_ids():
        job = rq_queue.fetch_job(job_id)
        if not job.func_name.startswith("mailing.tasks."):
            continue
        result = job.latest_result()
        shares[result.worker_name] += int(
            re.match(r"(?:.*; )?(\d+) sent", result.return_value).group(1)
        )
    assert rq_queue.failed_job_registry.count == 0, output
    assert sum(shares.values()) == CLIENTS + 50, (shares, output)
    assert len(shares) == 2 and all(shares.values()), (shares, output)

"""List and detail pages make a number of queries that does not grow with
the rows they show."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailing import selectors
from mailing.models import Delivery
from mailing.tests.counters import run_counters_recompute_for_tests
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]
# 14, and 2 on the mailing page that do not grow with the rows: the
# pre-flight check's sample message (its client; the owner's language) and
# the last "Send a test".
MAX_QUERIES = 16


def _fill(owner, n):
    clients = ClientFactory.create_batch(n, owner=owner)
    MessageFactory.create_batch(n, owner=owner)
    mailings = [MailingFactory(owner=owner, clients=clients[:3]) for _ in range(n)]
    run = RunFactory(mailing=mailings[0])
    statuses = list(Delivery.Status.values)
    for i, c in enumerate(clients):
        DeliveryFactory(run=run, client=c, status=statuses[i % len(statuses)])
    return mailings[0]


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize(
    "name",
    [
        "mailing:dashboard",
        "mailing:client_list",
        "mailing:message_list",
        "mailing:mailing_list",
        "mailing:mailing_detail",
        "mailing:mailing_progress",
        "mailing:client_export",
    ],
)
def test_queries_do_not_grow(client, django_assert_max_num_queries, rows, name):
    owner = UserFactory()
    mailing = _fill(owner, rows)
    client.force_login(owner)
    args = (
        [mailing.pk]
        if name.startswith("mailing:mailing_") and "list" not in name
        else []
    )
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse(name, args=args))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 50])
def test_admin_listing_queries_do_not_grow(
    client, role_users, django_assert_max_num_queries, rows
):
    for _ in range(rows):
        _fill(UserFactory(), 1)
    client.force_login(role_users["manager"])
    for url in ("/cms/moderation/mailings/", "/cms/moderation/users/"):
        with django_assert_max_num_queries(40):
            assert client.get(url).status_code == 200


def test_statistics_are_right(client):
    """Per mailing and per customer: sent, failed, success rate, last send."""
    owner = UserFactory()
    mailing = MailingFactory(owner=owner, clients=0)
    run = RunFactory(mailing=mailing, scheduled_for=timezone.now() - timedelta(days=1))
    for status in ["sent", "sent", "sent", "failed", "deferred"]:
        DeliveryFactory(run=run, status=status)
    run_counters_recompute_for_tests(run)
    row = selectors.mailing_list(owner=owner).get()
    assert (row.sent, row.failed) == (3, 1)
    assert selectors.success_rate(row.sent, row.failed) == 75.0
    stats = selectors.customer_stats(owner=owner)
    assert (stats["sent"], stats["failed"], stats["success_rate"]) == (3, 1, 75.0)
    assert stats["last_sent_at"] is not None
    runs = list(selectors.mailing_runs(mailing=mailing))
    assert (runs[0].sent, runs[0].failed, runs[0].deferred, runs[0].total) == (
        3,
        1,
        1,
        5,
    )
    figures = selectors.customer_figures(owner=owner)
    assert figures["sent_30d"] == 3 and figures["failed_30d"] == 1
    assert selectors.customer_stats(owner=UserFactory())["success_rate"] is None
    user = selectors.users_with_stats().get(pk=owner.pk)
    assert (user.sent, user.failed, user.last_sent_at) == (3, 1, stats["last_sent_at"])

"""The delivery log filters by status and by text in the server's reply,
for the customer and in the managers' inspect view."""

import pytest
from django.urls import reverse

from mailing import selectors
from mailing.models import Delivery
from mailing.tests.factories import DeliveryFactory, MailingFactory, RunFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]


@pytest.fixture
def mailing():
    mailing = MailingFactory(clients=0)
    run = RunFactory(mailing=mailing)
    DeliveryFactory(run=run, email="ok@example.net", server_response="250 2.0.0 Ok")
    DeliveryFactory(
        run=run,
        email="gone@example.net",
        status="failed",
        server_response="550 5.1.1 User unknown",
    )
    DeliveryFactory(
        run=run,
        email="grey@example.net",
        status="deferred",
        server_response="451 4.7.1 Greylisted",
    )
    return mailing


def _emails(response):
    return sorted(d.email for d in response.context["log"].deliveries)


@pytest.mark.parametrize(
    "query,expected",
    [
        ({}, ["gone@example.net", "grey@example.net", "ok@example.net"]),
        ({"status": "failed"}, ["gone@example.net"]),
        ({"q": "greylisted"}, ["grey@example.net"]),
        ({"status": "sent", "q": "550"}, []),
        (
            {"status": "bogus", "page": "x"},
            ["gone@example.net", "grey@example.net", "ok@example.net"],
        ),
    ],
)
def test_customer_filters(client, mailing, query, expected):
    client.force_login(mailing.owner)
    response = client.get(reverse("mailing:mailing_detail", args=[mailing.pk]), query)
    assert response.status_code == 200
    assert _emails(response) == expected


def test_manager_inspect_filters(client, mailing, role_users):
    client.force_login(role_users["manager"])
    url = f"/cms/moderation/mailings/inspect/{mailing.pk}/"
    response = client.get(url, {"q": "user unknown"})
    assert _emails(response) == ["gone@example.net"]
    assert "550 5.1.1 User unknown" in response.content.decode()


@pytest.fixture
def big_log():
    """Two runs of 60 deliveries; every third one failed."""
    mailing = MailingFactory(clients=0)
    runs = [RunFactory(mailing=mailing) for _ in range(2)]
    for run in runs:
        for n in range(60):
            DeliveryFactory(
                run=run,
                email=f"r{run.pk}-{n:02d}@example.net",
                status="failed" if n % 3 == 0 else "sent",
                server_response="550 no" if n % 3 == 0 else "250 ok",
            )
    return mailing, runs


def _walk(client, url, query):
    """Every delivery of the log, page by page through the Older links."""
    seen, after = [], ""
    while True:
        response = client.get(url, {**query, **({"after": after} if after else {})})
        log = response.context["log"]
        seen += [d.pk for d in log.deliveries]
        if not log.older:
            return seen
        assert f"after={log.older}" in response.content.decode()
        after = log.older


@pytest.mark.parametrize("query", [{}, {"status": "failed"}, {"q": "550"}])
def test_keyset_pages_cover_the_log_once_newest_run_first(client, big_log, query):
    """Older pages follow each other without a gap or a repeat, the newest
    run first; no page counts the whole log."""
    mailing, runs = big_log
    client.force_login(mailing.owner)
    url = reverse("mailing:mailing_detail", args=[mailing.pk])
    seen = _walk(client, url, query)
    expected = Delivery.objects.filter(run__mailing=mailing)
    if query:
        expected = expected.filter(status="failed")
    expected = list(expected.order_by("-run_id", "-pk").values_list("pk", flat=True))
    assert seen == expected
    assert len(seen) == (120 if not query else 40)


def test_run_filter_and_bad_cursor(client, big_log):
    """The run filter shows one run; a cursor that is not one is ignored."""
    mailing, runs = big_log
    client.force_login(mailing.owner)
    url = reverse("mailing:mailing_detail", args=[mailing.pk])
    response = client.get(url, {"run": runs[0].pk, "status": "failed"})
    emails = _emails(response)
    assert len(emails) == 20 and all(e.startswith(f"r{runs[0].pk}-") for e in emails)
    response = client.get(url, {"after": "'; drop table x; --"})
    assert len(response.context["log"].deliveries) == 50
    assert response.context["log"].is_first


def test_text_search_reads_a_window_and_goes_on(client, big_log, monkeypatch):
    """A text search reads a bounded window of deliveries per page; when the
    window holds too few matches, the page offers to search further, and
    doing so finds the rest."""
    monkeypatch.setattr(selectors, "LOG_TEXT_WINDOW", 30)
    mailing, runs = big_log
    client.force_login(mailing.owner)
    url = reverse("mailing:mailing_detail", args=[mailing.pk])
    found, after = [], ""
    for _ in range(10):
        response = client.get(url, {"q": "550", **({"after": after} if after else {})})
        log = response.context["log"]
        assert len(log.deliveries) <= 10  # a third of a window of 30
        found += [d.pk for d in log.deliveries]
        after = log.older or log.searched_to
        if log.searched_to:
            assert "Search further" in response.content.decode()
        if not after:
            break
    failed = Delivery.objects.filter(run__mailing=mailing, status="failed")
    assert sorted(found) == sorted(failed.values_list("pk", flat=True))

"""The delivery log filters by status and by text in the server's reply,
for the customer and in the managers' inspect view."""

import pytest
from django.urls import reverse

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
    return sorted(d.email for d in response.context["page_obj"])


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

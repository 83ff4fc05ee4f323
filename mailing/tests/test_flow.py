"""From the customer's form to the mail server: creating a mailing whose
window holds now, and pressing "send now", deliver through the real engine
to a real SMTP server, after the request's transaction commits."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailing.models import Delivery, Run
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db
def test_create_in_window_then_send_now(
    client, smtp_sink, django_capture_on_commit_callbacks
):
    owner = UserFactory()
    client.force_login(owner)
    message = MessageFactory(owner=owner, subject="Hello {{ full_name }}")
    ClientFactory(owner=owner, email="ann@example.net", full_name="Ann")
    ClientFactory(owner=owner, email="bob@example.net", full_name="Bob")
    now = timezone.now()
    data = {
        "message": message.pk,
        "all_clients": "on",
        "start_at": _local(now - timedelta(minutes=1)),
        "end_at": _local(now + timedelta(days=30)),
        "periodicity": "weekly",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mailing:mailing_create"), data)
    assert response.status_code == 302
    assert Run.objects.count() == 1
    assert sorted(Delivery.objects.values_list("email", "status")) == [
        ("ann@example.net", "sent"),
        ("bob@example.net", "sent"),
    ]
    assert sorted(m.subject for m in smtp_sink.messages) == ["Hello Ann", "Hello Bob"]
    assert all(d.server_response.startswith("250") for d in Delivery.objects.all())

    mailing = Run.objects.get().mailing
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mailing:mailing_send_now", args=[mailing.pk]))
    assert Run.objects.count() == 2
    assert len(smtp_sink.messages) == 4
    page = client.get(reverse("mailing:mailing_detail", args=[mailing.pk]))
    assert page.context["mailing"].sent == 4
    assert "250" in page.content.decode()

"""Each validation rule answers with a form error naming the problem,
never a 500; the services refuse the same input on their own."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mailing import services
from mailing.models import MAX_BODY_LENGTH, Client, Mailing
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _mailing_data(message, clients, **extra):
    start = timezone.now() + timedelta(days=1)
    data = {
        "message": message.pk,
        "clients": [c.pk for c in clients],
        "start_at": _local(start),
        "end_at": _local(start + timedelta(days=7)),
        "periodicity": "weekly",
    }
    data.update(extra)
    return data


def _errors(response, field):
    assert response.status_code == 200
    return " ".join(response.context["form"].errors.get(field, []))


def test_invalid_email(client, owner):
    response = client.post(
        reverse("mailing:client_create"), {"email": "not-an-address"}
    )
    assert "valid email" in _errors(response, "email").lower()
    assert not Client.objects.exists()


def test_email_normalised_and_unique(client, owner):
    """Addresses are stored trimmed and in lower case, so a second spelling
    of the same address is refused."""
    client.post(reverse("mailing:client_create"), {"email": " Ann@Example.COM "})
    assert Client.objects.get().email == "ann@example.com"
    response = client.post(
        reverse("mailing:client_create"), {"email": "ANN@example.com"}
    )
    assert "already have a client" in _errors(response, "email")
    assert Client.objects.count() == 1


def test_same_email_for_two_owners(owner):
    other = UserFactory()
    services.client_create(owner=owner, email="x@example.net")
    services.client_create(owner=other, email="X@example.net")
    assert Client.objects.filter(email="x@example.net").count() == 2


def test_subject_with_line_break(client, owner):
    response = client.post(
        reverse("mailing:message_create"),
        {"subject": "Hello\nBcc: victim@example.com", "body": "Hi"},
    )
    assert "single line" in _errors(response, "subject")
    with pytest.raises(ValidationError):
        services.message_create(owner=owner, subject="a\r\nb", body="x")


def test_body_too_large(client, owner):
    response = client.post(
        reverse("mailing:message_create"),
        {"subject": "Big", "body": "x" * (MAX_BODY_LENGTH + 1)},
    )
    assert f"{MAX_BODY_LENGTH:,}" in _errors(response, "body")
    with pytest.raises(ValidationError):
        services.message_create(
            owner=owner, subject="s", body="x", html_body="y" * (MAX_BODY_LENGTH + 1)
        )


def test_end_before_start(client, owner):
    message = MessageFactory(owner=owner)
    clients = ClientFactory.create_batch(2, owner=owner)
    start = timezone.now() + timedelta(days=2)
    data = _mailing_data(
        message,
        clients,
        start_at=_local(start),
        end_at=_local(start - timedelta(hours=1)),
    )
    response = client.post(reverse("mailing:mailing_create"), data)
    assert "end must be after the start" in _errors(response, "end_at")
    assert not Mailing.objects.exists()


def test_mailing_without_clients(client, owner):
    message = MessageFactory(owner=owner)
    response = client.post(
        reverse("mailing:mailing_create"), _mailing_data(message, [])
    )
    assert "at least one client" in _errors(response, "clients")
    response = client.post(
        reverse("mailing:mailing_create"), _mailing_data(message, [], all_clients="on")
    )
    assert "no clients yet" in _errors(response, "clients")
    assert not Mailing.objects.exists()


def test_another_users_message_or_client(client, owner):
    mine = MessageFactory(owner=owner)
    theirs = MessageFactory()
    their_client = ClientFactory(owner=theirs.owner)
    my_client = ClientFactory(owner=owner)
    response = client.post(
        reverse("mailing:mailing_create"), _mailing_data(theirs, [my_client])
    )
    assert "not one of your messages" in _errors(response, "message")
    response = client.post(
        reverse("mailing:mailing_create"), _mailing_data(mine, [their_client])
    )
    assert "not one of your clients" in _errors(response, "clients")
    assert not Mailing.objects.exists()
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        services.mailing_create(
            owner=owner,
            message=mine,
            clients=[their_client],
            start_at=start,
            end_at=start + timedelta(days=1),
        )
    assert "another user" in str(error.value)
    with pytest.raises(ValidationError) as error:
        services.mailing_create(
            owner=owner,
            message=theirs,
            clients=[my_client],
            start_at=start,
            end_at=start + timedelta(days=1),
        )
    assert "another user" in str(error.value)


def test_unparseable_dates_are_form_errors(client, owner):
    message = MessageFactory(owner=owner)
    data = _mailing_data(message, [ClientFactory(owner=owner)], start_at="yesterday")
    response = client.post(reverse("mailing:mailing_create"), data)
    assert _errors(response, "start_at")


def test_all_my_clients(client, owner, django_capture_on_commit_callbacks, queued_runs):
    """“All my clients” sends to every client; a window holding now queues
    the first run on commit, with next_run_at set."""
    message = MessageFactory(owner=owner)
    ClientFactory.create_batch(3, owner=owner)
    now = timezone.now()
    data = _mailing_data(
        message,
        [],
        all_clients="on",
        start_at=_local(now - timedelta(minutes=1)),
        end_at=_local(now + timedelta(days=1)),
        periodicity="once",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mailing:mailing_create"), data)
    mailing = Mailing.objects.get()
    assert queued_runs == [{"mailing_id": mailing.pk, "send_now": False}]
    assert response.status_code == 302
    assert mailing.clients.count() == 3
    assert mailing.next_run_at is not None

"""A mailing's sender: the form offers the owner's usable senders, the
services refuse anything else."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from deliverability.models import SendingDomain
from deliverability.services import sender_create, sending_domain_create
from deliverability.tests.support import verified_domain
from mailing import services
from mailing.forms import MailingForm
from mailing.models import Mailing
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = UserFactory(full_name="Olga Owner")
    client.force_login(user)
    return user


def usable_sender(owner, domain="example.com", name="News"):
    verified_domain(owner, domain)
    return sender_create(owner=owner, name=name, email=f"news@{domain}")


def form_data(owner, **extra):
    start = timezone.localtime() + timedelta(days=1)
    return {
        "message": MessageFactory(owner=owner).pk,
        "clients": [ClientFactory(owner=owner).pk],
        "start_at": start.strftime("%Y-%m-%dT%H:%M"),
        "end_at": (start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "periodicity": "weekly",
        **extra,
    }


def test_the_form_offers_only_the_owners_usable_senders(owner, platform):
    mine = usable_sender(owner)
    unverified = sending_domain_create(owner=owner, domain="example.org")
    SendingDomain.objects.filter(pk=unverified.pk).update(verified_at=None)
    theirs = usable_sender(UserFactory(), domain="stranger.example")
    field = MailingForm(owner=owner).fields["sender"]
    assert list(field.queryset) == [mine]
    assert theirs not in field.queryset
    assert field.empty_label == "Olga Owner via Mailsite (the platform's address)"


def test_a_mailing_is_created_with_its_sender(client, owner, platform):
    sender = usable_sender(owner)
    response = client.post(
        reverse("mailing:mailing_create"), form_data(owner, sender=sender.pk)
    )
    assert response.status_code == 302
    assert Mailing.objects.get().sender == sender


def test_no_sender_means_the_platform(client, owner, platform):
    usable_sender(owner)
    response = client.post(reverse("mailing:mailing_create"), form_data(owner))
    assert response.status_code == 302
    assert Mailing.objects.get().sender is None


def test_another_owners_sender_is_refused(client, owner, platform):
    theirs = usable_sender(UserFactory(), domain="stranger.example")
    response = client.post(
        reverse("mailing:mailing_create"), form_data(owner, sender=theirs.pk)
    )
    assert response.status_code == 200
    assert "sender" in response.context["form"].errors
    assert not Mailing.objects.exists()
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError, match="belongs to another user"):
        services.mailing_create(
            owner=owner,
            message=MessageFactory(owner=owner),
            all_clients=True,
            start_at=start,
            end_at=start + timedelta(days=1),
            sender=theirs,
        )


def test_a_sender_whose_domain_lost_verification_stays_but_cannot_be_chosen(
    owner, platform
):
    sender = usable_sender(owner)
    ClientFactory(owner=owner)
    start = timezone.now() + timedelta(days=1)
    mailing = services.mailing_create(
        owner=owner,
        message=MessageFactory(owner=owner),
        all_clients=True,
        start_at=start,
        end_at=start + timedelta(days=1),
        sender=sender,
    )
    SendingDomain.objects.update(verified_at=None)
    sender.refresh_from_db()
    # Editing other things keeps it (its mail goes from the platform until
    # the domain is verified again) ...
    services.mailing_update(
        mailing=mailing,
        message=mailing.message,
        start_at=start,
        end_at=start + timedelta(days=2),
        periodicity="once",
        all_clients=True,
    )
    assert Mailing.objects.get().sender == sender
    assert (
        sender in MailingForm(owner=owner, instance=mailing).fields["sender"].queryset
    )
    # ... but another mailing cannot choose it.
    with pytest.raises(ValidationError, match="not verified"):
        services.mailing_create(
            owner=owner,
            message=mailing.message,
            all_clients=True,
            start_at=start,
            end_at=start + timedelta(days=1),
            sender=sender,
        )

"""Senders: only on a verified domain of the same owner."""

import pytest
from django.core.exceptions import ValidationError

from deliverability.models import Sender, SendingDomain
from deliverability.services import (
    sender_create,
    sender_delete,
    sending_domain_create,
    sending_domain_delete,
)
from mailing.tests.factories import MailingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(email="olga@example.com")


def verify(domain):
    SendingDomain.objects.filter(pk=domain.pk).update(verified_at="2026-12-01T00:00Z")


def errors(excinfo) -> str:
    return " ".join(excinfo.value.messages)


def test_a_sender_on_a_verified_domain_is_created(owner, platform):
    verify(sending_domain_create(owner=owner, domain="example.com"))
    sender = sender_create(
        owner=owner,
        name="  Example   News ",
        email="News@Example.COM",
        reply_to="help@example.com",
    )
    assert (sender.name, sender.email, sender.reply_to) == (
        "Example News",
        "News@example.com",
        "help@example.com",
    )
    assert sender.is_usable


def test_an_address_on_an_unknown_domain_is_refused(owner, platform):
    with pytest.raises(ValidationError) as excinfo:
        sender_create(owner=owner, name="N", email="news@example.com")
    assert "example.com is not one of your sending domains" in errors(excinfo)


def test_an_address_on_an_unverified_domain_is_refused(owner, platform):
    sending_domain_create(owner=owner, domain="example.com")
    with pytest.raises(ValidationError) as excinfo:
        sender_create(owner=owner, name="N", email="news@example.com")
    assert "example.com is not verified yet" in errors(excinfo)


def test_another_owners_verified_domain_is_refused(owner, platform):
    verify(sending_domain_create(owner=UserFactory(), domain="example.com"))
    with pytest.raises(ValidationError) as excinfo:
        sender_create(owner=owner, name="N", email="news@example.com")
    assert "not one of your sending domains" in errors(excinfo)


def test_a_subdomain_is_a_domain_of_its_own(owner, platform):
    verify(sending_domain_create(owner=owner, domain="example.com"))
    with pytest.raises(ValidationError):
        sender_create(owner=owner, name="N", email="news@mail.example.com")


@pytest.mark.parametrize(
    ("name", "email", "reply_to"),
    [
        ("", "news@example.com", ""),
        ("N", "not-an-address", ""),
        ("N", "news@example.com", "not-an-address"),
    ],
)
def test_bad_input_is_refused(owner, platform, name, email, reply_to):
    verify(sending_domain_create(owner=owner, domain="example.com"))
    with pytest.raises(ValidationError):
        sender_create(owner=owner, name=name, email=email, reply_to=reply_to)
    assert not Sender.objects.exists()


def test_the_same_sender_twice_is_refused(owner, platform):
    verify(sending_domain_create(owner=owner, domain="example.com"))
    sender_create(owner=owner, name="N", email="news@example.com")
    with pytest.raises(ValidationError, match="already have this sender"):
        sender_create(owner=owner, name="N", email="news@example.com")


def test_a_sender_a_mailing_uses_cannot_be_deleted(owner, platform):
    domain = sending_domain_create(owner=owner, domain="example.com")
    verify(domain)
    sender = sender_create(owner=owner, name="N", email="news@example.com")
    mailing = MailingFactory(owner=owner, sender=sender)
    with pytest.raises(ValidationError, match="Mailings still send"):
        sender_delete(sender=sender)
    with pytest.raises(ValidationError, match="still sends from"):
        sending_domain_delete(sending_domain=domain)
    assert Sender.objects.filter(pk=sender.pk).exists()
    mailing.sender = None
    mailing.save()
    sending_domain_delete(sending_domain=domain)
    assert not Sender.objects.exists()

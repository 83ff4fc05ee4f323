"""The Domains and Senders pages: owner-scoped, POST-only actions, errors
shown on the form."""

import pytest
from django.urls import reverse

from deliverability.models import Sender, SendingDomain
from deliverability.services import sender_create, sending_domain_create
from deliverability.tests.support import verified_domain
from mailing.tests.factories import MailingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = UserFactory(email="olga@example.com")
    client.force_login(user)
    return user


def test_pages_need_a_login(client):
    for name in ("deliverability:domain_list", "deliverability:sender_list"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_adding_a_domain_shows_its_records(client, owner, platform):
    response = client.post(reverse("deliverability:domain_list"), {"domain": "Ex.com"})
    domain = SendingDomain.objects.get(owner=owner)
    assert response["Location"] == domain.get_absolute_url()
    page = client.get(domain.get_absolute_url()).content.decode()
    for _, name, value in domain.dns_records():
        assert name in page
        assert value in page
    assert "not checked yet" in page


def test_a_bad_domain_is_a_form_error(client, owner, platform):
    response = client.post(reverse("deliverability:domain_list"), {"domain": "1.2.3.4"})
    assert response.status_code == 200
    assert "IP address" in str(response.context["form"].errors)
    assert not SendingDomain.objects.exists()


def test_another_users_domain_and_sender_are_404(client, owner, platform):
    stranger = UserFactory()
    domain = verified_domain(stranger, "stranger.example")
    sender = sender_create(owner=stranger, name="S", email="s@stranger.example")
    for url, method in [
        (reverse("deliverability:domain_detail", args=[domain.pk]), "get"),
        (reverse("deliverability:domain_check", args=[domain.pk]), "post"),
        (reverse("deliverability:domain_delete", args=[domain.pk]), "post"),
        (reverse("deliverability:sender_delete", args=[sender.pk]), "post"),
    ]:
        assert getattr(client, method)(url).status_code == 404
    assert SendingDomain.objects.filter(pk=domain.pk).exists()
    assert Sender.objects.filter(pk=sender.pk).exists()
    page = client.get(reverse("deliverability:domain_list")).content.decode()
    assert "stranger.example" not in page


def test_check_is_post_only(client, owner, platform):
    domain = sending_domain_create(owner=owner, domain="example.com")
    url = reverse("deliverability:domain_check", args=[domain.pk])
    assert client.get(url).status_code == 405


def test_check_now_stores_the_outcome(client, owner, platform, dns_zone):
    domain = sending_domain_create(owner=owner, domain="example.com")
    response = client.post(
        reverse("deliverability:domain_check", args=[domain.pk]), follow=True
    )
    page = response.content.decode()
    assert "example.com is not verified yet" in page
    assert "There is no DKIM record at" in page
    dns_zone.publish_all(domain.dns_records())
    response = client.post(
        reverse("deliverability:domain_check", args=[domain.pk]), follow=True
    )
    assert "example.com is verified: you can send from it." in response.content.decode()


def test_a_sender_on_an_unverified_domain_is_a_form_error(client, owner, platform):
    sending_domain_create(owner=owner, domain="example.com")
    response = client.post(
        reverse("deliverability:sender_list"),
        {"name": "News", "email": "news@example.com"},
    )
    assert "example.com is not verified yet" in str(response.context["form"].errors)
    assert not Sender.objects.exists()


def test_deleting_a_sender_in_use_is_refused_with_the_reason(client, owner, platform):
    verified_domain(owner)
    sender = sender_create(owner=owner, name="News", email="news@example.com")
    MailingFactory(owner=owner, sender=sender)
    response = client.post(
        reverse("deliverability:sender_delete", args=[sender.pk]), follow=True
    )
    assert "Mailings still send from this sender" in response.content.decode()
    assert Sender.objects.filter(pk=sender.pk).exists()


def test_deleting_a_domain(client, owner, platform):
    domain = verified_domain(owner)
    url = reverse("deliverability:domain_delete", args=[domain.pk])
    assert "Delete example.com?" in client.get(url).content.decode()
    response = client.post(url)
    assert response["Location"] == reverse("deliverability:domain_list")
    assert not SendingDomain.objects.exists()


def test_the_pages_are_in_russian(client, owner, platform):
    owner.language = "ru"
    owner.save()
    verified_domain(owner)
    page = client.get(reverse("deliverability:domain_list")).content.decode()
    assert "Домены отправки" in page and "Подтверждён" in page
    page = client.get(reverse("deliverability:sender_list")).content.decode()
    assert "Добавить отправителя" in page

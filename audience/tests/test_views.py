"""The customer's Lists pages and the client page's lists."""

import pytest
from django.urls import reverse

from audience.models import MailingList, Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Mailing
from mailing.tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_lists_need_a_login(client):
    response = client.get(reverse("audience:list_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_create_edit_delete_a_list(client, owner):
    response = client.post(
        reverse("audience:list_create"),
        {"name": "News", "double_opt_in": "on", "ask_full_name": "on"},
    )
    mailing_list = MailingList.objects.get(owner=owner)
    assert response.url == mailing_list.get_absolute_url()
    response = client.post(
        reverse("audience:list_create"), {"name": "News", "double_opt_in": "on"}
    )
    assert response.status_code == 200
    assert "already have a list" in response.content.decode()
    client.post(
        reverse("audience:list_update", args=[mailing_list.pk]), {"name": "Letters"}
    )
    mailing_list.refresh_from_db()
    assert mailing_list.name == "Letters"
    assert mailing_list.double_opt_in is False
    client.post(reverse("audience:list_delete", args=[mailing_list.pk]))
    assert not MailingList.objects.exists()


def test_the_list_page_shows_counts_members_and_the_snippet(client, owner):
    mailing_list = MailingListFactory(owner=owner)
    SubscriptionFactory.create_batch(3, mailing_list=mailing_list)
    SubscriptionFactory(
        mailing_list=mailing_list, status=Subscription.Status.UNCONFIRMED
    )
    page = client.get(mailing_list.get_absolute_url()).content.decode()
    assert "3 subscribed, 1 waiting" in page
    assert page.count("<tr>") == 5
    assert f"/subscribe/{mailing_list.public_id}/" in page
    assert "&lt;form method=&quot;post&quot;" in page or "&lt;form method" in page


def test_the_members_page_is_paged(client, owner):
    mailing_list = MailingListFactory(owner=owner)
    SubscriptionFactory.create_batch(51, mailing_list=mailing_list)
    first = client.get(mailing_list.get_absolute_url()).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(mailing_list.get_absolute_url() + "?page=2")
    assert second.content.decode().count("<tr>") == 2


def test_another_users_list_is_404(client, owner):
    mailing_list = MailingListFactory()
    for name in ("list_detail", "list_update", "list_delete"):
        url = reverse(f"audience:{name}", args=[mailing_list.pk])
        assert client.get(url).status_code == 404


def test_add_and_remove_a_client_on_the_client_page(client, owner):
    mailing_list = MailingListFactory(owner=owner, name="News")
    customer = ClientFactory(owner=owner)
    client.post(
        reverse("audience:subscription_add", args=[customer.pk]),
        {"mailing_list": mailing_list.pk},
    )
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.SUBSCRIBED
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="subscriptions"' in page and "News" in page
    client.post(reverse("audience:subscription_remove", args=[subscription.pk]))
    assert not Subscription.objects.exists()
    mailing_list.refresh_from_db()
    assert mailing_list.subscribed_count == 0


def test_another_users_list_cannot_be_used_on_a_client(client, owner):
    customer = ClientFactory(owner=owner)
    response = client.post(
        reverse("audience:subscription_add", args=[customer.pk]),
        {"mailing_list": MailingListFactory().pk},
    )
    assert response.status_code == 302
    assert not Subscription.objects.exists()
    other = SubscriptionFactory()
    response = client.post(reverse("audience:subscription_remove", args=[other.pk]))
    assert response.status_code == 404


def test_the_mailing_form_offers_the_owners_lists(client, owner, queued_runs):
    """Only the owner's lists are offered; a mailing to a list alone, with a
    name, is saved; another user's list is refused."""
    mine = MailingListFactory(owner=owner, name="Mine")
    theirs = MailingListFactory(name="Theirs")
    message = MessageFactory(owner=owner)
    html = client.get(reverse("mailing:mailing_create")).content.decode()
    assert "Mine" in html and "Theirs" not in html
    data = {
        "name": "Spring letter",
        "message": message.pk,
        "lists": [mine.pk],
        "start_at": "2999-01-01T10:00",
        "end_at": "2999-01-02T10:00",
        "periodicity": "once",
    }
    response = client.post(reverse("mailing:mailing_create"), data)
    mailing = Mailing.objects.get(owner=owner)
    assert response.url == mailing.get_absolute_url()
    assert list(mailing.lists.all()) == [mine]
    assert mailing.name == "Spring letter"
    detail = client.get(response.url).content.decode()
    assert "Spring letter" in detail
    assert 'id="mailing-lists"' in detail and "Mine" in detail
    response = client.post(
        reverse("mailing:mailing_create"), {**data, "lists": [theirs.pk]}
    )
    assert response.status_code == 200
    assert "not one of your lists" in response.content.decode()


def test_the_mailing_table_shows_the_name_or_the_subject(client, owner):
    MailingFactory(owner=owner, clients=1, name="Spring letter")
    MailingFactory(owner=owner, clients=1, message__subject="Plain subject")
    page = client.get(reverse("mailing:mailing_list")).content.decode()
    assert "Spring letter" in page
    assert "Plain subject" in page

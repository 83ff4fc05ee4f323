"""How many clients a mailing will reach, on its page and in the mailing
list: its picks and its lists' subscribed members, each once; exact when
cheap, "up to" the kept counts when not."""

import pytest
from django.urls import reverse

from audience.models import Segment, Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing import selectors
from mailing.selectors import RecipientEstimate, mailing_recipient_estimate
from mailing.tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db


def _members(mailing_list, clients):
    for client in clients:
        SubscriptionFactory(mailing_list=mailing_list, client=client)


@pytest.fixture
def address_book(owner):
    """Six clients; `news` holds the first four, `offers` the last three
    (one shared: 3), plus an unconfirmed and a departed member of news."""
    clients = ClientFactory.create_batch(6, owner=owner)
    news = MailingListFactory(owner=owner, name="News")
    offers = MailingListFactory(owner=owner, name="Offers")
    _members(news, clients[:4])
    _members(offers, clients[3:])
    for status in (Subscription.Status.UNCONFIRMED, Subscription.Status.UNSUBSCRIBED):
        SubscriptionFactory(mailing_list=news, status=status)
    return clients, news, offers


def test_picked_clients_alone_are_counted_exactly(owner):
    mailing = MailingFactory(owner=owner, clients=3)
    assert mailing_recipient_estimate(mailing=mailing) == RecipientEstimate(3)


def test_one_list_and_no_picks_reads_the_lists_counter(
    owner, address_book, django_assert_num_queries
):
    _clients, news, _offers = address_book
    mailing = MailingFactory(owner=owner)
    mailing.lists.set([news])
    # The cached pick count, the lists' counters: no member is read.
    with django_assert_num_queries(2):
        estimate = mailing_recipient_estimate(mailing=mailing)
    assert estimate == RecipientEstimate(4)


def test_overlapping_lists_and_picks_are_counted_once_each(owner, address_book):
    clients, news, offers = address_book
    mailing = MailingFactory(owner=owner, clients=[clients[0], clients[5]])
    mailing.lists.set([news, offers])
    # 4 + 3 list members, one on both, and both picks already on a list.
    assert mailing_recipient_estimate(mailing=mailing) == RecipientEstimate(6)
    other = MailingFactory(owner=owner, clients=1)
    other.lists.set([offers])
    assert mailing_recipient_estimate(mailing=other) == RecipientEstimate(4)


def test_past_the_exact_budget_the_estimate_says_up_to(
    owner, address_book, monkeypatch, django_assert_num_queries
):
    clients, news, offers = address_book
    monkeypatch.setattr(selectors, "RECIPIENTS_EXACT_ROWS", 5)
    mailing = MailingFactory(owner=owner, clients=[clients[0]])
    mailing.lists.set([news, offers])
    with django_assert_num_queries(2):
        estimate = mailing_recipient_estimate(mailing=mailing)
    assert estimate == RecipientEstimate(8, exact=False, at_least=4)


def test_a_segment_makes_it_an_upper_bound(owner, address_book):
    _clients, news, _offers = address_book
    mailing = MailingFactory(
        owner=owner,
        segment=Segment.objects.create(owner=owner, name="Recent", conditions={}),
    )
    mailing.lists.set([news])
    assert mailing_recipient_estimate(mailing=mailing) == RecipientEstimate(
        4, exact=False, narrowed=True
    )


def test_the_mailing_page_and_list_show_the_recipients(client, owner, address_book):
    clients, news, offers = address_book
    counted = MailingFactory(owner=owner, clients=[clients[0]])
    counted.lists.set([news, offers])
    page = client.get(counted.get_absolute_url()).content.decode()
    assert 'data-exact="true">6 recipients</span>' in page
    assert "1 picked client" in page

    listing = client.get(reverse("mailing:mailing_list")).content.decode()
    assert ">Recipients</th>" in listing
    assert '<td class="text-end">6</td>' in listing


def test_an_estimate_is_labelled_up_to(client, owner, address_book, monkeypatch):
    clients, news, offers = address_book
    monkeypatch.setattr(selectors, "RECIPIENTS_EXACT_ROWS", 5)
    mailing = MailingFactory(owner=owner, clients=[clients[0]])
    mailing.lists.set([news, offers])
    page = client.get(mailing.get_absolute_url()).content.decode()
    assert 'data-exact="false">up to 8 recipients (at least 4;' in page
    listing = client.get(reverse("mailing:mailing_list")).content.decode()
    assert "up to 8</span>" in listing

    owner.language = "ru"
    owner.save(update_fields=["language"])
    page = client.get(mailing.get_absolute_url()).content.decode()
    assert "до 8 получателей (не меньше 4;" in page
    listing = client.get(reverse("mailing:mailing_list")).content.decode()
    assert ">Получатели</th>" in listing and "до 8</span>" in listing


def test_the_budget_is_shared_by_the_mailings_of_a_page(
    client, owner, address_book, monkeypatch
):
    """One query counts the mailings that fit in the budget together; the
    rest say "up to"."""
    clients, news, offers = address_book
    monkeypatch.setattr(selectors, "RECIPIENTS_EXACT_ROWS", 10)
    first, second = MailingFactory.create_batch(2, owner=owner, clients=[clients[0]])
    for mailing in (first, second):
        mailing.lists.set([news, offers])
    estimates = [
        m.recipients for m in selectors.with_recipient_estimates([first, second])
    ]
    assert estimates == [
        RecipientEstimate(6),
        RecipientEstimate(8, exact=False, at_least=4),
    ]

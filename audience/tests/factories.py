"""factory_boy factories for lists and subscriptions."""

import factory
from django.utils import timezone

from audience.models import MailingList, Subscription
from mailing.tests.factories import ClientFactory, UserFactory


class MailingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailingList

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscribed member added by hand; the client shares the list's owner."""

    class Meta:
        model = Subscription

    mailing_list = factory.SubFactory(MailingListFactory)
    client = factory.SubFactory(
        ClientFactory, owner=factory.SelfAttribute("..mailing_list.owner")
    )
    status = Subscription.Status.SUBSCRIBED
    source = Subscription.Source.MANUAL
    consent_at = factory.LazyFunction(timezone.now)

"""factory_boy factories for lists and subscriptions."""

import factory
from django.utils import timezone

from audience.models import CustomField, MailingList, Subscription
from audience.services import _recount
from mailing.tests.factories import ClientFactory, UserFactory


class MailingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailingList

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscribed member added by hand; the client shares the list's owner,
    and the list's kept counts include the row."""

    class Meta:
        model = Subscription

    mailing_list = factory.SubFactory(MailingListFactory)
    client = factory.SubFactory(
        ClientFactory, owner=factory.SelfAttribute("..mailing_list.owner")
    )
    status = Subscription.Status.SUBSCRIBED
    source = Subscription.Source.MANUAL
    consent_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The list's kept counts, as the services keep them.
        subscription = super()._create(model_class, *args, **kwargs)
        _recount(subscription.mailing_list_id, old=None, new=subscription.status)
        return subscription


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    owner = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    type = CustomField.Type.TEXT
    position = factory.Sequence(lambda n: n)

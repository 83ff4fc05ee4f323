"""factory_boy factories for the mailing domain (shared with the engine's
tests). Related objects share one owner unless told otherwise."""

from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from mailing.models import Client, Delivery, Mailing, Message, Run

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    """A customer with a verified primary address who can log in."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(
                user=obj,
                email=obj.email,
                verified=True if extracted is None else extracted,
                primary=True,
            )


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    owner = factory.SubFactory(UserFactory)
    email = factory.Sequence(lambda n: f"client{n}@example.net")
    full_name = factory.Faker("name")
    comment = ""


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    owner = factory.SubFactory(UserFactory)
    subject = factory.Sequence(lambda n: f"News #{n} for {{{{ full_name }}}}")
    body = "Dear {{ full_name }},\nthis is for {{ email }}.\n"


class MailingFactory(factory.django.DjangoModelFactory):
    """A monthly mailing starting tomorrow; `clients=[...]` or
    `clients=3` (that many new clients of the owner)."""

    class Meta:
        model = Mailing
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    message = factory.SubFactory(MessageFactory, owner=factory.SelfAttribute("..owner"))
    start_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(days=90))
    periodicity = Mailing.Periodicity.MONTHLY

    @factory.post_generation
    def clients(obj, create, extracted, **kwargs):
        if not create or extracted is None:
            return
        if isinstance(extracted, int):
            extracted = ClientFactory.create_batch(extracted, owner=obj.owner)
        obj.clients.set(extracted)


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    mailing = factory.SubFactory(MailingFactory)
    scheduled_for = factory.Sequence(lambda n: timezone.now() - timedelta(days=n + 1))
    status = Run.Status.FINISHED
    started_at = factory.LazyAttribute(lambda o: o.scheduled_for)
    finished_at = factory.LazyAttribute(
        lambda o: (
            o.scheduled_for + timedelta(minutes=5)
            if o.status == Run.Status.FINISHED
            else None
        )
    )


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    run = factory.SubFactory(RunFactory)
    client = factory.SubFactory(
        ClientFactory, owner=factory.SelfAttribute("..run.mailing.owner")
    )
    email = factory.LazyAttribute(
        lambda o: o.client.email if o.client else "x@example.net"
    )
    status = Delivery.Status.SENT
    attempts = 1
    last_attempt_at = factory.LazyFunction(timezone.now)
    server_response = "250 2.0.0 Ok: queued as 4F2A1C03B7"

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from audience import selectors, services
from audience.confirmation import confirmation_token
from audience.models import MailingList, Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Client, Suppression
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _counts(mailing_list):
    mailing_list.refresh_from_db()
    return mailing_list.subscribed_count, mailing_list.unconfirmed_count


def test_list_names_are_unique_per_owner():
    """A second list of the same name is refused; another owner may use it."""
    owner = UserFactory()
    services.mailing_list_create(owner=owner, name="News")
    with pytest.raises(ValidationError) as error:
        services.mailing_list_create(owner=owner, name="News")
    assert "name" in error.value.message_dict
    services.mailing_list_create(owner=UserFactory(), name="News")
    assert MailingList.objects.filter(name="News").count() == 2


def test_new_list_has_double_opt_in_and_a_public_id():
    mailing_list = services.mailing_list_create(owner=UserFactory(), name="News")
    assert mailing_list.double_opt_in is True
    assert len(mailing_list.public_id) >= 16


def test_adding_by_hand_subscribes_and_counts():
    """A client added by hand is subscribed at once and counted once."""
    mailing_list = MailingListFactory()
    client = ClientFactory(owner=mailing_list.owner)
    services.subscription_add(mailing_list=mailing_list, client=client)
    services.subscription_add(mailing_list=mailing_list, client=client)
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.SUBSCRIBED
    assert subscription.source == Subscription.Source.MANUAL
    assert _counts(mailing_list) == (1, 0)
    services.subscription_remove(subscription=subscription)
    assert _counts(mailing_list) == (0, 0)
    assert not Subscription.objects.exists()


def test_adding_another_owners_client_is_refused():
    mailing_list = MailingListFactory()
    with pytest.raises(ValidationError):
        services.subscription_add(mailing_list=mailing_list, client=ClientFactory())


def test_a_member_who_left_cannot_be_added_back_by_hand():
    subscription = SubscriptionFactory(status=Subscription.Status.UNSUBSCRIBED)
    with pytest.raises(ValidationError):
        services.subscription_add(
            mailing_list=subscription.mailing_list, client=subscription.client
        )
    services.subscription_remove(subscription=subscription)
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_signup_records_consent_and_mails_a_confirmation(
    django_capture_on_commit_callbacks,
):
    """A form sign-up is unconfirmed with time, IP and source, and the
    confirmation link is mailed from the platform's address."""
    mailing_list = MailingListFactory(name="Weekly news")
    with django_capture_on_commit_callbacks(execute=True):
        signup = services.subscription_signup(
            mailing_list=mailing_list,
            email=" Ann@Example.COM ",
            full_name="Ann",
            ip="192.0.2.7",
        )
    subscription = signup.subscription
    assert signup.confirmation_sent
    assert subscription.status == Subscription.Status.UNCONFIRMED
    assert subscription.source == Subscription.Source.FORM
    assert subscription.consent_ip == "192.0.2.7"
    assert subscription.consent_at is not None
    assert subscription.confirmed_at is None
    assert subscription.client.email == "ann@example.com"
    assert subscription.client.full_name == "Ann"
    assert _counts(mailing_list) == (0, 1)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.com"]
    assert "Weekly news" in mail.outbox[0].subject
    assert "/subscribe/confirm/" in mail.outbox[0].body


def test_confirmation_mail_is_in_the_owners_language(
    django_capture_on_commit_callbacks,
):
    mailing_list = MailingListFactory(owner=UserFactory(language="ru"), name="Новости")
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_signup(mailing_list=mailing_list, email="a@example.org")
    assert mail.outbox[0].subject.startswith("Подтвердите подписку")


def test_signup_of_a_suppressed_address_writes_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    mailing_list = MailingListFactory()
    Suppression.objects.create(
        owner=mailing_list.owner, email="gone@example.org", reason="unsubscribed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        signup = services.subscription_signup(
            mailing_list=mailing_list, email="Gone@example.org"
        )
    assert signup.subscription is None
    assert not signup.confirmation_sent
    assert not Client.objects.filter(email="gone@example.org").exists()
    assert mail.outbox == []


def test_signup_of_a_subscribed_member_changes_nothing(
    django_capture_on_commit_callbacks,
):
    subscription = SubscriptionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        signup = services.subscription_signup(
            mailing_list=subscription.mailing_list, email=subscription.client.email
        )
    assert not signup.confirmation_sent
    assert mail.outbox == []
    subscription.refresh_from_db()
    assert subscription.source == Subscription.Source.MANUAL


def test_signup_without_double_opt_in_subscribes_at_once():
    mailing_list = MailingListFactory(double_opt_in=False)
    signup = services.subscription_signup(
        mailing_list=mailing_list, email="b@example.org", ip="192.0.2.1"
    )
    assert signup.subscription.status == Subscription.Status.SUBSCRIBED
    assert signup.subscription.confirmed_at is not None
    assert _counts(mailing_list) == (1, 0)


def test_signup_with_an_invalid_address_is_refused():
    with pytest.raises(ValidationError):
        services.subscription_signup(
            mailing_list=MailingListFactory(), email="not an address"
        )


def test_confirming_subscribes_once():
    mailing_list = MailingListFactory()
    signup = services.subscription_signup(
        mailing_list=mailing_list, email="c@example.org"
    )
    token = confirmation_token(signup.subscription)
    subscription = services.subscription_confirm(token=token)
    assert subscription.status == Subscription.Status.SUBSCRIBED
    assert subscription.confirmed_at is not None
    services.subscription_confirm(token=token)
    assert _counts(mailing_list) == (1, 0)


def test_forged_or_stale_confirmation_links_are_refused():
    mailing_list = MailingListFactory()
    signup = services.subscription_signup(
        mailing_list=mailing_list, email="d@example.org"
    )
    with pytest.raises(services.ConfirmationInvalid):
        services.subscription_confirm(token="forged")
    token = confirmation_token(signup.subscription)
    services.subscription_leave(subscription=signup.subscription)
    with pytest.raises(services.ConfirmationInvalid):
        services.subscription_confirm(token=token)


def test_leaving_one_list_keeps_the_others():
    first = SubscriptionFactory()
    second = SubscriptionFactory(
        client=first.client,
        mailing_list=MailingListFactory(owner=first.mailing_list.owner),
    )
    services.subscription_leave(subscription=first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Subscription.Status.UNSUBSCRIBED
    assert second.status == Subscription.Status.SUBSCRIBED
    assert _counts(first.mailing_list) == (0, 0)
    assert not Suppression.objects.exists()


def test_selectors_are_scoped_to_the_owner():
    subscription = SubscriptionFactory()
    owner = subscription.mailing_list.owner
    assert list(selectors.mailing_list_list(owner=owner)) == [subscription.mailing_list]
    assert not selectors.mailing_list_list(owner=UserFactory()).exists()
    assert list(selectors.list_members(mailing_list=subscription.mailing_list)) == [
        subscription
    ]
    assert list(
        selectors.subscriptions_for_email(
            owner_id=owner.pk, email=subscription.client.email
        )
    ) == [subscription]
    assert not selectors.subscriptions_for_email(
        owner_id=UserFactory().pk, email=subscription.client.email
    ).exists()


def test_deleting_a_client_keeps_the_counts_right():
    """The subscriptions go with the client, and the lists' counts follow."""
    subscription = SubscriptionFactory()
    SubscriptionFactory(
        client=subscription.client,
        mailing_list=MailingListFactory(owner=subscription.mailing_list.owner),
        status=Subscription.Status.UNCONFIRMED,
    )
    other = SubscriptionFactory(mailing_list=subscription.mailing_list)
    subscription.client.delete()
    assert _counts(subscription.mailing_list) == (1, 0)
    assert MailingList.objects.filter(unconfirmed_count=0).count() == 2
    assert Subscription.objects.get() == other


def test_confirming_mails_the_welcome_message_with_the_preferences_link(
    django_capture_on_commit_callbacks,
):
    mailing_list = MailingListFactory(welcome_message="Glad you came.")
    with django_capture_on_commit_callbacks(execute=True):
        signup = services.subscription_signup(
            mailing_list=mailing_list, email="e@example.org"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_confirm(token=confirmation_token(signup.subscription))
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_confirm(token=confirmation_token(signup.subscription))
    assert len(mail.outbox) == 2  # the confirmation, then one welcome
    welcome = mail.outbox[1]
    assert welcome.to == ["e@example.org"]
    assert "Glad you came." in welcome.body
    assert "/m/preferences/" in welcome.body


def test_no_welcome_message_no_mail(django_capture_on_commit_callbacks):
    mailing_list = MailingListFactory(double_opt_in=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_signup(mailing_list=mailing_list, email="f@example.org")
    assert mail.outbox == []

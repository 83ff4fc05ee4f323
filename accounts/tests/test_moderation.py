"""Blocking and unblocking users: who may do it, and what it changes."""

import pytest
from django.core.exceptions import PermissionDenied

from accounts import roles, services
from accounts.signals import user_moderated


@pytest.fixture
def heard():
    """The `user_moderated` signals sent during the test."""
    calls = []

    def receiver(sender, **kwargs):
        calls.append((kwargs["action"], kwargs["user"].email, kwargs["reason"]))

    user_moderated.connect(receiver, dispatch_uid="test_moderation")
    yield calls
    user_moderated.disconnect(dispatch_uid="test_moderation")


def test_a_manager_blocks_and_unblocks_a_customer(manager, customer, heard):
    """A blocked user is inactive with a date; unblocking clears both, and
    each change is announced for the moderation log."""
    services.user_block(actor=manager, user=customer, reason="spam")
    customer.refresh_from_db()
    assert not customer.is_active and customer.blocked_at
    services.user_unblock(actor=manager, user=customer)
    customer.refresh_from_db()
    assert customer.is_active and customer.blocked_at is None
    assert heard == [
        ("block", "customer@example.com", "spam"),
        ("unblock", "customer@example.com", ""),
    ]


@pytest.mark.parametrize("service", [services.user_block, services.user_unblock])
def test_refusals_change_nothing(
    service, manager, customer, content_manager, superuser, heard
):
    """No permission, oneself, or a superuser by a non-superuser: refused,
    with the reason, for blocking and unblocking alike."""
    cases = [
        (customer, manager, "You may not block or unblock users."),
        (content_manager, customer, "You may not block or unblock users."),
        (manager, manager, "You cannot block yourself."),
        (superuser, superuser, "You cannot block yourself."),
        (manager, superuser, "Only a superuser can block a superuser."),
    ]
    for actor, target, reason in cases:
        with pytest.raises(PermissionDenied, match=reason):
            service(actor=actor, user=target)
        target.refresh_from_db()
        assert target.is_active and target.blocked_at is None
    assert heard == []


def test_who_may_moderate_whom(manager, customer, superuser):
    """The admin's buttons follow the services' rule."""
    assert roles.may_moderate_user(manager, customer)
    assert roles.may_moderate_user(superuser, manager)
    assert not roles.may_moderate_user(manager, superuser)
    assert not roles.may_moderate_user(manager, manager)
    assert not roles.may_moderate_user(customer, manager)


def test_the_admin_asks_then_blocks_and_goes_back_to_the_users(
    client, manager, customer
):
    """GET asks (with a red button), POST blocks and returns to the user
    listing when no `next` is given; a foreign `next` is not followed."""
    client.force_login(manager)
    url = f"/cms/moderation/block/{customer.pk}/"
    page = client.get(url).content.decode()
    assert "Block this user?" in page and "button serious" in page
    response = client.post(url + "?next=https://evil.example/", {"reason": "spam"})
    assert response["Location"] == "/cms/moderation/users/"
    customer.refresh_from_db()
    assert not customer.is_active


def test_the_admin_shows_a_refusal(client, manager, superuser):
    """A manager's forged POST against a superuser is refused, with why."""
    client.force_login(manager)
    response = client.post(f"/cms/moderation/block/{superuser.pk}/", follow=True)
    assert "Only a superuser can block a superuser." in response.content.decode()
    superuser.refresh_from_db()
    assert superuser.is_active

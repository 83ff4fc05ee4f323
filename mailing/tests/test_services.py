"""Mailing services: planning, queueing on commit, pause/resume, moderation."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services as account_services
from mailing import services
from mailing.models import ModerationEvent
from mailing.rendering import render_message
from mailing.tests.factories import (
    ClientFactory,
    MailingFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]


def _create(owner, *, start, days=7, periodicity="daily"):
    return services.mailing_create(
        owner=owner,
        message=MessageFactory(owner=owner),
        clients=ClientFactory.create_batch(2, owner=owner),
        start_at=start,
        end_at=start + timedelta(days=days),
        periodicity=periodicity,
    )


def test_create_in_window_queues_on_commit(
    django_capture_on_commit_callbacks, queued_runs
):
    owner = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        mailing = _create(owner, start=timezone.now() - timedelta(minutes=5))
    assert mailing.next_run_at is not None
    assert mailing.next_run_at <= timezone.now()
    assert queued_runs == [{"mailing_id": mailing.pk, "send_now": False}]


def test_create_in_future_plans_without_queueing(
    django_capture_on_commit_callbacks, queued_runs
):
    owner = UserFactory()
    start = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        mailing = _create(owner, start=start)
    assert mailing.next_run_at == start
    assert queued_runs == []


def test_pause_resume_send_now(django_capture_on_commit_callbacks, queued_runs):
    owner = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        mailing = _create(owner, start=timezone.now() - timedelta(minutes=5))
        services.mailing_pause(mailing=mailing)
    assert mailing.is_paused
    with pytest.raises(ValidationError):
        services.mailing_send_now(mailing=mailing)
    with django_capture_on_commit_callbacks(execute=True):
        services.mailing_resume(mailing=mailing)
        services.mailing_send_now(mailing=mailing)
    assert not mailing.is_paused
    assert {"mailing_id": mailing.pk, "send_now": True} in queued_runs


def test_disabled_mailing_cannot_send_now(role_users):
    mailing = MailingFactory(clients=1)
    services.mailing_disable(
        actor=role_users["manager"], mailing=mailing, reason="spam"
    )
    mailing.refresh_from_db()
    assert not mailing.is_active
    with pytest.raises(ValidationError):
        services.mailing_send_now(mailing=mailing)
    event = ModerationEvent.objects.get()
    assert (event.actor, event.action, event.target_mailing) == (
        role_users["manager"],
        "disable_mailing",
        mailing,
    )


def test_block_and_unblock_are_recorded(role_users):
    manager, victim = role_users["manager"], role_users["customer_a"]
    account_services.user_block(actor=manager, user=victim)
    victim.refresh_from_db()
    assert not victim.is_active and victim.blocked_at
    account_services.user_unblock(actor=manager, user=victim)
    victim.refresh_from_db()
    assert victim.is_active and victim.blocked_at is None
    assert list(ModerationEvent.objects.values_list("action", flat=True)) == [
        "unblock_user",
        "block_user",
    ]


def test_moderation_needs_permission(role_users):
    with pytest.raises(PermissionDenied):
        account_services.user_block(
            actor=role_users["customer_a"], user=role_users["customer_b"]
        )
    with pytest.raises(PermissionDenied):
        account_services.user_block(
            actor=role_users["manager"], user=role_users["manager"]
        )
    with pytest.raises(PermissionDenied):
        account_services.user_block(
            actor=role_users["manager"], user=role_users["superuser"]
        )
    with pytest.raises(PermissionDenied):
        services.mailing_disable(
            actor=role_users["content_manager"], mailing=MailingFactory()
        )
    assert not ModerationEvent.objects.exists()


def test_message_in_use_is_not_deleted():
    mailing = MailingFactory(clients=1)
    with pytest.raises(ValidationError):
        services.message_delete(message=mailing.message)


def test_render_message_substitutes_known_placeholders_only():
    message = MessageFactory(
        subject="Hi {{ full_name }}",
        body="{{full_name}} <{{ email }}> {{ unknown }} {% load x %}",
        html_body="<p>{{ full_name }}</p>",
    )
    client = ClientFactory(full_name="<b>Ann</b>", email="ann@example.net")
    subject, text, html = render_message(message, client)
    assert subject == "Hi <b>Ann</b>"
    assert text == "<b>Ann</b> <ann@example.net> {{ unknown }} {% load x %}"
    assert html == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"

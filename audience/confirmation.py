"""The confirmation mail of a sign-up and its signed link (below the
services, so that the task sending the mail needs no service)."""

import logging

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.selectors import user_language
from audience.models import Subscription
from mailing.unsubscribe import unsubscribe_token

logger = logging.getLogger("audience")

CONFIRM_SALT = "audience.confirm"
# How long a confirmation link works; signing up again sends a fresh one.
CONFIRM_MAX_AGE = 7 * 24 * 3600


def confirmation_token(subscription: Subscription) -> str:
    """A signed, expiring token naming one subscription and the consent it
    confirms (a newer sign-up makes older links stale)."""
    stamp = int(subscription.consent_at.timestamp()) if subscription.consent_at else 0
    return signing.dumps([subscription.pk, stamp], salt=CONFIRM_SALT, compress=True)


def subscription_confirmation_send(*, subscription_id: int) -> bool:
    """Send the confirmation mail of a sign-up, from the platform's address
    in the list owner's language. Returns False (and sends nothing) when the
    subscription is gone or no longer waiting; a failure of the mail server
    is logged, and the visitor can sign up again for a new link."""
    subscription = (
        Subscription.objects.select_related("client", "mailing_list__owner")
        .filter(pk=subscription_id, status=Subscription.Status.UNCONFIRMED)
        .first()
    )
    if subscription is None:
        return False
    mailing_list = subscription.mailing_list
    language = user_language(user_id=mailing_list.owner_id) or settings.LANGUAGE_CODE
    url = settings.SITE_URL.rstrip("/") + reverse(
        "audience_public:confirm", args=[confirmation_token(subscription)]
    )
    with translation.override(language):
        context = {
            "mailing_list": mailing_list,
            "owner_name": mailing_list.owner.full_name or mailing_list.owner.email,
            "url": url,
            "site_name": settings.SITE_NAME,
        }
        subject = _("Confirm your subscription to %(list)s") % {
            "list": mailing_list.name
        }
        body = render_to_string("audience/email/confirm.txt", context)
    try:
        send_mail(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [subscription.client.email],
            fail_silently=False,
        )
    except Exception:
        logger.exception("Could not send the confirmation of %s", subscription_id)
        return False
    return True


def confirmation_read(token: str) -> tuple[int, int] | None:
    """(subscription id, consent stamp) of a confirmation token, or None
    when it is forged or expired."""
    try:
        pk, stamp = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        return int(pk), int(stamp)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def confirmation_subscription(token: str) -> Subscription | None:
    """The subscription a confirmation link is for, while the link holds:
    None when it is forged, expired, or the consent it names was replaced
    by a newer sign-up (or the subscription is gone)."""
    found = confirmation_read(token)
    if found is None:
        return None
    pk, stamp = found
    subscription = (
        Subscription.objects.select_related("mailing_list", "client")
        .filter(pk=pk, consent_at__isnull=False)
        .first()
    )
    if subscription is None or int(subscription.consent_at.timestamp()) != stamp:
        return None
    return subscription


def subscription_welcome_send(*, subscription_id: int) -> bool:
    """Send a new subscriber the list's welcome message (when it has one),
    from the platform's address in the owner's language, with the link to
    the preference centre. Returns False when there is nothing to send or
    the mail server failed (logged)."""
    subscription = (
        Subscription.objects.select_related("client", "mailing_list__owner")
        .filter(pk=subscription_id, status=Subscription.Status.SUBSCRIBED)
        .exclude(mailing_list__welcome_message="")
        .first()
    )
    if subscription is None:
        return False
    mailing_list = subscription.mailing_list
    language = user_language(user_id=mailing_list.owner_id) or settings.LANGUAGE_CODE
    token = unsubscribe_token(
        owner_id=mailing_list.owner_id, client_id=subscription.client_id
    )
    with translation.override(language):
        context = {
            "mailing_list": mailing_list,
            "preferences_url": settings.SITE_URL.rstrip("/")
            + reverse("audience_public:preferences", args=[token]),
            "site_name": settings.SITE_NAME,
        }
        subject = _("Welcome to “%(list)s”") % {"list": mailing_list.name}
        body = render_to_string("audience/email/welcome.txt", context)
    try:
        send_mail(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [subscription.client.email],
            fail_silently=False,
        )
    except Exception:
        logger.exception("Could not send the welcome of %s", subscription_id)
        return False
    return True

"""Writes of the deliverability app: sending domains and senders."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import ProtectedError
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_language
from deliverability import config
from deliverability.dnscheck import check_domain
from deliverability.keys import encrypt_private_key, generate_rsa_key
from deliverability.models import Sender, SendingDomain
from deliverability.names import domain_normalize, is_within

logger = logging.getLogger("deliverability")

# Not a full day: the daily cron job must find yesterday's check due.
RECHECK_INTERVAL = timedelta(hours=20)


def _selector(domain: str, now: datetime) -> str:
    """`ms<yyyymm>`, with a letter after it when another account already
    uses that selector for the same domain (their keys must not collide)."""
    base = f"ms{now:%Y%m}"
    taken = set(
        SendingDomain.objects.filter(
            domain=domain, dkim_selector__startswith=base
        ).values_list("dkim_selector", flat=True)
    )
    for suffix in ["", *"abcdefghijklmnopqrstuvwxyz"]:
        if base + suffix not in taken:
            return base + suffix
    raise ValidationError(_("This domain cannot be added again this month."))


@transaction.atomic
def sending_domain_create(*, owner: User, domain: str) -> SendingDomain:
    """Add a sending domain for `owner` with a new RSA 2048 DKIM key.

    The private key is stored encrypted (deliverability.keys). The domain is
    not verified until `sending_domain_verify` finds its records. Raises
    ValidationError: not a domain name (an IP address, one label, bad
    characters), the platform's own domains, or one the owner already has.
    """
    name = domain_normalize(domain)
    for platform in {config.mailing_domain(), config.bounce_domain()}:
        if is_within(name, platform) or is_within(platform, name):
            raise ValidationError(
                _("%(domain)s belongs to the platform; add a domain of your own.")
                % {"domain": name}
            )
    if SendingDomain.objects.filter(owner=owner, domain=name).exists():
        raise ValidationError(
            _("You have already added %(domain)s.") % {"domain": name}
        )
    private_pem, public_value = generate_rsa_key()
    return SendingDomain.objects.create(
        owner=owner,
        domain=name,
        dkim_selector=_selector(name, timezone.now()),
        dkim_public_key=public_value,
        dkim_private_key_encrypted=encrypt_private_key(private_pem),
    )


def sending_domain_verify(
    *, sending_domain: SendingDomain, now: datetime | None = None
) -> bool:
    """Look up the domain's records and store the outcome of each.

    Sets `verified_at` (kept when it was already set) when the records allow
    signed, aligned mail (the rule is in deliverability.dnscheck); clears it
    and records why in `lost_reason` when a verified domain's records no
    longer do. A lookup that only timed out does not take the verification
    away. Returns whether the domain is verified now. DNS trouble never
    raises: it becomes the reason of the record concerned.
    """
    now = now or timezone.now()
    result = check_domain(sending_domain)
    sending_domain.checks = result.as_json()
    sending_domain.last_checked_at = now
    if result.verified:
        sending_domain.verified_at = sending_domain.verified_at or now
        sending_domain.lost_reason = ""
    elif sending_domain.verified_at and not result.inconclusive:
        sending_domain.verified_at = None
        sending_domain.lost_reason = " ".join(result.failures())
    sending_domain.save(
        update_fields=["checks", "last_checked_at", "verified_at", "lost_reason"]
    )
    return sending_domain.verified_at is not None


def sending_domains_recheck(now: datetime | None = None) -> dict[str, int]:
    """Re-check every verified domain last checked a day or more ago.

    A domain whose records are gone loses its verification (its senders stop
    being usable) and its owner is told by e-mail, from the platform's
    address, in their language. Returns counts: checked, still verified,
    lost.
    """
    now = now or timezone.now()
    due = SendingDomain.objects.filter(
        verified_at__isnull=False, last_checked_at__lte=now - RECHECK_INTERVAL
    ).select_related("owner")
    counts = {"checked": 0, "verified": 0, "lost": 0}
    for sending_domain in due.iterator():
        counts["checked"] += 1
        if sending_domain_verify(sending_domain=sending_domain, now=now):
            counts["verified"] += 1
        else:
            counts["lost"] += 1
            _tell_owner_verification_lost(sending_domain)
    return counts


def _tell_owner_verification_lost(sending_domain: SendingDomain) -> None:
    owner = sending_domain.owner
    language = user_language(user_id=owner.pk) or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "domain": sending_domain,
            "site_url": settings.SITE_URL.rstrip("/"),
            "site_name": settings.SITE_NAME,
        }
        subject = _("[Mailsite] %(domain)s is no longer verified") % {
            "domain": sending_domain.display_name
        }
        body = render_to_string("deliverability/email/domain_lost.txt", context)
    try:
        # Account mail: always the platform's own address, never a sender.
        send_mail(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [owner.email],
            fail_silently=False,
        )
    except Exception:  # the notice on the domains page remains
        logger.exception("Could not tell %s about %s", owner.email, sending_domain)


@transaction.atomic
def sending_domain_delete(*, sending_domain: SendingDomain) -> None:
    """Delete a domain with its key and senders. Raises ValidationError when
    a mailing still sends from one of its senders."""
    try:
        sending_domain.senders.all().delete()
        sending_domain.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _(
                "A mailing still sends from one of this domain's senders; choose "
                "another sender for it first."
            )
        ) from exc


@transaction.atomic
def sender_create(*, owner: User, name: str, email: str, reply_to: str = "") -> Sender:
    """Add a From identity for `owner`.

    Raises ValidationError unless `email` is on a verified sending domain of
    that owner (exactly the domain: a subdomain is a domain of its own), or
    when the same name and address exist already.
    """
    name = " ".join((name or "").split())
    email = (email or "").strip()
    reply_to = (reply_to or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter the name recipients will see.")})
    local, at, domain_part = email.rpartition("@")
    if not (local and at and domain_part):
        raise ValidationError({"email": _("Enter a valid e-mail address.")})
    try:
        domain_name = domain_normalize(domain_part)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None
    email = f"{local}@{domain_name}"
    sending_domain = SendingDomain.objects.filter(
        owner=owner, domain=domain_name
    ).first()
    if sending_domain is None:
        raise ValidationError(
            {
                "email": _(
                    "%(domain)s is not one of your sending domains; add it under "
                    "Domains and publish its DNS records first."
                )
                % {"domain": domain_name}
            }
        )
    if not sending_domain.is_verified:
        raise ValidationError(
            {
                "email": _(
                    "%(domain)s is not verified yet; publish its DNS records and "
                    "press “Check now” on its page."
                )
                % {"domain": domain_name}
            }
        )
    sender = Sender(
        owner=owner,
        domain=sending_domain,
        name=name,
        email=email,
        reply_to=reply_to,
    )
    sender.full_clean(exclude=["owner", "domain"])
    if Sender.objects.filter(owner=owner, email=email, name=name).exists():
        raise ValidationError(_("You already have this sender."))
    sender.save()
    return sender


@transaction.atomic
def sender_delete(*, sender: Sender) -> None:
    """Delete a sender. Raises ValidationError when a mailing uses it (the
    mailing would otherwise change its From without anyone choosing so)."""
    try:
        sender.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _(
                "Mailings still send from this sender; choose another sender for "
                "them first."
            )
        ) from exc

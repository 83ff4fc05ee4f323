"""The suppression list: addresses one owner's mailings never send to."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.addresses import address_is_valid
from mailing.models import Client, Delivery, Suppression, grouped, normalize_email
from mailing.selectors import suppression_reasons
from mailing.unsubscribe import UnsubscribeTarget

MAX_SUPPRESSION_ADD = 10_000
_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def split_addresses(text: str) -> list[str]:
    """The addresses in a pasted text (one per line, or separated by commas,
    semicolons or spaces), normalised, each once, in their order."""
    found = (normalize_email(part) for part in _ADDRESS_SEPARATORS.split(text or ""))
    return list(dict.fromkeys(address for address in found if address))


@dataclass
class SuppressionAdded:
    """What `suppression_add` did: the addresses it added, and those that
    were on the list already (left as they were)."""

    added: list[str]
    already: list[str]


@transaction.atomic
def suppression_add(
    *, owner: User, emails: list[str], source: str = "added by hand"
) -> SuppressionAdded:
    """Put addresses on `owner`'s suppression list by hand (reason `manual`).

    All or nothing: an invalid address raises ValidationError naming it and
    writes nothing. An address already listed keeps its entry (and reason).
    """
    emails = list(dict.fromkeys(normalize_email(e) for e in emails if e.strip()))
    if not emails:
        raise ValidationError({"emails": _("Enter at least one e-mail address.")})
    if len(emails) > MAX_SUPPRESSION_ADD:
        raise ValidationError(
            {
                "emails": _("That is %(count)s addresses; the limit is %(limit)s.")
                % {"count": grouped(len(emails)), "limit": grouped(MAX_SUPPRESSION_ADD)}
            }
        )
    invalid = [email for email in emails if not address_is_valid(email)]
    if invalid:
        raise ValidationError(
            {
                "emails": _("Not a valid e-mail address: %(addresses)s.")
                % {"addresses": ", ".join(invalid[:20])}
            }
        )
    listed = set(suppression_reasons(owner=owner, emails=emails))
    new = [email for email in emails if email not in listed]
    Suppression.objects.bulk_create(
        [
            Suppression(
                owner=owner,
                email=email,
                reason=Suppression.Reason.MANUAL,
                source=source,
            )
            for email in new
        ],
        # Listed meanwhile by an unsubscribe or another tab: that entry stays.
        ignore_conflicts=True,
    )
    return SuppressionAdded(added=new, already=[e for e in emails if e in listed])


@transaction.atomic
def suppression_record(
    *, owner_id: int, email: str, reason: str, source: str, client_id=None
) -> Suppression:
    """Suppress an address of one owner for `reason` (idempotent).

    An existing entry the customer could lift (added by hand, hard bounce)
    becomes the recipient's own when the recipient unsubscribes or
    complains, so the customer can no longer lift it; an entry the recipient
    made stays as it is. The entry remembers the client row it came from.
    Raises ValueError for a reason that is not one of Suppression.Reason.
    """
    return Suppression.objects.record(
        owner_id=owner_id,
        email=email,
        reason=reason,
        source=source,
        client_id=client_id,
    )


@transaction.atomic
def suppression_remove(*, suppression: Suppression) -> None:
    """Lift an entry the customer may lift (added by hand, hard bounce).

    Raises ValidationError for the recipient's own entries (unsubscribed,
    complaint): only the recipient decides those.
    """
    if not suppression.removable:
        raise ValidationError(
            _("%(email)s cannot be removed: the recipient asked for it (%(reason)s).")
            % {
                "email": suppression.email,
                "reason": suppression.get_reason_display().lower(),
            }
        )
    suppression.delete()


@transaction.atomic
def unsubscribe(*, target: UnsubscribeTarget, one_click: bool = False) -> Suppression:
    """Opt the link's address out of its owner's mailings (idempotent).

    Writes the suppression entry (reason `unsubscribed`, the source naming
    the link and the mailing), so planning and claiming skip the address
    whichever client row brings it back, and marks the owner's client row
    with that address unsubscribed for display.
    """
    mailing_id = target.mailing_id
    if mailing_id is None and target.client is not None:
        mailing_id = (
            Delivery.objects.filter(client_id=target.client_id)
            .exclude(message_id="")
            .order_by("-pk")
            .values_list("run__mailing_id", flat=True)
            .first()
        )
    source = "one-click unsubscribe" if one_click else "unsubscribe link"
    if mailing_id is not None:
        source += f", mailing #{mailing_id}"
    entry = suppression_record(
        owner_id=target.owner_id,
        email=target.email,
        reason=Suppression.Reason.UNSUBSCRIBED,
        source=source,
        client_id=target.client_id,
    )
    now = timezone.now()
    Client.objects.filter(
        owner_id=target.owner_id, email=target.email, unsubscribed_at__isnull=True
    ).update(unsubscribed_at=now, updated_at=now)
    target.suppression = entry
    return entry

"""The pre-flight check of one mailing, and the sample message it measures.

`mailing_preflight` applies deliverability.preflight's rules to a mailing:
its sender, the unsubscribe link, the message as the engine would build it
for one client (`sample_build`: the same `PreparedMessage` as a run, so the
size is what would be sent), and whether anyone may receive it. The planner
calls it before creating a run (a hard finding holds the mailing), the "send
now" service and the mailing page's "Check" button too.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audience.selectors import list_subscribed_client_ids
from deliverability.preflight import (
    Finding,
    content_findings,
    held_reason,
    recipients_findings,
    sender_findings,
    site_url_findings,
)
from mailing.models import Client, Mailing, Run, Suppression
from mailing.rendering import render_message
from mailing.sanitize import sanitize_html

from .message import InvalidAddress, PreparedMessage, date_header, placeholder_fields

__all__ = [
    "Finding",
    "SampleRecipient",
    "held_reason",
    "mailing_preflight",
    "sample_build",
    "sample_recipient",
]


@dataclass(frozen=True)
class SampleRecipient:
    """Whom a sample message is rendered for (a client or sample values)."""

    client_id: int
    email: str
    full_name: str
    attributes: dict = field(default_factory=dict)


def _first_receiver(mailing: Mailing) -> Client | None:
    """The first client a run would mail: picked directly or subscribed to
    one of the mailing's lists and selected by its segment (as the planner
    selects them), not
    unsubscribed, not suppressed.

    Two short reads, the picked clients first: one query with an OR across
    both sources would walk the owner's whole address book to find it.
    """
    suppressed = Suppression.objects.filter(
        owner_id=mailing.owner_id, email=OuterRef("email")
    )
    may_receive = (
        Client.objects.filter(owner_id=mailing.owner_id, unsubscribed_at__isnull=True)
        .exclude(Exists(suppressed))
        .order_by("pk")
    )
    picked = may_receive.filter(mailings=mailing).first()
    if picked is not None:
        return picked
    members = list_subscribed_client_ids(
        list_ids=mailing.lists.values("pk"), segment=mailing.segment
    )
    return may_receive.filter(pk__in=members).first()


def sample_recipient(mailing: Mailing, client: Client | None = None) -> SampleRecipient:
    """`client`, else the mailing's first client who may receive it, else
    sample values."""
    client = client or _first_receiver(mailing)
    if client is None:
        return SampleRecipient(0, "jane@example.com", _("Jane Sample"))
    return SampleRecipient(
        client.pk, client.email, client.full_name or "", client.attributes or {}
    )


def sample_build(
    mailing: Mailing, recipient: SampleRecipient, *, run_id: int = 0
) -> bytes:
    """The message a run would send to `recipient`, built by the engine
    (`run_id` stands in for the run's, which makes the Message-ID)."""
    prepared = PreparedMessage.for_run(Run(pk=run_id, mailing=mailing))
    _message_id, data = prepared.build(
        client_id=recipient.client_id,
        email=recipient.email,
        full_name=recipient.full_name,
        date_header=date_header(timezone.now()),
        attributes=recipient.attributes,
    )
    return data


def mailing_preflight(mailing: Mailing) -> list[Finding]:
    """Every finding of the pre-flight check for `mailing`, hard ones first.
    Reads the database and renders one message; sends nothing."""
    recipient = sample_recipient(mailing)
    message = mailing.message
    subject, text, markup = render_message(
        message.__class__(
            subject=message.subject,
            body=message.body,
            html_body=sanitize_html(message.html_body).html,
        ),
        recipient,
        fields=placeholder_fields(message, mailing.owner_id),
    )
    try:
        size = len(sample_build(mailing, recipient))
    except InvalidAddress:
        # The client's address is refused at send time anyway; measure with
        # sample values instead.
        stand_in = SampleRecipient(
            0, "jane@example.com", recipient.full_name, recipient.attributes
        )
        size = len(sample_build(mailing, stand_in))
    findings = [
        *sender_findings(mailing.sender),
        *site_url_findings(),
        *content_findings(subject=subject, text=text, html=markup, size=size),
        # The sample is a client who may receive it, if there is one.
        *recipients_findings(has_recipients=bool(recipient.client_id)),
    ]
    return sorted(findings, key=lambda finding: not finding.is_hard)

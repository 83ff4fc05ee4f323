"""Bounce and complaint intake: what a report (a DSN, an ARF complaint, a
provider's webhook event) does to the delivery it names.

- A bounce: the delivery becomes `bounced` with the report's status and
  diagnostic text, classified (`deliverability.classify`); a hard bounce
  suppresses the address for the delivery's owner (reason `hard_bounce`).
- A complaint: the delivery becomes `complained`; the address is
  suppressed (reason `complaint`, which the customer cannot lift).
- A delivery the report names must be found through our own VERP address
  (checked against its HMAC) or our Message-ID; a report naming nothing of
  ours changes nothing. Only a provider event that can carry neither
  (Postmark's) may fall back to the recipient: the most recent sent
  delivery to that address within `RECIPIENT_MATCH_WINDOW`
  (`recent_delivery_to`).

Run counters (`bounced_count`, `complained_count`) move with the status.
Bounced and complained deliveries stay counted as sent.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from deliverability.classify import HARD_BOUNCE, Classification, classify_status
from deliverability.reports import COMPLAINT, Report, parse_report
from deliverability.reputation import reputation_check
from deliverability.verp import delivery_id_from_verp
from mailing.models import Delivery, Run, Suppression

logger = logging.getLogger("deliverability.bounces")

BOUNCE_SOURCE = "bounce report"
COMPLAINT_SOURCE = "complaint report"
WEBHOOK_SOURCE = "provider webhook"
# How far back a bounce matched by its recipient alone may reach: providers
# report bounces within minutes, a late DSN within days.
RECIPIENT_MATCH_WINDOW = timedelta(days=7)

_COUNTERS = {
    Delivery.Status.BOUNCED: "bounced_count",
    Delivery.Status.COMPLAINED: "complained_count",
}
_REACHED_PROVIDER = (
    Delivery.Status.SENT,
    Delivery.Status.BOUNCED,
    Delivery.Status.COMPLAINED,
)
# What a delivery may become from what: a complaint outranks a bounce.
_FROM = {
    Delivery.Status.BOUNCED: {Delivery.Status.SENT},
    Delivery.Status.COMPLAINED: {Delivery.Status.SENT, Delivery.Status.BOUNCED},
}


@dataclass
class Applied:
    """What one report did: the delivery (None: not ours, ignored), its
    classification and whether the address was suppressed."""

    report: Report
    delivery_id: int | None
    kind: str = ""
    suppressed: bool = False


def recent_delivery_to(email: str) -> Delivery | None:
    """The most recent delivery that reached the provider (`sent`, or since
    bounced or complained) to `email` within `RECIPIENT_MATCH_WINDOW` (None:
    none). An already bounced one counts, so a provider's retried event
    lands on the same delivery again rather than on an older one.

    Ambiguous by nature: an address on two customers' lists is charged to
    whichever sent to it last; the other customer's suppression list is
    not touched (it learns of the address at its own next bounce)."""
    if not email:
        return None
    since = timezone.now() - RECIPIENT_MATCH_WINDOW
    return (
        Delivery.objects.filter(
            email__iexact=email.strip(),
            status__in=_REACHED_PROVIDER,
            last_attempt_at__gte=since,
        )
        .order_by("-last_attempt_at", "-pk")
        .first()
    )


def find_delivery(report: Report, *, by_recipient: bool = False) -> Delivery | None:
    """The delivery a report names: a VERP address that checks out first,
    else our Message-ID, else (only `by_recipient`) the most recent delivery
    to the report's recipient. A forged or garbled VERP address names
    nothing."""
    for address in report.verp:
        delivery_id = delivery_id_from_verp(address)
        if delivery_id is not None:
            found = Delivery.objects.filter(pk=delivery_id).first()
            if found is not None:
                return found
    ids = [m for m in report.message_ids if m]
    if ids:
        found = Delivery.objects.filter(message_id__in=ids).order_by("-pk").first()
        if found is not None:
            return found
    return recent_delivery_to(report.recipient) if by_recipient else None


def classify_report(report: Report) -> Classification:
    if report.kind == COMPLAINT:
        return Classification(COMPLAINT, "complaint")
    if report.detector == "flufl.bounce":
        # Its detectors only report recipients the server called unknown.
        return Classification(HARD_BOUNCE, "permanent failure", report.status)
    return classify_status(report.status or "5.0.0")


@transaction.atomic
def report_apply(
    *, report: Report, source: str = "", by_recipient: bool = False
) -> Applied:
    """Apply one report to the delivery it names (see the module docstring;
    `by_recipient`: see `find_delivery`). Idempotent: a report applied
    twice moves nothing twice."""
    delivery = find_delivery(report, by_recipient=by_recipient)
    if delivery is None:
        logger.info("A %s that names none of our deliveries: ignored", report.kind)
        return Applied(report, None)
    classification = classify_report(report)
    if report.kind == COMPLAINT:
        status, reason = Delivery.Status.COMPLAINED, Suppression.Reason.COMPLAINT
        source = source or COMPLAINT_SOURCE
    else:
        status, reason = Delivery.Status.BOUNCED, Suppression.Reason.HARD_BOUNCE
        source = source or BOUNCE_SOURCE
    text = " ".join(part for part in (report.status, report.diagnostic) if part)
    _set_status(delivery, status, classification.kind, text)
    suppress = report.kind == COMPLAINT or classification.kind == HARD_BOUNCE
    if suppress:
        run = Run.objects.select_related("mailing").get(pk=delivery.run_id)
        Suppression.objects.record(
            owner_id=run.mailing.owner_id,
            email=delivery.email,
            reason=reason,
            source=f"{source}, mailing #{run.mailing_id}, delivery #{delivery.pk}",
            client_id=delivery.client_id,
        )
        reputation_check(owner_ids=[run.mailing.owner_id])
    return Applied(report, delivery.pk, classification.kind, suppress)


def _set_status(delivery: Delivery, status: str, bounce_class: str, text: str):
    """Move the delivery to `status` if it may go there from where it is
    (and the run's counters with it); keep the report's text either way."""
    moved = Delivery.objects.filter(pk=delivery.pk, status__in=_FROM[status]).update(
        status=status,
        bounce_class=bounce_class,
        server_response=text[:2000] or F("server_response"),
    )
    if not moved:
        return
    update = {_COUNTERS[status]: F(_COUNTERS[status]) + 1}
    if delivery.status == Delivery.Status.BOUNCED:
        update["bounced_count"] = Greatest(F("bounced_count") - 1, 0)
    Run.objects.filter(pk=delivery.run_id).update(**update)
    delivery.status = status


def message_apply(*, raw: bytes, envelope_recipients=()) -> list[Applied]:
    """Parse one message (a DSN or an ARF report) and apply its reports.
    Raises reports.NotAReport for mail that is neither."""
    return [
        report_apply(report=report)
        for report in parse_report(raw, envelope_recipients=envelope_recipients)
    ]

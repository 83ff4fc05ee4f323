"""Mail providers' tracking webhooks (Amazon SES, Mailgun, Postmark,
SendGrid, Brevo, through django-anymail): a bounce or complaint event does
what the same report by mail does (`deliverability.bounces`).

anymail authenticates the post (basic auth with ANYMAIL's WEBHOOK_SECRET,
and the provider's signature where it has one) and normalises it into an
AnymailTrackingEvent; `tracking_event_apply` finds our delivery in it: the
VERP address (SES reports the envelope sender; any provider the metadata)
or our Message-ID (most providers echo the message's headers), anywhere in
the event's metadata or the provider's own payload.

Postmark's bounce and spam-complaint events carry neither: only Postmark's
own MessageID, the recipient (`Email`), `From`, `Tag` and the `Metadata`
set through `X-PM-Metadata-*` headers, which we do not send. Its events
fall back to the recipient (`deliverability.bounces.recent_delivery_to`:
the most recent delivery to that address in the last 7 days, so one address
on two customers' lists is suppressed for the latest sender only).
"""

import json
import logging
import re

from deliverability.bounces import WEBHOOK_SOURCE, Applied, report_apply
from deliverability.classify import enhanced_status
from deliverability.reports import BOUNCE, COMPLAINT, Report
from deliverability.verp import PREFIX

logger = logging.getLogger("deliverability.bounces")

_VERP = re.compile(re.escape(PREFIX) + r"[a-z2-7]{8,40}@[\w.-]+", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<?([^<>\s\"',;]+@[^<>\s\"',;]+)>?")
_MAX_CANDIDATES = 50
# anymail's esp_name of providers whose events name only the recipient.
_MATCH_BY_RECIPIENT = frozenset({"Postmark"})
# anymail's reject_reason, when the event carries no enhanced status code.
_STATUS_FOR_REASON = {
    "invalid": "5.1.1",
    "bounced": "5.1.1",
    "blocked": "5.7.1",
    "spam": "5.7.1",
    "timed_out": "4.4.7",
}


def _strings(value):
    """Every string in a JSON-like value (the provider's payload)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _payload(event):
    raw = event.esp_event
    if hasattr(raw, "POST"):  # a form-encoded provider: the request itself
        return dict(raw.POST.lists())
    if isinstance(raw, (bytes, str)):
        try:
            return json.loads(raw)
        except ValueError:
            return str(raw)
    return raw


def candidates(event) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(VERP addresses, Message-IDs) found in the event."""
    texts = [*_strings(event.metadata or {}), *_strings(_payload(event))]
    if event.message_id:
        texts.append(str(event.message_id))
    verp = dict.fromkeys(m.group(0) for t in texts for m in _VERP.finditer(t))
    ids = dict.fromkeys(
        f"<{m.group(1)}>"
        for t in texts
        if len(t) < 1000
        for m in _MESSAGE_ID.finditer(t)
    )
    return tuple(verp)[:_MAX_CANDIDATES], tuple(ids)[:_MAX_CANDIDATES]


def tracking_event_apply(*, event, esp_name: str) -> Applied | None:
    """Apply a bounced or complained event (None for any other kind:
    delivered, opened … change nothing)."""
    if event.event_type == "complained":
        kind = COMPLAINT
    elif event.event_type == "bounced":
        kind = BOUNCE
    else:
        return None
    text = " ".join(str(t) for t in (event.mta_response, event.description) if t)
    status = enhanced_status(text) or _STATUS_FOR_REASON.get(
        event.reject_reason or "", "5.0.0"
    )
    verp, message_ids = candidates(event)
    report = Report(
        kind,
        recipient=event.recipient or "",
        status=status if kind == BOUNCE else "",
        diagnostic=text or f"{esp_name}: {event.event_type}",
        verp=verp,
        message_ids=message_ids,
        detector=esp_name,
    )
    return report_apply(
        report=report,
        source=WEBHOOK_SOURCE,
        by_recipient=esp_name in _MATCH_BY_RECIPIENT,
    )

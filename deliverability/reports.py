"""Reading bounce reports (DSNs) and complaint reports (ARF) that come back
by mail: pure parsing, no database.

- RFC 3464 delivery status notifications (`multipart/report;
  report-type=delivery-status`) are read with the standard library's
  `email` package: one `Report` per recipient whose `Action` is `failed`,
  with its `Status` (`5.1.1`) and `Diagnostic-Code`.
- RFC 5965 feedback reports (`report-type=feedback-report`) are complaints.
- Anything else goes to flufl.bounce's detectors (the non-standard bounces
  of old or odd mail servers); a permanent failure they find is a hard
  bounce with no status.

A report names the delivery in up to two ways, both kept: the VERP address
it was sent back to (the envelope recipient, or the returned message's
Return-Path), and the returned message's Message-ID.
"""

import email
import email.policy
from dataclasses import dataclass, field
from email.message import Message

from flufl.bounce import all_failures

from deliverability.verp import PREFIX

BOUNCE = "bounce"
COMPLAINT = "complaint"

# Headers of a forwarded report that may still carry the VERP address.
_ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")


@dataclass(frozen=True)
class Report:
    """One failed recipient of a DSN, or one complaint.

    `verp` holds the candidate VERP addresses (checked by the caller),
    `message_ids` the returned message's Message-ID(s).
    """

    kind: str
    recipient: str = ""
    status: str = ""
    diagnostic: str = ""
    verp: tuple[str, ...] = field(default_factory=tuple)
    message_ids: tuple[str, ...] = field(default_factory=tuple)
    detector: str = "rfc3464"


class NotAReport(ValueError):
    """The message is neither a DSN, nor a complaint, nor a bounce flufl.bounce
    recognises."""


def parse_message(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def parse_report(raw: bytes, *, envelope_recipients=()) -> list[Report]:
    """The reports in one message (raises NotAReport for anything else)."""
    msg = parse_message(raw)
    verp = _verp_candidates(msg, envelope_recipients)
    report_type = (msg.get_param("report-type") or "").lower()
    if msg.get_content_type() == "multipart/report":
        if report_type == "delivery-status":
            # Only `failed` recipients make reports: a delay is no bounce.
            return _delivery_status(msg, verp)
        if report_type == "feedback-report":
            return [_feedback(msg, verp)]
    return _non_standard(msg, verp)


def _verp_candidates(msg: Message, envelope_recipients) -> tuple[str, ...]:
    found = [str(r) for r in envelope_recipients]
    for header in _ADDRESS_HEADERS:
        found += [
            addr for _name, addr in email.utils.getaddresses(msg.get_all(header, []))
        ]
    original = _original_headers(msg)
    if original is not None:
        found += [
            addr
            for _n, addr in email.utils.getaddresses(
                original.get_all("Return-Path", [])
            )
        ]
    return tuple(dict.fromkeys(a for a in found if a.lower().startswith(PREFIX)))


def _original_headers(msg: Message) -> Message | None:
    """The returned message (or its headers) inside a report, if there."""
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        if content_type == "text/rfc822-headers":
            return email.message_from_string(
                part.get_payload(decode=True).decode("utf-8", "replace")
            )
    return None


def _message_ids(msg: Message) -> tuple[str, ...]:
    original = _original_headers(msg)
    if original is None:
        return ()
    return tuple(m.strip() for m in original.get_all("Message-ID", []) if m.strip())


def _field(block: Message, name: str) -> str:
    value = block.get(name, "")
    return " ".join(str(value).split())


def _delivery_status(msg: Message, verp) -> list[Report]:
    message_ids = _message_ids(msg)
    reports = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        # The first block describes the message; one block per recipient
        # follows.
        for block in blocks[1:] if isinstance(blocks, list) else []:
            if _field(block, "Action").lower() != "failed":
                continue
            recipient = _field(block, "Final-Recipient") or _field(
                block, "Original-Recipient"
            )
            diagnostic = _field(block, "Diagnostic-Code")
            reports.append(
                Report(
                    BOUNCE,
                    recipient=recipient.partition(";")[2].strip() or recipient,
                    status=_field(block, "Status"),
                    diagnostic=diagnostic.partition(";")[2].strip() or diagnostic,
                    verp=verp,
                    message_ids=message_ids,
                )
            )
    return reports


def _feedback(msg: Message, verp) -> Report:
    recipient, feedback_type = "", "abuse"
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            blocks = part.get_payload()
            block = blocks[0] if isinstance(blocks, list) and blocks else part
            recipient = _field(block, "Original-Rcpt-To")
            feedback_type = _field(block, "Feedback-Type") or feedback_type
    return Report(
        COMPLAINT,
        recipient=recipient,
        diagnostic=f"Feedback-Type: {feedback_type}",
        verp=verp,
        message_ids=_message_ids(msg),
        detector="rfc5965",
    )


def _non_standard(msg: Message, verp) -> list[Report]:
    try:
        _temporary, permanent = all_failures(msg)
    except Exception as error:  # a detector choking on mail it cannot read
        raise NotAReport(f"No bounce detector could read it ({error!r}).") from error
    if not permanent:
        raise NotAReport("Neither a delivery status notification nor a complaint.")
    return [
        Report(
            BOUNCE,
            recipient=address.decode("utf-8", "replace"),
            status="5.0.0",
            diagnostic="permanent failure (non-standard bounce)",
            verp=verp,
            message_ids=_message_ids(msg),
            detector="flufl.bounce",
        )
        for address in sorted(permanent)
    ]

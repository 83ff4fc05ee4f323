"""Builds the bytes of one mailing message for one client.

Written out by hand rather than through `email.message.EmailMessage`: the
structure (multipart/alternative, quoted-printable UTF-8 parts) is fixed, and
building it directly costs a fraction of the generic serializer at 100,000
recipients. The tests parse what this produces with the standard library.

Headers are injection-safe: every value from user data has CR/LF removed,
non-ASCII text is RFC 2047 encoded, and an address that is not a plain
`local@domain` is refused before anything is sent.
"""

import binascii
import html
import re
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import NamedTuple

from django.conf import settings
from django.urls import reverse

from mailing.rendering import render_message
from mailing.unsubscribe import unsubscribe_token

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")
_TOKEN_MARK = "TOKEN-PLACEHOLDER"


class _Recipient(NamedTuple):
    full_name: str
    email: str


class InvalidAddress(ValueError):
    """The recipient address cannot be put on the wire safely."""


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _header(value: str) -> str:
    value = _one_line(value)
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def _qp(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")


@dataclass
class PreparedMessage:
    """Everything about a run's message that is the same for every client."""

    run_id: int
    owner_id: int
    envelope_from: str
    from_header: str
    domain: str
    subject: str
    body: str
    html_body: str
    unsubscribe_prefix: str
    unsubscribe_suffix: str

    @classmethod
    def for_run(cls, run) -> "PreparedMessage":
        mailing = run.mailing
        message = mailing.message
        name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        address = address or "noreply@localhost"
        url = settings.SITE_URL.rstrip("/") + reverse(
            "mailing_public:unsubscribe", args=[_TOKEN_MARK]
        )
        prefix, suffix = url.split(_TOKEN_MARK)
        return cls(
            run_id=run.pk,
            owner_id=mailing.owner_id,
            envelope_from=address,
            from_header=formataddr((_one_line(name), address), charset="utf-8"),
            domain=address.rpartition("@")[2] or "localhost",
            subject=message.subject,
            body=message.body,
            html_body=message.html_body,
            unsubscribe_prefix=prefix,
            unsubscribe_suffix=suffix,
        )

    def message_id(self, client_id) -> str:
        """Deterministic per run and client, so a duplicate can be spotted."""
        return f"<run{self.run_id}.client{client_id}@{self.domain}>"

    def build(self, *, client_id, email: str, full_name: str, date_header: str):
        """(Message-ID, bytes) for one client; raises InvalidAddress."""
        if not _ADDRESS.match(email or ""):
            raise InvalidAddress(f"Not a deliverable address: {email!r}")
        # The placeholder rules are the customer screens' (mailing.rendering).
        subject, body, markup = render_message(
            self, _Recipient(full_name=full_name or "", email=email)
        )
        token = unsubscribe_token(owner_id=self.owner_id, client_id=client_id or 0)
        link = f"{self.unsubscribe_prefix}{token}{self.unsubscribe_suffix}"
        message_id = self.message_id(client_id)
        text = body.rstrip() + (f"\n\n-- \nTo stop receiving these messages: {link}\n")
        head = [
            f"From: {self.from_header}",
            "To: " + formataddr((_one_line(full_name or ""), email), charset="utf-8"),
            f"Subject: {_header(subject)}",
            f"Date: {date_header}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
            f"List-Unsubscribe: <{link}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
        text_part = (
            'Content-Type: text/plain; charset="utf-8"\n'
            "Content-Transfer-Encoding: quoted-printable\n\n" + _qp(text)
        )
        if not self.html_body:
            lines = "\n".join(head) + "\n" + text_part + "\n"
            return message_id, _wire(lines)
        footer = (
            f'<p style="font-size:small;color:#666"><a href="{html.escape(link)}">'
            "Unsubscribe</a> from these messages.</p>"
        )
        if "</body>" in markup:
            markup = markup.replace("</body>", footer + "</body>", 1)
        else:
            markup += footer
        html_part = (
            'Content-Type: text/html; charset="utf-8"\n'
            "Content-Transfer-Encoding: quoted-printable\n\n" + _qp(markup)
        )
        # Quoted-printable never emits "==", so the boundary cannot clash.
        boundary = f"=={uuid.uuid4().hex}=="
        head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        parts = (
            "\n".join(head)
            + f"\n\n--{boundary}\n{text_part}\n--{boundary}\n{html_part}\n"
            + f"--{boundary}--\n"
        )
        return message_id, _wire(parts)


def _wire(text: str) -> bytes:
    # smtplib sends bytes as they are: the line ends must already be CRLF.
    return text.replace("\n", "\r\n").encode("ascii")


def date_header(moment) -> str:
    return format_datetime(moment)

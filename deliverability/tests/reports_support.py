"""Test-only: bounce and complaint reports built the way real mail systems
build them (Postfix's DSN, an ISP's ARF feedback report)."""

from email.utils import format_datetime

from django.utils import timezone


def postfix_dsn(
    *,
    verp: str,
    recipient: str,
    message_id: str,
    status="5.1.1",
    diagnostic="550 5.1.1 <{rcpt}>: Recipient address rejected: "
    "User unknown in virtual mailbox table",
) -> bytes:
    """A DSN as Postfix sends it: multipart/report with a human part, a
    message/delivery-status part and the returned message's headers."""
    date = format_datetime(timezone.now())
    diagnostic = diagnostic.format(rcpt=recipient)
    return f"""\
Return-Path: <>
Delivered-To: {verp}
Date: {date}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4C0A2F3B2C.1700000000/mx.example.net"
Message-Id: <20261201120000.4C0A2F3B2C@mx.example.net>

This is a MIME-encapsulated message.

--4C0A2F3B2C.1700000000/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example.net[192.0.2.1] said: {diagnostic}

--4C0A2F3B2C.1700000000/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4C0A2F3B2C
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: {date}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diagnostic}

--4C0A2F3B2C.1700000000/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{verp}>
From: Shop <news@shop.example.com>
To: {recipient}
Subject: Our news
Message-ID: {message_id}

--4C0A2F3B2C.1700000000/mx.example.net--
""".replace("\n", "\r\n").encode()


def arf_report(*, verp: str, recipient: str, message_id: str) -> bytes:
    """A complaint as RFC 5965 shows it (an ISP's feedback loop)."""
    date = format_datetime(timezone.now())
    return f"""\
From: <abuse@isp.example>
Date: {date}
Subject: FW: Our news
To: {verp}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on {date}.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: {date}
Source-IP: 192.0.2.1
Reported-Domain: shop.example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{verp}>
From: <news@shop.example.com>
To: <{recipient}>
Subject: Our news
Message-ID: {message_id}
Date: {date}

Spam spam spam

--part1_13d.2e68ed54_boundary--
""".replace("\n", "\r\n").encode()

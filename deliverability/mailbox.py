"""`fetch_bounces`: read bounce and complaint reports forwarded to a mailbox
(`BOUNCE_MAILBOX_URL`, `imaps://user:pass@host:993/INBOX`, or `imap://` for
a server on a private network or the tests).

One pass: every unread message is handed to the intake
(`deliverability.bounces`) and then marked \\Seen. Mail that is no report at
all is marked seen too (it would otherwise be read on every pass); a message
whose processing fails for another reason (the database) is left unread for
the next pass, and the pass goes on with the rest.
"""

import imaplib
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from deliverability.bounces import message_apply
from deliverability.reports import NotAReport

logger = logging.getLogger("deliverability.bounces")

IMAP_TIMEOUT = 30


@dataclass
class FetchReport:
    """What one pass did; the command prints it."""

    read: int = 0
    reports: int = 0
    not_reports: int = 0
    errors: int = 0

    def __str__(self):
        return (
            f"{self.read} message(s) read: {self.reports} report(s) applied, "
            f"{self.not_reports} not a report, {self.errors} left for next time"
        )


@dataclass(frozen=True)
class MailboxAddress:
    secure: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str


def parse_mailbox_url(url: str) -> MailboxAddress:
    """The parts of `imaps://user:pass@host:port/INBOX`; ValueError with the
    reason for anything else."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("BOUNCE_MAILBOX_URL must start with imaps:// or imap://.")
    if not parts.hostname or parts.username is None:
        raise ValueError("BOUNCE_MAILBOX_URL needs user:password@host.")
    secure = parts.scheme == "imaps"
    return MailboxAddress(
        secure=secure,
        host=parts.hostname,
        port=parts.port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def _connect(address: MailboxAddress) -> imaplib.IMAP4:
    if address.secure:
        return imaplib.IMAP4_SSL(
            address.host,
            address.port,
            ssl_context=ssl.create_default_context(),
            timeout=IMAP_TIMEOUT,
        )
    return imaplib.IMAP4(address.host, address.port, timeout=IMAP_TIMEOUT)


def fetch_bounces(url: str) -> FetchReport:
    """Read the unread messages of the mailbox at `url` once (see the module
    docstring). Raises ValueError for a bad URL and imaplib/OSError errors
    when the server cannot be reached or refuses the login."""
    address = parse_mailbox_url(url)
    report = FetchReport()
    imap = _connect(address)
    try:
        imap.login(address.user, address.password)
        imap.select(address.mailbox)
        _status, data = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            _read_one(imap, uid, report)
        imap.close()
    finally:
        imap.logout()
    return report


def _read_one(imap: imaplib.IMAP4, uid: bytes, report: FetchReport) -> None:
    # BODY.PEEK leaves the message unread until it has been processed.
    _status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next((part[1] for part in data if isinstance(part, tuple)), b"")
    report.read += 1
    try:
        report.reports += len(message_apply(raw=raw))
    except NotAReport:
        report.not_reports += 1
    except Exception:
        logger.exception("Reading message %s of the bounce mailbox failed", uid)
        report.errors += 1
        return
    imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")

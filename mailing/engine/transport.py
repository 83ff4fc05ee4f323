"""The only module that talks SMTP.

A `SMTPTransport` holds one connection and reuses it for many messages;
`EMAIL_TIMEOUT` bounds the connect and every command (smtplib puts it on the
socket, so each read and write has it). Each send returns an `Outcome`
rather than raising: the mail server's behaviour is data, not an error.

Classification (the README's guarantees table repeats it):
- 2xx after DATA: sent, with the reply text ("250 2.0.0 Ok: queued as ...").
- 4xx, timeouts, refused or dropped connections, replies that are not SMTP:
  deferred (retried later).
- 5xx: failed at once.

Addresses go out as mailing.addresses puts them on the wire: an
internationalised domain IDNA-encoded; a UTF-8 local part with the SMTPUTF8
extension (RFC 6531), and deferred with a reason that says so when the
server does not offer it.
"""

import contextlib
import email
import email.policy
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from mailing.addresses import InvalidAddress, WireAddress, wire_address
from mailing.engine.tls import tls_context
from mailing.models import Delivery


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to.

    `connection_failed` is true when the connection itself broke (could not
    connect, timed out, dropped, garbage): the circuit breaker counts those.
    """

    status: Delivery.Status
    text: str
    code: int | None = None
    connection_failed: bool = False


def _reply_text(code: int, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    # One line of printable text, whatever the server sent (the character
    # by character pass only when something is not printable: once per
    # message, the usual reply needs none).
    if not message.isprintable():
        message = "".join(c if c.isprintable() else " " for c in message)
    message = " ".join(message.split())
    return f"{code} {message}".strip() if code and code > 0 else message


def _status_for(code: int) -> Delivery.Status:
    if 200 <= code < 300:
        return Delivery.Status.SENT
    if 500 <= code < 600:
        return Delivery.Status.FAILED
    return Delivery.Status.DEFERRED


class SMTPTransport:
    """One reusable SMTP connection with a timeout on every step."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        timeout: float,
        use_tls: bool = False,
        use_ssl: bool = False,
        username: str = "",
        password: str = "",
    ):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.use_tls = use_tls
        self.use_ssl = use_ssl
        self.username = username
        self.password = password
        self.connection: smtplib.SMTP | None = None
        self._step = ""  # the SMTP step in progress, for error texts
        # The next message's envelope (sender, recipient as on the wire),
        # written behind the previous message's end and its three replies
        # not read yet (see `send`).
        self._ahead: tuple[str, str] | None = None

    @classmethod
    def from_settings(cls, *, timeout: float) -> "SMTPTransport":
        return cls(
            host=settings.EMAIL_HOST,
            port=int(settings.EMAIL_PORT),
            timeout=timeout,
            use_tls=bool(getattr(settings, "EMAIL_USE_TLS", False)),
            use_ssl=bool(getattr(settings, "EMAIL_USE_SSL", False)),
            username=getattr(settings, "EMAIL_HOST_USER", "") or "",
            password=getattr(settings, "EMAIL_HOST_PASSWORD", "") or "",
        )

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.use_ssl:
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=tls_context()
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise smtplib.SMTPException(_certificate_refused(exc)) from exc
        try:
            conn.ehlo_or_helo_if_needed()
            if self.use_tls:
                # smtp+tls requires STARTTLS: never a silent plain-text send.
                if not conn.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "The mail server does not offer STARTTLS, which smtp+tls "
                        "in EMAIL_URL requires; nothing was sent in plain text."
                    )
                try:
                    conn.starttls(context=tls_context())
                except ssl.SSLCertVerificationError as exc:
                    raise smtplib.SMTPException(_certificate_refused(exc)) from exc
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def close(self) -> None:
        if self._ahead is not None:
            # The server waits for the body of a message announced ahead:
            # QUIT would be read as its text. Hanging up abandons it.
            self._drop()
        if self.connection is not None:
            conn, self.connection = self.connection, None
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                _close_quietly(conn)

    def _drop(self) -> None:
        self._ahead = None
        if self.connection is not None:
            _close_quietly(self.connection)
            self.connection = None

    def send(
        self,
        sender: str | WireAddress,
        recipient: str,
        data: bytes,
        *,
        then: tuple[WireAddress, str] | None = None,
    ) -> Outcome:
        """Send one message; never raises for anything the server does.

        `sender` (MAIL FROM) is an address, or a WireAddress the engine made
        already (a delivery's VERP return path), taken as it is.

        `then` is the (sender, recipient) of the message the caller sends
        next on this transport. With PIPELINING its MAIL, RCPT and DATA go
        in the same write as this message's end (RFC 2920 §3.1 lets a
        group begin with the message content), so every message after the
        first costs one round trip instead of two. Nothing of it is
        delivered before its own `send`: a server that answered DATA waits
        for the body, and `close()` or a different next message hangs up,
        which abandons it.
        """
        try:
            mail_from = (
                sender if isinstance(sender, WireAddress) else (wire_address(sender))
            )
            rcpt_to = wire_address(recipient)
        except InvalidAddress as exc:
            return Outcome(Delivery.Status.FAILED, str(exc))
        if self._ahead is not None and self._ahead != (
            mail_from.address,
            rcpt_to.address,
        ):
            self._drop()  # announced another message: see above
        refusal = self._ensure_connected()
        if refusal is not None:
            return refusal
        conn = self.connection
        options = self._mail_options(conn, mail_from.smtputf8 or rcpt_to.smtputf8)
        if isinstance(options, Outcome):
            return options
        self._step = "MAIL FROM"
        try:
            if conn.does_esmtp and conn.has_extn("pipelining"):
                return self._send_pipelined(
                    conn, mail_from.address, rcpt_to.address, data, options, then
                )
            return self._send_stepwise(
                conn, mail_from.address, rcpt_to.address, data, options
            )
        except smtplib.SMTPResponseException as exc:
            # data() raises when the reply to the DATA command is not 354.
            return self._refused(self._step, exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            where = self._step
            if where == "DATA" and _timed_out(exc):
                where = "DATA (the server may have accepted the message)"
            return Outcome(
                Delivery.Status.DEFERRED,
                f"{_describe(exc)} during {where}",
                connection_failed=True,
            )

    def _ensure_connected(self) -> Outcome | None:
        """Connect if not connected; the outcome when that fails, else None."""
        if self.connection is not None:
            return None
        try:
            self.connection = self._connect()
        except smtplib.SMTPResponseException as exc:
            # e.g. "421 Service not available" as the greeting.
            # A greeting refusal is about the server, not this recipient.
            return Outcome(
                Delivery.Status.DEFERRED,
                "Connection: " + _reply_text(exc.smtp_code, exc.smtp_error),
                exc.smtp_code if exc.smtp_code > 0 else None,
                connection_failed=True,
            )
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome(
                Delivery.Status.DEFERRED,
                f"Connection: {_describe(exc)}",
                connection_failed=True,
            )
        return None

    @staticmethod
    def _mail_options(conn, smtputf8: bool) -> list[str] | Outcome:
        """MAIL FROM's options, or the outcome when the server lacks one."""
        if not smtputf8:
            return []
        if not (conn.does_esmtp and conn.has_extn("smtputf8")):
            return Outcome(
                Delivery.Status.DEFERRED,
                "Not sent: the address needs SMTPUTF8 (its part before the @ "
                "is not ASCII) and the mail server does not offer it.",
            )
        if conn.has_extn("8bitmime"):
            return ["SMTPUTF8", "BODY=8BITMIME"]
        return ["SMTPUTF8"]

    def _send_stepwise(self, conn, sender, recipient, data, options) -> Outcome:
        """MAIL, RCPT and DATA one after the other (no PIPELINING). Errors
        propagate to `send`."""
        code, reply = conn.mail(sender, options)
        if code != 250:
            return self._refused(self._step, code, reply)
        self._step = "RCPT TO"
        code, reply = conn.rcpt(recipient)
        if code not in (250, 251):
            return self._refused(self._step, code, reply)
        self._step = "DATA"
        code, reply = conn.data(data)
        if code == 250:
            return Outcome(Delivery.Status.SENT, _reply_text(code, reply), code)
        return self._refused(self._step, code, reply, transaction_over=True)

    def _send_pipelined(self, conn, sender, recipient, data, options, then) -> Outcome:
        """MAIL, RCPT and DATA in one write (RFC 2920): two round trips per
        message instead of four, one when the envelope went ahead behind the
        previous message. Errors propagate to `send`."""
        if self._ahead is None:
            conn.send(_envelope(sender, recipient, options))
        self._ahead = None  # its replies are read now
        replies = [conn.getreply(), conn.getreply(), conn.getreply()]
        (mail_code, _), (rcpt_code, _), (data_code, data_reply) = replies
        envelope_ok = mail_code == 250 and rcpt_code in (250, 251)
        if data_code == 354:
            if not envelope_ok:
                # DATA was accepted anyway: end it empty, report the refusal.
                conn.send(b".\r\n")
                conn.getreply()
            else:
                self._step = "DATA"
                body = _dot_stuffed(data)
                if not body.endswith(b"\r\n"):
                    body += b"\r\n"
                ahead = self._envelope_ahead(conn, then)
                conn.send(body + b".\r\n" + (ahead[2] if ahead else b""))
                if ahead:
                    self._ahead = ahead[:2]
                code, reply = conn.getreply()
                if code == 250:
                    return Outcome(Delivery.Status.SENT, _reply_text(code, reply), code)
                return self._refused("DATA", code, reply, transaction_over=True)
        for step, (code, reply) in zip(("MAIL FROM", "RCPT TO"), replies, strict=False):
            ok = (250,) if step == "MAIL FROM" else (250, 251)
            if code not in ok:
                return self._refused(step, code, reply, data_code == 354)
        return self._refused("DATA", data_code, data_reply)

    def _envelope_ahead(self, conn, then) -> tuple[str, str, bytes] | None:
        """(sender, recipient, commands) of the next message's envelope, to
        write behind this message's end; None when it cannot go ahead."""
        if then is None:
            return None
        sender, recipient = then
        try:
            rcpt_to = wire_address(recipient)
        except InvalidAddress:
            return None  # refused by its own send, before any command
        options = self._mail_options(conn, sender.smtputf8 or rcpt_to.smtputf8)
        if isinstance(options, Outcome):
            return None
        return (
            sender.address,
            rcpt_to.address,
            _envelope(sender.address, rcpt_to.address, options),
        )

    def _refused(self, step, code, reply, transaction_over=False) -> Outcome:
        text = _reply_text(code, reply)
        if code < 200 or code >= 600 or code == 421:
            # Garbage or "closing channel": the session is not trustworthy.
            self._drop()
            if code < 200 or code >= 600:
                text = f"Unintelligible reply to {step}: {text or '(empty)'}"
            return Outcome(
                Delivery.Status.DEFERRED,
                text,
                code if code > 0 else None,
                connection_failed=True,
            )
        if not transaction_over:
            try:
                self.connection.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
        return Outcome(_status_for(code), text, code)


class DjangoBackendTransport:
    """Sends through Django's EMAIL_BACKEND when it is not SMTP.

    The test settings use the locmem backend, and a developer may choose the
    console backend; the engine then behaves the same with no server.
    """

    def __init__(self):
        self.connection = get_connection(fail_silently=False)

    def send(
        self, sender: str | WireAddress, recipient: str, data: bytes, *, then=None
    ) -> Outcome:
        # `then` (the next envelope, SMTPTransport's pipelining) means nothing here.
        if isinstance(sender, WireAddress):
            sender = sender.address
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",))

        class _Prebuilt(EmailMessage):
            def message(self, *, policy=None):
                return parsed

        message = _Prebuilt(
            subject=str(parsed["Subject"] or ""),
            body=text.get_content() if text is not None else "",
            from_email=sender,
            to=[recipient],
        )
        try:
            self.connection.send_messages([message])
        except Exception as exc:  # a backend we do not know: log, retry
            return Outcome(
                Delivery.Status.DEFERRED, _describe(exc), connection_failed=True
            )
        return Outcome(
            Delivery.Status.SENT,
            f"250 Accepted by {type(self.connection).__name__}",
            250,
        )

    def close(self) -> None:
        self.connection.close()


def open_transport(*, timeout: float):
    """A transport for the configured EMAIL_BACKEND (SMTP in every real setup)."""
    backend = getattr(settings, "EMAIL_BACKEND", "")
    if backend.endswith("smtp.EmailBackend"):
        return SMTPTransport.from_settings(timeout=timeout)
    return DjangoBackendTransport()


class RateLimiter:
    """At most `rate` sends per second across every thread of a transport."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def _dot_stuffed(data: bytes) -> bytes:
    """A line that begins with a dot gets another (RFC 5321 §4.5.2). Lines
    end in CRLF, so such a line follows a LF, or begins the message: two
    byte replacements rather than a multi-line regex, which cost more than
    building the message."""
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    return data


def _envelope(sender: str, recipient: str, options) -> bytes:
    """MAIL, RCPT and DATA of one message, as one pipelined write."""
    params = "".join(f" {option}" for option in options)
    # UTF-8 only reaches here with SMTPUTF8 agreed; otherwise all ASCII.
    return (
        f"MAIL FROM:<{sender}>{params}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n"
    ).encode()


def _timed_out(exc: BaseException) -> bool:
    # smtplib turns a read timeout into SMTPServerDisconnected("... timed out").
    return isinstance(exc, TimeoutError | socket.timeout) or (
        isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)
    )


def _describe(exc: BaseException) -> str:
    if _timed_out(exc):
        return "Timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"Connection dropped by the server ({exc})"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _certificate_refused(exc: ssl.SSLCertVerificationError) -> str:
    return (
        "The mail server's TLS certificate was refused "
        f"({exc.verify_message or exc.reason}); for a relay of your own with a "
        "self-signed certificate, set EMAIL_TLS_VERIFY=off."
    )


def _close_quietly(conn) -> None:
    with contextlib.suppress(OSError):
        conn.close()

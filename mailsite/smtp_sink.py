"""A real SMTP server on loopback that keeps what it receives.

`make run` starts it as the development mail server (`manage.py smtp_sink`),
and the tests start it on a free port to read the mail that the site sent.
It answers like a real server (`250 2.0.0 Ok: queued as …`), so the
delivery log shows genuine replies.
"""

import email
import email.policy
import itertools
import json
import socket
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass
class ReceivedMail:
    """One message as the sink received it."""

    queue_id: str
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: email.message.EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """The plain-text part, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class SinkHandler:
    """aiosmtpd handler: accept every message and remember it."""

    def __init__(self, sink: "SMTPSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        queue_id = uuid.uuid4().hex[:12].upper()
        self.sink._store(
            ReceivedMail(
                queue_id=queue_id,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.content,
                message=email.message_from_bytes(
                    envelope.content, policy=email.policy.default
                ),
            )
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SMTPSink:
    """Runs an aiosmtpd server in a thread; `messages` holds what arrived.

    With `maildir` set, every message is also written there as an .eml file
    (with a .json envelope beside it) so that other processes can read it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, maildir=None):
        self.host = host
        self.port = port or free_port(host)
        self.maildir = Path(maildir) if maildir else None
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.handler = SinkHandler(self)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=self.port,
            server_hostname="sink.localhost",
            ready_timeout=10,
            # Bulk runs send many messages over one connection.
            server_kwargs={"data_size_limit": 10 * 1024 * 1024},
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> "SMTPSink":
        if self.maildir:
            self.maildir.mkdir(parents=True, exist_ok=True)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def received_by(self, address: str) -> list[ReceivedMail]:
        address = address.lower()
        with self._lock:
            return [
                m for m in self.messages if address in (r.lower() for r in m.rcpt_tos)
            ]

    def _store(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)
            number = next(self._counter)
        if self.maildir:
            stem = self.maildir / f"{number:06d}-{mail.queue_id}"
            stem.with_suffix(".eml").write_bytes(mail.data)
            stem.with_suffix(".json").write_text(
                json.dumps({"from": mail.mail_from, "to": mail.rcpt_tos})
            )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


__all__ = ["SMTP", "ReceivedMail", "SMTPSink", "free_port"]

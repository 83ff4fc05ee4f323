"""A real SMTP server on loopback that keeps what it receives.

`make run` starts it as the development mail server (`manage.py smtp_sink`),
and the tests start it on a free port to read the mail that the site sent.
It answers like a real server (`250 2.0.0 Ok: queued as …`), so the
delivery log shows genuine replies.

The tests switch `sink.mode` to make it misbehave (see `FAULT_MODES`):
"421" greets with 421 and hangs up, "451" answers 451 to the message, "550"
refuses recipients, "garbage" answers the message with text that is not
SMTP, "stall" takes the message and then says nothing for `stall_seconds`,
"refuse" closes every connection at once, "drop" hangs up in the middle of
DATA. `down()` stops listening altogether (connection refused) and `up()`
listens again on the same port. `sink.replies` maps an address to the reply
its RCPT gets (e.g. "550 5.1.1 …" for a dead mailbox), whatever the mode.
Like Postfix it offers SMTPUTF8 (addresses
with a UTF-8 local part); `sink.smtputf8 = False` withdraws that for the
connections made after it.
"""

import asyncio
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

FAULT_MODES = (
    "accept",
    "421",
    "451",
    "550",
    "garbage",
    "stall",
    "refuse",
    "drop",
)


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
    """aiosmtpd handler: accept every message and remember it (or misbehave
    as `sink.mode` says)."""

    def __init__(self, sink: "SMTPSink"):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands in order from the stream, so it handles
        # pipelined commands (RFC 2920); saying so lets clients use it.
        session.host_name = hostname
        if self.sink.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.sink.replies.get(address.lower())
        if reply:
            return reply
        if self.sink.mode == "550":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        mode = self.sink.mode
        if mode == "451":
            return "451 4.3.0 Error: queue file write error, try again later"
        if mode == "garbage":
            return "Hello?! \x7f this is not SMTP"
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
        if mode == "stall":
            # The message is taken, but the reply comes too late: the client
            # times out after the end of DATA and cannot know it was taken.
            await asyncio.sleep(self.sink.stall_seconds)
        return f"250 2.0.0 Ok: queued as {queue_id}"


class FaultySMTP(SMTP):
    """aiosmtpd's server with the connection-level faults of `sink.mode`."""

    def __init__(self, handler, sink: "SMTPSink", **kwargs):
        super().__init__(handler, **kwargs)
        self.sink = sink
        self._in_data = False

    def connection_made(self, transport):
        super().connection_made(transport)
        mode = self.sink.mode
        if mode == "refuse":
            transport.abort()
        elif mode == "421":
            transport.write(b"421 4.3.2 Service not available, closing channel\r\n")
            transport.close()

    async def push(self, status):
        text = status.decode() if isinstance(status, bytes) else status
        self._in_data = text.startswith("354")
        await super().push(status)

    def data_received(self, data):
        if self._in_data and self.sink.mode == "drop" and self.transport:
            # Hang up with the message half received.
            self.transport.abort()
            return
        super().data_received(data)


class _SinkController(Controller):
    def __init__(self, sink, *args, **kwargs):
        self.sink = sink
        super().__init__(*args, **kwargs)

    def factory(self):
        kwargs = {**self.SMTP_kwargs, "enable_SMTPUTF8": self.sink.smtputf8}
        return FaultySMTP(self.handler, self.sink, **kwargs)


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
        self.mode = "accept"
        self.replies: dict[str, str] = {}
        self.stall_seconds = 30.0
        self.pipelining = True
        self.smtputf8 = True
        self.controller = None

    def _controller(self):
        return _SinkController(
            self,
            self.handler,
            hostname=self.host,
            port=self.port,
            server_hostname="sink.localhost",
            ready_timeout=10,
            # Bulk runs send many messages over one connection.
            data_size_limit=10 * 1024 * 1024,
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> "SMTPSink":
        if self.maildir:
            self.maildir.mkdir(parents=True, exist_ok=True)
        self.up()
        return self

    def stop(self) -> None:
        self.down()

    def up(self) -> None:
        """Listen (again) on the same port."""
        if self.controller is None:
            mode, self.mode = self.mode, "accept"  # start() probes the server
            self.controller = self._controller()
            self.controller.start()
            self.mode = mode

    def down(self) -> None:
        """Stop listening: connections are refused until `up()`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

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


__all__ = ["FAULT_MODES", "SMTP", "ReceivedMail", "SMTPSink", "free_port"]

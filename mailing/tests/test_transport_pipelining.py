"""The next message's envelope travels behind the previous message's end
(RFC 2920 §3.1): one round trip per message, and nothing delivered that
was not meant to be."""

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailing.addresses import WireAddress
from mailing.devtools.smtp_sink import SMTPSink
from mailing.engine.transport import SMTPTransport, _dot_stuffed


@pytest.fixture
def sink():
    with SMTPSink() as server:
        yield server


@pytest.fixture
def transport(sink):
    smtp = SMTPTransport(host=sink.host, port=sink.port, timeout=5)
    yield smtp
    smtp.close()


def envelope(n: int) -> tuple[WireAddress, str]:
    return WireAddress(f"b-{n}@bounce.example", False), f"client{n}@example.com"


def message(n: int) -> bytes:
    return (
        f"From: news@example.com\r\nTo: client{n}@example.com\r\n"
        f"Subject: Number {n}\r\n\r\nBody of {n}.\r\n"
    ).encode()


def send_chain(transport, numbers, after=None):
    """Send each number's message, announcing the next one's envelope;
    `after[n]()` runs once message n is sent."""
    after = after or {}
    outcomes = {}
    for i, n in enumerate(numbers):
        then = envelope(numbers[i + 1]) if i + 1 < len(numbers) else None
        sender, recipient = envelope(n)
        outcomes[n] = transport.send(sender, recipient, message(n), then=then)
        if n in after:
            after[n]()
    return outcomes


def received(sink) -> dict[str, tuple[str, str]]:
    return {
        m.rcpt_tos[0]: (m.mail_from, m.subject) for m in sink.messages if m.rcpt_tos
    }


def count_writes(transport, monkeypatch) -> list:
    writes = []
    transport._ensure_connected()
    original = transport.connection.send

    def send(data):
        writes.append(data if isinstance(data, bytes) else data.encode())
        return original(data)

    monkeypatch.setattr(transport.connection, "send", send)
    return writes


def test_each_message_after_the_first_is_one_write(sink, transport, monkeypatch):
    writes = count_writes(transport, monkeypatch)
    outcomes = send_chain(transport, [1, 2, 3, 4, 5])
    assert {n: o.status for n, o in outcomes.items()} == dict.fromkeys(
        [1, 2, 3, 4, 5], "sent"
    )
    # The first message's envelope, then each body with the next envelope.
    assert len(writes) == 6
    assert writes[1].endswith(
        b".\r\nMAIL FROM:<b-2@bounce.example>\r\n"
        b"RCPT TO:<client2@example.com>\r\nDATA\r\n"
    )
    assert writes[-1].endswith(b"Body of 5.\r\n.\r\n")
    # Each message reached its own recipient once, with its own envelope.
    assert received(sink) == {
        f"client{n}@example.com": (f"b-{n}@bounce.example", f"Number {n}")
        for n in range(1, 6)
    }
    assert len(sink.messages) == 5


def test_a_recipient_refused_ahead_fails_alone(sink, transport):
    sink.replies["client2@example.com"] = (
        "550 5.1.1 <client2@example.com>: Recipient address rejected"
    )
    outcomes = send_chain(transport, [1, 2, 3])
    assert outcomes[1].status == "sent"
    assert outcomes[2].status == "failed"
    assert outcomes[2].text.startswith("550 5.1.1")
    assert outcomes[3].status == "sent"
    assert sorted(received(sink)) == ["client1@example.com", "client3@example.com"]
    assert len(sink.messages) == 2


def test_a_message_refused_at_its_end_does_not_take_the_next_with_it(sink, transport):
    # The second message's end gets 451; the third's envelope went with it.
    def refuse_next():
        sink.mode = "451"

    def accept_again():
        sink.mode = "accept"

    outcomes = send_chain(transport, [1, 2, 3], {1: refuse_next, 2: accept_again})
    assert outcomes[1].status == "sent"
    assert outcomes[2].status == "deferred"
    assert outcomes[2].text.startswith("451")
    assert outcomes[3].status == "sent"
    assert sorted(received(sink)) == ["client1@example.com", "client3@example.com"]


def test_closing_with_an_envelope_ahead_delivers_nothing_more(sink, transport):
    sender, recipient = envelope(1)
    outcome = transport.send(sender, recipient, message(1), then=envelope(2))
    assert outcome.status == "sent"
    transport.close()
    time.sleep(0.3)  # whatever the server would still make of it
    assert list(received(sink)) == ["client1@example.com"]
    assert len(sink.messages) == 1


def test_another_next_message_than_announced_goes_alone(sink, transport):
    sender, recipient = envelope(1)
    transport.send(sender, recipient, message(1), then=envelope(2))
    sender, recipient = envelope(3)
    outcome = transport.send(sender, recipient, message(3))
    assert outcome.status == "sent"
    time.sleep(0.3)
    assert sorted(received(sink)) == ["client1@example.com", "client3@example.com"]
    assert len(sink.messages) == 2


def test_without_pipelining_nothing_goes_ahead(sink, transport, monkeypatch):
    sink.pipelining = False
    writes = count_writes(transport, monkeypatch)
    outcomes = send_chain(transport, [1, 2, 3])
    assert {o.status for o in outcomes.values()} == {"sent"}
    assert not any(b"MAIL FROM" in w and b"\r\n.\r\n" in w for w in writes)
    assert len(sink.messages) == 3


@given(st.lists(st.sampled_from([b".", b"\r\n", b"a", b" ", b".."]), max_size=30))
def test_dot_stuffing_doubles_exactly_the_dots_that_begin_lines(parts):
    data = b"".join(parts)
    assert _dot_stuffed(data) == re.sub(rb"(?m)^\.", b"..", data)


def test_lines_beginning_with_dots_arrive_as_written(sink, transport):
    text = b".first\r\n..second\r\nmiddle . dot\r\n.\r\nlast.\r\n"
    data = b"From: news@example.com\r\nSubject: Dots\r\n\r\n" + text
    outcomes = [
        transport.send(*envelope(n), data, then=envelope(n + 1) if n < 2 else None)
        for n in (1, 2)
    ]
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert [m.data.split(b"\r\n\r\n", 1)[1] for m in sink.messages] == [text, text]

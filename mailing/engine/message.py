"""Builds the bytes of one mailing message for one client.

Written out by hand rather than through `email.message.EmailMessage`: the
structure (multipart/alternative, quoted-printable UTF-8 parts) is fixed, and
building it directly costs a fraction of the generic serializer at 100,000
recipients. The tests parse what this produces with the standard library.

Headers are injection-safe: every value from user data has CR/LF removed,
non-ASCII text is RFC 2047 encoded, and an address that breaks the address
rule (mailing.addresses) is refused before anything is sent. Long headers
are folded to RFC 5322's 78-character lines. An internationalised domain
goes out IDNA-encoded; an address with a UTF-8 local part makes the message
an SMTPUTF8 one (RFC 6532: that address is written as UTF-8 in `To`).

Who a message is from, and the key that signs it, come from
deliverability.identity once per run; every message then carries Reply-To,
List-Id and Feedback-ID, a Message-ID at the sending domain, and a
DKIM-Signature over its final bytes (deliverability.signing). Its envelope
sender is the delivery's VERP address (`envelope_sender`). What every
client shares is prepared once per run: the templates compiled, the
quoted-printable lines they share encoded, the shared headers written and
canonicalised for the signature, the signing key loaded; each message is
then signed from its own headers and its body as built, never parsed back.

The HTML part is sanitised again here (mailing.sanitize), once per run.
The footer with the unsubscribe link and the link to the preference centre
(audience: the recipient's lists, `/m/preferences/<token>/`) is in the
language of the mailing's owner (the customer who sends it), whoever the
recipient is. Both links carry the same signed token, computed once per
message.
"""

import binascii
import html
import logging
from dataclasses import dataclass, field
from email.charset import Charset
from email.header import Header
from email.utils import format_datetime, formataddr

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.selectors import user_language
from audience.selectors import custom_field_keys
from deliverability import headers as deliverability_headers
from deliverability.config import bounce_domain
from deliverability.identity import Signing, from_identity, platform_identity
from deliverability.keys import KeyDecryptionError
from deliverability.signing import Signer
from deliverability.verp import verp_address
from mailing.addresses import InvalidAddress, WireAddress, wire_address
from mailing.rendering import BUILT_IN_NAMES, CompiledMessage, placeholder_names
from mailing.sanitize import sanitize_html
from mailing.unsubscribe import unsubscribe_token

__all__ = ["InvalidAddress", "PreparedMessage", "date_header", "placeholder_fields"]

logger = logging.getLogger("mailing.engine")

_TOKEN_MARK = "TOKEN-PLACEHOLDER"
_LINE = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_UTF8 = Charset("utf-8")
# Encoded lines kept per run: the message's own lines fill it at the first
# client; the personalised ones that follow stop at this bound.
_KNOWN_LINES = 2000
_TEXT_PART_HEAD = [
    ("Content-Type", 'text/plain; charset="utf-8"'),
    ("Content-Transfer-Encoding", "quoted-printable"),
]
_TEXT_PART = "".join(f"{name}: {value}\n" for name, value in _TEXT_PART_HEAD) + "\n"
# Headers whose values this module makes already in relaxed canonical form
# (no fold, tab, run of spaces or space at either end: the Message-ID, the
# multipart Content-Type), keyed to their canonical names.
_NO_SPACE = {"Message-ID": b"message-id", "Content-Type": b"content-type"}
_HTML_PART = (
    'Content-Type: text/html; charset="utf-8"\n'
    "Content-Transfer-Encoding: quoted-printable\n\n"
)


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _header(name: str, value: str) -> str:
    """The value of header `name`, folded so that no line passes 78
    characters (the first line counts the "Name: " before it)."""
    value = _one_line(value)
    if value.isascii():
        if len(name) + 2 + len(value) <= _LINE:
            return value
        words = value.split(" ")
        if max(len(word) for word in words) < _LINE:
            return _fold_words(name, words)
    # Non-ASCII text, or a word too long to fold at a space: RFC 2047
    # encoded words, which may be split anywhere.
    return Header(value, "utf-8", header_name=name).encode()


def _fold_words(name: str, words: list[str]) -> str:
    lines, line = [], name + ":"
    for word in words:
        if len(line) + 1 + len(word) > _LINE and line != name + ":":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    # Unfolding (removing each line break) gives back the single spaces.
    return "\n".join(lines)[len(name) + 2 :]


def _mailbox(name: str, display_name: str, address: str) -> str:
    """`Display Name <address>` for header `name`; the address as given."""
    display_name = _one_line(display_name)
    if not display_name:
        return address
    if display_name.isascii():
        # The standard library's quoting of specials; the address is a stand-in
        # because formataddr() refuses a UTF-8 one.
        phrase = formataddr((display_name, "x@x"))[: -len(" <x@x>")]
        value = f"{phrase} <{address}>"
        if len(name) + 2 + len(value) <= _LINE:
            return value
        # Folding white space may stand between words, even in quotes.
        return _fold_words(name, value.split(" "))
    word = _UTF8.header_encode(display_name)
    if len(word) <= 75:  # one encoded word (RFC 2047 2): the usual, fast case
        phrase = word
    else:
        # Encoded words of at most 75 characters each, on folded lines;
        # readers join adjacent ones (RFC 2047 6.2).
        phrase = Header(display_name, "utf-8", header_name=name).encode()
    lines = phrase.split("\n")
    last = len(lines[-1]) + (len(name) + 2 if len(lines) == 1 else 0)
    fold = " " if last + 3 + len(address) <= _LINE else "\n "
    return f"{phrase}{fold}<{address}>"


def _qp(text: str, known: dict[str, str] | None = None) -> str:
    """`text` quoted-printable. Each line is encoded on its own (which gives
    the same as encoding the whole: line breaks are hard ones), so the lines
    every client shares are encoded once per run and found in `known`."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if known is None:
        return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
    lines = text.split("\n")
    for n, line in enumerate(lines):
        encoded = known.get(line)
        if encoded is None:
            encoded = binascii.b2a_qp(line.encode("utf-8"), istext=True).decode()
            if len(known) < _KNOWN_LINES:
                known[line] = encoded
        lines[n] = encoded
    return "\n".join(lines)


def _wire_or_as_is(address: str) -> WireAddress:
    """`address` as it goes on the wire; a site setting that breaks the
    address rule (`noreply@localhost`) is sent as configured, and the
    server decides."""
    try:
        return wire_address(address)
    except InvalidAddress:
        return WireAddress(address, not address.isascii())


def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def unsubscribe_url_parts() -> tuple[str, str]:
    """The unsubscribe URL before and after the token. The first call in a
    process loads the mail links' URL configuration (settings.MAIL_URLCONF,
    not the whole site's): a dispatcher calls this before it forks, so that its
    children inherit what it loaded."""
    return _link_around_token("mailing_public:unsubscribe")


@dataclass
class PreparedMessage:
    """Everything about a run's message that is the same for every client.

    The sender's identity (deliverability.identity) is read once per run:
    From, Reply-To, the domain of Message-ID and List-Id, and the DKIM key
    (`signing`; None sends unsigned, as without a platform key).
    """

    run_id: int
    owner_id: int
    envelope_from: str  # as on the wire (IDNA-encoded domain)
    from_header: str
    domain: str
    subject: str
    body: str
    html_body: str
    unsubscribe_prefix: str
    unsubscribe_suffix: str
    # The footer in the owner's language, split around the links: the
    # unsubscribe link, then the preference centre's.
    footer_text: tuple[str, str, str]
    footer_html: tuple[str, str, str]
    preferences_prefix: str = ""
    preferences_suffix: str = ""
    smtputf8_sender: bool = False
    reply_to_header: str = ""
    list_id: str = ""
    feedback_id: str = ""
    signing: Signing | None = None
    bounce_domain: str = ""
    # The owner's custom field keys: the placeholders that are known.
    fields: frozenset = frozenset()
    _compiled: CompiledMessage = field(init=False, repr=False)
    _known_lines: dict = field(init=False, repr=False, default_factory=dict)
    _signer: Signer | None = field(init=False, repr=False, default=None)
    # The headers every client's message has as they are, written out (the
    # ones before and after the client's own), and their canonical form for
    # the signature.
    _head_start: str = field(init=False, repr=False, default="")
    _head_end: str = field(init=False, repr=False, default="")
    _canonical: dict = field(init=False, repr=False, default_factory=dict)
    _canonical_date: tuple = field(init=False, repr=False, default=("", b""))

    def __post_init__(self):
        # Once per run: the placeholders found, the shared lines encoded,
        # the shared headers written and canonicalised, the key loaded.
        self._compiled = CompiledMessage(
            subject=self.subject,
            body=self.body,
            html_body=self.html_body,
            fields=self.fields,
        )
        start = [("From", self.from_header)]
        if self.reply_to_header:
            start.append(("Reply-To", self.reply_to_header))
        end = [
            ("MIME-Version", "1.0"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("List-Id", self.list_id),
            ("Feedback-ID", self.feedback_id),
        ]
        if not self.html_body:
            end += _TEXT_PART_HEAD
        self._head_start = "".join(f"{name}: {value}\n" for name, value in start)
        self._head_end = "".join(f"\n{name}: {value}" for name, value in end)
        if self.signing is not None:
            self._signer = Signer(
                domain=self.signing.domain,
                selector=self.signing.selector,
                private_key_pem=self.signing.private_key_pem,
            )
            self._canonical = {
                name.lower().encode("ascii"): Signer.canonical(name, value)
                for name, value in start + end
            }

    @classmethod
    def for_run(cls, run) -> "PreparedMessage":
        mailing = run.mailing
        message = mailing.message
        identity = _identity(mailing)
        sender = _wire_or_as_is(identity.from_address or "noreply@localhost")
        address = sender.address
        domain = _ascii_domain(identity.domain or address.rpartition("@")[2])
        domain = domain or "localhost"
        prefix, suffix = unsubscribe_url_parts()
        preferences_prefix, preferences_suffix = _link_around_token(
            "audience_public:preferences"
        )
        footer_text, footer_html = _footers(
            user_language(user_id=mailing.owner_id) or settings.LANGUAGE_CODE
        )
        reply_to = ""
        if identity.reply_to:
            reply_to = _mailbox(
                "Reply-To", "", _wire_or_as_is(identity.reply_to).address
            )
        list_id = deliverability_headers.list_id(
            mailing_id=mailing.pk,
            owner_id=mailing.owner_id,
            domain=domain,
            name=getattr(mailing, "name", "") or "",
        )
        return cls(
            run_id=run.pk,
            owner_id=mailing.owner_id,
            envelope_from=address,
            from_header=_mailbox("From", identity.from_name, address),
            domain=domain,
            subject=message.subject,
            body=message.body,
            html_body=sanitize_html(message.html_body).html,
            smtputf8_sender=sender.smtputf8,
            unsubscribe_prefix=prefix,
            unsubscribe_suffix=suffix,
            preferences_prefix=preferences_prefix,
            preferences_suffix=preferences_suffix,
            footer_text=footer_text,
            footer_html=footer_html,
            reply_to_header=reply_to,
            list_id=_fold_list_id(list_id),
            feedback_id=deliverability_headers.feedback_id(
                mailing_id=mailing.pk, owner_id=mailing.owner_id
            ),
            signing=identity.signing,
            bounce_domain=_ascii_domain(bounce_domain()),
            fields=placeholder_fields(message, mailing.owner_id),
        )

    def message_id(self, client_id) -> str:
        """Deterministic per run and client, so a duplicate can be spotted."""
        return deliverability_headers.message_id(
            run_id=self.run_id, client_id=client_id, domain=self.domain
        )

    def envelope_sender(self, delivery_id: int | None) -> WireAddress:
        """MAIL FROM for one delivery: its VERP address at BOUNCE_DOMAIN
        (a bounce to it names the delivery); the From address when there is
        no delivery (nothing to trace a bounce back to)."""
        if not delivery_id:
            return WireAddress(self.envelope_from, self.smtputf8_sender)
        return WireAddress(verp_address(delivery_id, domain=self.bounce_domain), False)

    def build(
        self,
        *,
        client_id,
        email: str,
        full_name: str,
        date_header: str,
        attributes: dict | None = None,
    ):
        """(Message-ID, bytes) for one client, DKIM-signed when the identity
        has a key; raises InvalidAddress. `attributes`: the client's custom
        field values (read only when the message uses one)."""
        recipient = wire_address(email)
        utf8 = recipient.smtputf8 or self.smtputf8_sender
        # The placeholder rules are the customer screens' (mailing.rendering).
        subject, body, markup = self._compiled.render(
            self._compiled.context(
                full_name=full_name, email=email, attributes=attributes
            )
        )
        token = unsubscribe_token(owner_id=self.owner_id, client_id=client_id or 0)
        link = f"{self.unsubscribe_prefix}{token}{self.unsubscribe_suffix}"
        preferences = f"{self.preferences_prefix}{token}{self.preferences_suffix}"
        message_id = self.message_id(client_id)
        before, between, after = self.footer_text
        text = body.rstrip() + f"\n\n-- \n{before}{link}{between}{preferences}{after}\n"
        # The client's own headers, between the shared ones (From and
        # Reply-To before, MIME-Version to Feedback-ID after).
        own = [
            ("To", _mailbox("To", full_name or "", recipient.address)),
            ("Subject", _header("Subject", subject)),
            ("Date", date_header),
            ("Message-ID", message_id),
            ("List-Unsubscribe", f"<{link}>"),
        ]
        if not self.html_body:
            body_text = _qp(text, self._known_lines) + "\n"
        else:
            before, between, after = self.footer_html
            footer = (
                f"{before}{html.escape(link)}{between}{html.escape(preferences)}{after}"
            )
            if "</body>" in markup:
                markup = markup.replace("</body>", footer + "</body>", 1)
            else:
                markup += footer
            # Quoted-printable never emits "==", so the boundary cannot
            # clash, and it need not be random (os.urandom per message costs
            # more than building the rest of the headers).
            boundary = f"==part.run{self.run_id}.client{client_id}=="
            body_text = (
                f"--{boundary}\n{_TEXT_PART}{_qp(text, self._known_lines)}\n"
                f"--{boundary}\n{_HTML_PART}{_qp(markup, self._known_lines)}\n"
                f"--{boundary}--\n"
            )
            own.append(
                ("Content-Type", f'multipart/alternative; boundary="{boundary}"')
            )
        head = (
            self._head_start
            + "\n".join([f"{name}: {value}" for name, value in own])
            + self._head_end
        )
        if self._signer is None:
            return message_id, _wire(f"{head}\n\n{body_text}", utf8)
        body_bytes = _wire(body_text, utf8)
        data = _wire(head, utf8) + b"\r\n\r\n" + body_bytes
        return message_id, self._signed(own, body_bytes, date_header) + data

    def _signed(self, own: list, body: bytes, date_header: str) -> bytes:
        """The DKIM-Signature header (deliverability.signing) over the
        shared headers' canonical form, computed once per run, this
        client's own headers and the body as it goes on the wire."""
        fields = self._canonical.copy()
        date = self._canonical_date  # one read: sender threads share it
        if date[0] != date_header:
            # The same Date for a whole claim: canonicalised once for it.
            date = (date_header, Signer.canonical("Date", date_header))
            self._canonical_date = date
        fields[b"date"] = date[1]
        for name, value in own:
            if name in _NO_SPACE:
                # Made here in canonical form: taken as they are.
                fields[_NO_SPACE[name]] = b"%s:%s\r\n" % (
                    _NO_SPACE[name],
                    value.encode("ascii"),
                )
            elif name != "Date":
                fields[name.lower().encode("ascii")] = Signer.canonical(name, value)
        return self._signer.sign(fields, body)


def _identity(mailing):
    """The mailing's identity; the platform's when its sender's DKIM key
    cannot be decrypted (the key used to store it changed): never a
    customer's From without that domain's signature, and never a stop."""
    try:
        return from_identity(mailing)
    except KeyDecryptionError:
        logger.exception(
            "Mailing %s goes from the platform: its sender's DKIM key cannot be read",
            mailing.pk,
        )
        return platform_identity(mailing.owner)


def placeholder_fields(message, owner_id: int) -> frozenset:
    """The owner's custom field keys, read only when the message has a
    placeholder other than the built-in ones (most have none)."""
    names = placeholder_names(f"{message.subject}\n{message.body}\n{message.html_body}")
    if not names - set(BUILT_IN_NAMES):
        return frozenset()
    return frozenset(custom_field_keys(owner_id=owner_id))


def _fold_list_id(value: str) -> str:
    """List-Id folded at spaces when a long list name makes it pass 78
    characters (an encoded name is already folded)."""
    if len("List-Id: ") + len(value) <= _LINE or not value.isascii() or "\n" in value:
        return value
    words = value.split(" ")
    if max(len(word) for word in words) >= _LINE:
        return value
    return _fold_words("List-Id", words)


def _footers(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The text and HTML footers in `language`, each split around its two
    links (the unsubscribe link, then the preference centre's)."""
    marks = {"link": _TOKEN_MARK}
    with translation.override(language):
        text = (
            _("To stop receiving these messages: %(link)s") % marks
            + "\n"
            + _("To choose the lists you are on: %(link)s") % marks
        )
        markup = (
            _('<a href="%(link)s">Unsubscribe</a> from these messages.') % marks
            + " "
            + _('<a href="%(link)s">Choose your lists</a>.') % marks
        )
    return _around_mark(text), _around_mark(
        f'<p style="font-size:small;color:#666">{markup}</p>'
    )


def _link_around_token(url_name: str) -> tuple[str, str]:
    """The absolute URL of `url_name` split around its token, so that each
    message's link is one concatenation."""
    url = settings.SITE_URL.rstrip("/") + reverse(
        url_name, args=[_TOKEN_MARK], urlconf=settings.MAIL_URLCONF
    )
    prefix, _mark, suffix = url.partition(_TOKEN_MARK)
    return prefix, suffix


def _around_mark(text: str) -> tuple[str, str, str]:
    """`text` split where the two links go (the unsubscribe link, then the
    preference centre's; each translation keeps its mark once)."""
    before, _mark, rest = text.partition(_TOKEN_MARK)
    between, _mark, after = rest.partition(_TOKEN_MARK)
    return before, between, after


def _wire(text: str, utf8: bool = False) -> bytes:
    # smtplib sends bytes as they are: the line ends must already be CRLF.
    # Only an SMTPUTF8 message may hold anything but ASCII.
    return text.replace("\n", "\r\n").encode("utf-8" if utf8 else "ascii")


def date_header(moment) -> str:
    return format_datetime(moment)

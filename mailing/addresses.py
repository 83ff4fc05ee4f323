"""The one rule for e-mail addresses: what Mailsite accepts, how it stores
them and how it puts them on the wire.

Forms, the CSV import, the models and the send engine all ask this module,
so an address is never accepted at input and then failed at send. The rule
is email-validator's (syntax only, no DNS lookups at input):

- An internationalised domain (`ann@bücher.example`) is accepted, stored in
  its Unicode form (an `xn--` spelling of the same domain is the same
  address) and sent with the domain IDNA-encoded, so any server takes it.
- A UTF-8 local part (`josé@example.com`) is accepted and sent with SMTPUTF8
  (RFC 6531); where the mail server does not offer that extension the
  delivery is deferred with a reason that says so.
- Quoted local parts, IP-address domains and single-label domains
  (`ann@localhost`) are refused.

Stored addresses are in lower case (the whole address, as before): one
client per address and owner, whatever the spelling.
"""

import re
from functools import lru_cache
from typing import NamedTuple

import email_validator
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_LENGTH = 254

# Plain ASCII `local@domain`: what the engine can put on the wire as it is.
# Every stored address passed `address_normalize` at input; the engine's
# check is the cheap part of the rule (it runs once per message).
_PLAIN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


# email-validator explains a refusal in English. Its commonest explanations
# are said in the reader's language; the rest go to English readers as they
# are and to others as the bare refusal, never half in English.
_REASONS = {
    "An email address must have an @-sign.": gettext_lazy("it has no @ sign."),
    "There must be something before the @-sign.": gettext_lazy(
        "there is nothing before the @ sign."
    ),
    "There must be something after the @-sign.": gettext_lazy(
        "there is nothing after the @ sign."
    ),
    "The part after the @-sign is not valid. It should have a period.": gettext_lazy(
        "the domain after the @ sign has no period."
    ),
    "A bracketed IP address after the @-sign is not allowed here.": gettext_lazy(
        "an IP address in brackets is not accepted after the @ sign."
    ),
    "Quoting the part before the @-sign is not allowed here.": gettext_lazy(
        "quotes are not accepted before the @ sign."
    ),
    "An email address cannot have two periods in a row.": gettext_lazy(
        "it has two periods in a row."
    ),
    "An email address cannot start with a period.": gettext_lazy(
        "it starts with a period."
    ),
    "An email address cannot end with a period.": gettext_lazy(
        "it ends with a period."
    ),
    "An email address cannot have a period immediately before the @-sign.": (
        gettext_lazy("there is a period just before the @ sign.")
    ),
    "An email address cannot have a hyphen immediately after the @-sign.": (
        gettext_lazy("there is a hyphen just after the @ sign.")
    ),
    "The part after the @-sign is a special-use or reserved name that cannot be "
    "used with email.": gettext_lazy(
        "the domain after the @ sign is reserved and receives no mail."
    ),
}


def _refusal(exc: Exception) -> ValidationError:
    reason = _REASONS.get(str(exc))
    if reason is None and not translation.get_language().startswith("en"):
        return ValidationError(_("Enter a valid email address."), code="invalid")
    return ValidationError(
        _("Enter a valid email address: %(reason)s"),
        params={"reason": reason or str(exc)},
        code="invalid",
    )


class InvalidAddress(ValueError):
    """The address cannot be put on the wire."""


class WireAddress(NamedTuple):
    """An address as it goes into `RCPT TO` and the `To` header."""

    address: str
    smtputf8: bool  # the local part is not ASCII: the server must offer SMTPUTF8


def _validate(value: str):
    return email_validator.validate_email(
        value,
        check_deliverability=False,
        allow_smtputf8=True,
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=False,
    )


# A plain ASCII dot-atom local part of at most 64 characters: all that
# email-validator asks of such a local part. Its domain alone then decides.
_DOT_ATOM_LOCAL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$"
)


@lru_cache(maxsize=65536)
def _domain_normalized(domain: str) -> str | None:
    """The stored form of `domain` by the full rule, or None when the rule
    refuses it (the full check then says why)."""
    try:
        return _validate("a@" + domain).domain
    except email_validator.EmailNotValidError:
        return None


def _plain_normalized(value: str) -> str | None:
    """The stored form of a lower-cased plain address, the same as the full
    check gives, or None when it is not plain (the full check decides).

    Imports check a million addresses on a few thousand domains: the
    domain's part of the rule (IDNA, reserved names) runs once per domain.
    """
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not _DOT_ATOM_LOCAL.match(local):
        return None
    domain = _domain_normalized(domain)
    if domain is None:
        return None
    return f"{local}@{domain}"


def address_normalize(email: str) -> str:
    """The stored form of `email`: trimmed, lower case, Unicode NFC, the
    domain in Unicode. Raises ValidationError naming what is wrong."""
    value = (email or "").strip().lower()
    if not value:
        raise ValidationError(_("Enter an e-mail address."), code="required")
    if len(value) <= MAX_LENGTH:
        plain = _plain_normalized(value)
        if plain is not None and len(plain) <= MAX_LENGTH:
            return plain
    if len(value) > MAX_LENGTH:
        raise ValidationError(
            _("Enter a valid email address: at most %(limit)d characters."),
            params={"limit": MAX_LENGTH},
            code="invalid",
        )
    try:
        normalized = _validate(value).normalized
    except email_validator.EmailNotValidError as exc:
        raise _refusal(exc) from None
    if len(normalized) > MAX_LENGTH:
        raise ValidationError(
            _("Enter a valid email address: at most %(limit)d characters."),
            params={"limit": MAX_LENGTH},
            code="invalid",
        )
    return normalized


def address_is_valid(email: str) -> bool:
    try:
        address_normalize(email)
    except ValidationError:
        return False
    return True


def wire_address(email: str) -> WireAddress:
    """`email` as the engine sends it: the domain IDNA-encoded, and whether
    the message needs SMTPUTF8. Raises InvalidAddress."""
    email = email or ""
    if _PLAIN.match(email):
        return WireAddress(email, False)
    return _wire_address(email)


@lru_cache(maxsize=4096)
def _wire_address(email: str) -> WireAddress:
    try:
        result = _validate(email)
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(f"Not a deliverable address: {email!r} ({exc})") from None
    if result.ascii_email:
        return WireAddress(result.ascii_email, False)
    return WireAddress(f"{result.local_part}@{result.ascii_domain}", True)

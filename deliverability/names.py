"""Domain names as customers type them, checked and brought to one form."""

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain_normalize(value: str) -> str:
    """The domain as stored and looked up: lower case, IDNA-encoded (an
    internationalised name becomes its xn-- form), no final dot.

    Raises ValidationError for anything that is not a public host name: an
    IP address, a single label, a label too long or with bad characters.
    """
    value = (value or "").strip().rstrip(".").lower()
    if not value:
        raise ValidationError(_("Enter a domain name, such as example.com."))
    if "@" in value:
        raise ValidationError(
            _("Enter the domain only (example.com), not an e-mail address.")
        )
    if "://" in value or "/" in value:
        raise ValidationError(_("Enter the domain only (example.com), not a URL."))
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationError(
            _("An IP address cannot be a sending domain; enter a domain name.")
        )
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValidationError(
            _("“%(domain)s” is not a valid domain name.") % {"domain": value}
        ) from exc
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            _("“%(domain)s” is not a valid domain name.") % {"domain": value}
        )
    return ascii_name


def domain_display(ascii_name: str) -> str:
    """The Unicode form of a stored name, for people."""
    try:
        return ascii_name.encode("ascii").decode("idna")
    except UnicodeError:
        return ascii_name


def is_within(name: str, domain: str) -> bool:
    """`name` is `domain` or one of its subdomains."""
    return name == domain or name.endswith("." + domain)

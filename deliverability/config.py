"""The platform's sending identity, read from settings at call time.

Every value has a default derived from the others, so that a fresh clone
works with nothing configured (mailsite/settings/base.py reads them from the
environment):

- `MAILING_DOMAIN`: the platform's own sending domain; default the domain of
  `DEFAULT_FROM_EMAIL`.
- `BOUNCE_DOMAIN`: where the VERP return paths live; default `MAILING_DOMAIN`.
- `SPF_INCLUDE`: the name customers include in their SPF record; default
  `_spf.<MAILING_DOMAIN>`, the usual shape of a provider's SPF macro record
  (the platform publishes its sending IPs there).
- `DKIM_SELECTOR`, `DKIM_PRIVATE_KEY`: the platform's own key for mail from
  `MAILING_DOMAIN` (PEM text, or the path of a PEM file).
- `DNS_NAMESERVERS`: comma-separated `host` or `host:port`; empty means the
  system's resolver. `DNS_TIMEOUT`: seconds for one whole lookup.
"""

from email.utils import parseaddr
from pathlib import Path

from django.conf import settings

PLATFORM_NAME = "Mailsite"


def mailing_domain() -> str:
    configured = getattr(settings, "MAILING_DOMAIN", "") or ""
    if configured:
        return configured.strip().rstrip(".").lower()
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return (address.rpartition("@")[2] or "localhost").lower()


def bounce_domain() -> str:
    configured = getattr(settings, "BOUNCE_DOMAIN", "") or ""
    return configured.strip().rstrip(".").lower() or mailing_domain()


def spf_include() -> str:
    configured = getattr(settings, "SPF_INCLUDE", "") or ""
    return configured.strip().rstrip(".").lower() or f"_spf.{mailing_domain()}"


def platform_address() -> str:
    """The platform's own From address (account mail, mailings without a
    sender): the address of DEFAULT_FROM_EMAIL."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or f"noreply@{mailing_domain()}"


def platform_dkim() -> tuple[str, str] | None:
    """(selector, private key PEM) of the platform's domain, or None when
    `DKIM_PRIVATE_KEY` is not configured (mail from it then goes unsigned)."""
    value = (getattr(settings, "DKIM_PRIVATE_KEY", "") or "").strip()
    if not value:
        return None
    if "-----BEGIN" not in value:
        value = Path(value).read_text()
    # An environment variable may carry the PEM's line breaks as "\n".
    value = value.replace("\\n", "\n").strip() + "\n"
    selector = getattr(settings, "DKIM_SELECTOR", "") or "mailsite"
    return selector, value


def dns_nameservers() -> list[tuple[str, int]]:
    """(host, port) pairs from `DNS_NAMESERVERS`; [] for the system resolver.

    `[::1]:5353` is an IPv6 address with a port; a bare address means 53.
    """
    raw = getattr(settings, "DNS_NAMESERVERS", "") or ""
    if isinstance(raw, list | tuple):
        raw = ",".join(raw)
    servers = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":") or "53"
        elif item.count(":") == 1:
            host, port = item.split(":")
        else:
            host, port = item, "53"
        servers.append((host, int(port)))
    return servers


def dns_timeout() -> float:
    return float(getattr(settings, "DNS_TIMEOUT", 3) or 3)

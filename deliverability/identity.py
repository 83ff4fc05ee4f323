"""Who a mailing's message is from, and which key signs it.

`sender_identity(owner, sender)` (and `from_identity(mailing)`, its
shorthand) decide the From, the Reply-To and the DKIM signing domain:

- a usable sender (on a verified domain of the owner): the sender's name
  and address, its Reply-To, signed with its domain's key;
- otherwise the platform's own domain (`MAILING_DOMAIN`): "<customer> via
  Mailsite" at the platform address, Reply-To the customer's own address,
  signed with the platform key (`DKIM_SELECTOR`, `DKIM_PRIVATE_KEY`), or
  unsigned when none is configured (`signing` is None).

Account mail (confirmation, password reset) never comes here: it is always
from DEFAULT_FROM_EMAIL.
"""

from dataclasses import dataclass

from deliverability import config


@dataclass(frozen=True)
class Signing:
    domain: str
    selector: str
    private_key_pem: str


@dataclass(frozen=True)
class Identity:
    """From (display name, address), Reply-To ("" for none), the domain of
    Message-ID and List-Id, and the DKIM key (None: send unsigned)."""

    from_name: str
    from_address: str
    reply_to: str
    domain: str
    signing: Signing | None
    sender_id: int | None = None


def _customer_name(owner) -> str:
    return (getattr(owner, "full_name", "") or "").strip() or owner.email


def platform_identity(owner) -> Identity:
    """The platform's domain speaking for `owner`."""
    domain = config.mailing_domain()
    dkim_key = config.platform_dkim()
    return Identity(
        from_name=f"{_customer_name(owner)} via {config.PLATFORM_NAME}",
        from_address=config.platform_address(),
        reply_to=owner.email,
        domain=domain,
        signing=Signing(domain, *dkim_key) if dkim_key else None,
    )


def sender_identity(owner, sender) -> Identity:
    """The identity for a message of `owner` with `sender` (may be None).

    A sender of another owner, or on a domain that is not (or no longer)
    verified, falls back to the platform identity: mail never goes out
    under a domain whose records do not hold.
    """
    if sender is None or sender.owner_id != owner.pk or not sender.is_usable:
        return platform_identity(owner)
    domain = sender.domain
    return Identity(
        from_name=sender.name,
        from_address=sender.email,
        reply_to=sender.reply_to,
        domain=domain.domain,
        signing=Signing(domain.domain, domain.dkim_selector, domain.private_key_pem()),
        sender_id=sender.pk,
    )


def from_identity(mailing) -> Identity:
    return sender_identity(mailing.owner, getattr(mailing, "sender", None))

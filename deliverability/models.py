from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from deliverability.dnscheck import expected_records
from deliverability.keys import decrypt_private_key
from deliverability.names import domain_display


class SendingDomain(models.Model):
    """A customer's own domain that mailings may be sent from.

    `sending_domain_create` generates its DKIM key pair: `dkim_public_key`
    is the base64 `p=` value of the DKIM record, the private key is kept
    encrypted (`dkim_private_key_encrypted`, see deliverability.keys).

    `checks` holds the outcome of the last DNS check, one entry per record
    in the order of `dns_records()`: `{"record": "dkim" | "spf" | "dmarc" |
    "return_path", "type", "name", "ok", "required", "reason", "found",
    "inconclusive"}`, where `reason` is a sentence for the customer, `found`
    what the DNS answered and `inconclusive` says the lookup itself failed
    (a timeout). A JSON list rather than a related model: it is only ever read
    and replaced as a whole, with the domain.

    `verified_at` is set while the records allow signed, aligned mail;
    `lost_reason` says why a domain that was verified no longer is (shown on
    the domains page until the next successful check).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sending_domains",
        verbose_name=_("owner"),
    )
    domain = models.CharField(_("domain"), max_length=253)
    dkim_selector = models.CharField(_("DKIM selector"), max_length=63)
    dkim_public_key = models.TextField(_("DKIM public key"))
    dkim_private_key_encrypted = models.TextField(_("DKIM private key (encrypted)"))
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    checks = models.JSONField(_("last check"), default=list, blank=True)
    lost_reason = models.TextField(_("why verification was lost"), blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("sending domain")
        verbose_name_plural = _("sending domains")
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "domain"], name="sending_domain_unique_owner_domain"
            ),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("deliverability:domain_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return domain_display(self.domain)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def dkim_record_name(self) -> str:
        return f"{self.dkim_selector}._domainkey.{self.domain}"

    @property
    def dkim_record_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.dkim_public_key}"

    def dns_records(self) -> list[tuple[str, str, str]]:
        """What to publish, as `(type, name, value)`: names fully qualified
        without the final dot, values unquoted.

        The DMARC record is left out once a check has found one of the
        customer's own that allows aligned mail (theirs stays).
        """
        return [
            (record.type, record.name, record.value)
            for record in expected_records(self)
        ]

    def private_key_pem(self) -> str:
        """The decrypted private key; raises KeyDecryptionError."""
        return decrypt_private_key(self.dkim_private_key_encrypted)


class Sender(models.Model):
    """A From identity of a customer: a name and an address on one of their
    sending domains, with an optional Reply-To.

    `sender_create` accepts it only on a verified domain of the same owner.
    When the domain later loses its verification the sender stays, but is
    not usable (`is_usable`) until the domain is verified again.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="senders",
        verbose_name=_("owner"),
    )
    domain = models.ForeignKey(
        SendingDomain,
        on_delete=models.CASCADE,
        related_name="senders",
        verbose_name=_("domain"),
    )
    name = models.CharField(pgettext_lazy("sender", "name"), max_length=150)
    email = models.EmailField(_("e-mail address"))
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("sender")
        verbose_name_plural = _("senders")
        ordering = ["email", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "email", "name"], name="sender_unique_owner_identity"
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    @property
    def is_usable(self) -> bool:
        return self.domain.verified_at is not None

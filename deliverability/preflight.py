"""The pre-flight check's rules: what would make Gmail, Yahoo or Outlook
refuse or mistrust a mailing, each as a `Finding` that says what to do.

The rules take plain values (a sender, a subject, the bytes of a sample
message), so that they know nothing of runs or the engine; the engine puts
them together for one mailing (mailing.engine.preflight) before every run
and on the mailing page's "Check" button.

Severity: a `hard` finding holds the mailing (no run starts until it is
fixed), a `soft` one is a warning on the mailing page.

- Sender: a mailing's sender must be on a domain verified (DKIM record
  matching, SPF including the platform, DMARC present) as of its last DNS
  check (`SendingDomain.verified_at`, set by `sending_domain_verify`). Hard.
- A mailing without a sender goes from the platform's domain, signed with
  `DKIM_PRIVATE_KEY`. Without that key its mail leaves unsigned, which
  Gmail and Outlook reject from bulk senders: hard under `PREFLIGHT_STRICT`
  (on in the production settings), a warning elsewhere, so that a
  development machine or the tests can send without one.
- Unsubscribe link (`SITE_URL`): must be https under `PREFLIGHT_STRICT`
  (hard); with DEBUG off and the switch off, an http link is a warning;
  with DEBUG on nothing is said (a development server has no certificate).
- A text part: hard (multipart/alternative without one is a spam signal,
  and some readers show nothing).
- Size: above Gmail's clipping limit (102 KB) a warning: Gmail cuts the
  message, and with it the unsubscribe footer.
- Subject: missing is hard; 150 characters or more a warning.
- A link to a raw IP address in the body or the HTML part: hard, it is
  the commonest mark of phishing.
- Recipients: at least one client who is neither unsubscribed nor
  suppressed, else the run would be empty. Hard.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from deliverability import config

HARD, SOFT = "hard", "soft"
# Gmail clips a message whose HTML passes 102 KB; measured on the whole
# message, as sent, which errs on the safe side.
GMAIL_CLIP_BYTES = 102 * 1024
SUBJECT_MAX = 150
_URL = re.compile(r"""(?i)\b(?:https?|ftp)://[^\s"'<>()]+""")


@dataclass(frozen=True)
class Finding:
    """One outcome of the pre-flight check that the customer should act on."""

    code: str
    severity: str  # HARD or SOFT
    message: str
    what_to_do: str

    @property
    def is_hard(self) -> bool:
        return self.severity == HARD


def _strict() -> bool:
    return bool(getattr(settings, "PREFLIGHT_STRICT", False))


def sender_findings(sender) -> list[Finding]:
    """The mailing's sender (None: the platform's own domain)."""
    if sender is None:
        if config.platform_dkim() is not None:
            return []
        return [
            Finding(
                "platform_unsigned",
                HARD if _strict() else SOFT,
                _(
                    "Mailings without a sender of yours go from the platform's "
                    "domain, which has no DKIM key: the mail would leave "
                    "unsigned, which Gmail and Outlook reject."
                ),
                _(
                    "Choose a sender on a verified domain of yours, or ask the "
                    "administrator to give the platform a DKIM key."
                ),
            )
        ]
    domain = sender.domain
    if domain.verified_at is not None:
        return []
    reasons = [
        check.get("reason", "")
        for check in domain.checks or []
        if check.get("required") and not check.get("ok")
    ]
    if domain.lost_reason and not reasons:
        reasons = [domain.lost_reason]
    if not domain.last_checked_at:
        reasons = [_("Its records have not been checked yet.")]
    return [
        Finding(
            "sender_domain_unverified",
            HARD,
            _("The sender's domain %(domain)s is not verified. %(reasons)s")
            % {"domain": domain.display_name, "reasons": " ".join(reasons)},
            _(
                "Publish the records shown on the domain's page in your DNS, "
                "then press “Check now” there; the mailing starts by itself "
                "within a minute of the domain being verified."
            ),
        )
    ]


def site_url_findings() -> list[Finding]:
    """The unsubscribe links point at SITE_URL: https in production."""
    if urlsplit(settings.SITE_URL).scheme == "https" or settings.DEBUG:
        return []
    return [
        Finding(
            "unsubscribe_not_https",
            HARD if _strict() else SOFT,
            _(
                "The unsubscribe link (%(url)s) is not https; Gmail and "
                "Yahoo expect one-click unsubscribe over https."
            )
            % {"url": settings.SITE_URL},
            _("Ask the administrator to serve the site over https."),
        )
    ]


def raw_ip_links(*texts: str) -> list[str]:
    """The links in `texts` whose host is an IP address."""
    found = []
    for text in texts:
        for url in _URL.findall(text or ""):
            try:
                host = urlsplit(url).hostname or ""
                ipaddress.ip_address(host)
            except ValueError:
                continue
            if url not in found:
                found.append(url)
    return found


def content_findings(*, subject: str, text: str, html: str, size: int) -> list[Finding]:
    """The message as rendered for one client: subject, parts, links, size
    in bytes of the whole message as sent."""
    findings = []
    if not subject.strip():
        findings.append(
            Finding(
                "subject_missing",
                HARD,
                _("The message has no subject."),
                _("Edit the message and give it a subject."),
            )
        )
    elif len(subject) >= SUBJECT_MAX:
        findings.append(
            Finding(
                "subject_too_long",
                SOFT,
                _("The subject is %(count)s characters long; readers cut it short.")
                % {"count": len(subject)},
                _("Keep the subject under %(limit)s characters.")
                % {"limit": SUBJECT_MAX},
            )
        )
    if not text.strip():
        findings.append(
            Finding(
                "text_part_missing",
                HARD,
                _("The message has no plain-text part."),
                _("Edit the message and write its text version."),
            )
        )
    if links := raw_ip_links(text, html):
        findings.append(
            Finding(
                "raw_ip_link",
                HARD,
                _("The message links to an IP address: %(links)s.")
                % {"links": ", ".join(links[:3])},
                _(
                    "Link to a domain name instead; spam filters treat IP "
                    "links as phishing."
                ),
            )
        )
    if size > GMAIL_CLIP_BYTES:
        findings.append(
            Finding(
                "too_big",
                SOFT,
                _(
                    "The message is %(size)s KB; Gmail clips messages over "
                    "102 KB, hiding the rest and the unsubscribe link."
                )
                % {"size": (size + 1023) // 1024},
                _("Shorten the message or move large content to your website."),
            )
        )
    return findings


def recipients_findings(*, has_recipients: bool) -> list[Finding]:
    if has_recipients:
        return []
    return [
        Finding(
            "no_recipients",
            HARD,
            _(
                "The mailing has no client who may receive it: every chosen "
                "client has unsubscribed or is on your suppression list."
            ),
            _("Choose other clients for the mailing, or add some."),
        )
    ]


def held_reason(findings: list[Finding]) -> str:
    """The text stored on a held mailing: each hard finding and what to do."""
    return "\n".join(
        f"{finding.message} {finding.what_to_do}"
        for finding in findings
        if finding.is_hard
    )

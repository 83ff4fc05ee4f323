"""What a sending domain must publish, and whether it has.

`expected_records` lists the records; `check_domain` looks each one up
with dnspython (through `DNS_NAMESERVERS`, or the system's resolver) and
says, in a sentence for the customer, what is right or wrong with it.

When is a domain verified (`CheckResult.verified`)? Receivers apply DMARC:
a message passes when SPF or DKIM passes *and* that mechanism's domain is
aligned with the From domain. Mailsite signs with `d=` the sending domain
itself, so a matching DKIM record gives an aligned DKIM pass in both relaxed
and strict mode. SPF is checked by receivers against the envelope sender,
the VERP address at `BOUNCE_DOMAIN`, which is the platform's domain: SPF
passes but is never aligned with a customer's domain. Hence the rule:

- DKIM: the record at `<selector>._domainkey.<domain>` must carry our key,
  and not be in testing mode (`t=y`: receivers treat such mail as
  unsigned). Required, as it is the only aligned mechanism.
- SPF: the domain's single `v=spf1` record must include `SPF_INCLUDE`
  (or redirect to it). Required: Gmail and Yahoo want bulk senders' domains
  to publish SPF, and the return-path name below relies on it.
- DMARC: a record must exist at `_dmarc.<domain>` (or at the parent domain,
  for a subdomain: the organisational domain, simplified to the last two
  labels). Gmail and Yahoo require one from bulk senders. Any policy
  (`none`, `quarantine`, `reject`) is accepted as long as DKIM is aligned;
  without an aligned DKIM pass it fails, and with `quarantine`/`reject`
  the reason says the mail would be refused.
- Return path: `bounces.<domain>` as a CNAME to `BOUNCE_DOMAIN`. Optional:
  it lets a later version put the VERP address on the customer's own
  domain (SPF aligned too); its absence does not block anything.

A lookup that times out or finds no server says so; `CheckResult.
inconclusive` is then true, and a re-check does not take a domain's
verification away for that alone (the records may well still be there).
"""

from dataclasses import asdict, dataclass, field

import dns.exception
import dns.nameserver
import dns.resolver
from django.utils.translation import gettext as _

from deliverability import config

DKIM, SPF, DMARC, RETURN_PATH = "dkim", "spf", "dmarc", "return_path"
BOUNCES_LABEL = "bounces"


@dataclass(frozen=True)
class ExpectedRecord:
    record: str  # DKIM, SPF, ...
    type: str
    name: str
    value: str
    required: bool


@dataclass
class RecordCheck:
    """One record's outcome, as stored in SendingDomain.checks."""

    record: str
    type: str
    name: str
    ok: bool
    required: bool
    reason: str
    found: str = ""
    inconclusive: bool = False


@dataclass
class CheckResult:
    checks: list[RecordCheck] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(check.ok for check in self.checks if check.required)

    @property
    def inconclusive(self) -> bool:
        return any(c.inconclusive for c in self.checks if c.required and not c.ok)

    def failures(self) -> list[str]:
        return [c.reason for c in self.checks if c.required and not c.ok]

    def as_json(self) -> list[dict]:
        return [asdict(check) for check in self.checks]


def dmarc_suggestion(domain: str) -> str:
    return f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"


def spf_suggestion() -> str:
    return f"v=spf1 include:{config.spf_include()} ~all"


def expected_records(sending_domain, *, every=False) -> list[ExpectedRecord]:
    """The records of `sending_domain`; without `every`, the DMARC record
    is left out once a check found the customer's own, which passed."""
    domain = sending_domain.domain
    records = [
        ExpectedRecord(
            DKIM,
            "TXT",
            sending_domain.dkim_record_name,
            sending_domain.dkim_record_value,
            True,
        ),
        ExpectedRecord(SPF, "TXT", domain, spf_suggestion(), True),
    ]
    found_dmarc = _stored(sending_domain, DMARC)
    kept = found_dmarc and found_dmarc.get("ok") and found_dmarc.get("found")
    if every or not kept:
        records.append(
            ExpectedRecord(
                DMARC, "TXT", f"_dmarc.{domain}", dmarc_suggestion(domain), True
            )
        )
    records.append(
        ExpectedRecord(
            RETURN_PATH,
            "CNAME",
            f"{BOUNCES_LABEL}.{domain}",
            config.bounce_domain(),
            False,
        )
    )
    return records


def _stored(sending_domain, record: str) -> dict | None:
    for check in sending_domain.checks or []:
        if check.get("record") == record:
            return check
    return None


def resolver() -> dns.resolver.Resolver:
    """A resolver with short timeouts, on DNS_NAMESERVERS when set."""
    servers = config.dns_nameservers()
    if servers:
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [
            dns.nameserver.Do53Nameserver(host, port) for host, port in servers
        ]
    else:
        res = dns.resolver.Resolver()
    res.lifetime = config.dns_timeout()
    res.timeout = min(res.lifetime, 2.0)
    # A stale cache could hide a record that was just published.
    res.cache = None
    return res


class _LookupFailed(Exception):
    """A lookup that proves nothing (timeout, no server, SERVFAIL)."""


def _txt(res, name: str) -> list[str]:
    """The TXT strings at `name` ([] when there are none); raises
    _LookupFailed with a sentence when the lookup itself failed."""
    try:
        answer = res.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.Timeout as exc:
        raise _LookupFailed(
            _("The DNS lookup of %(name)s timed out; try again later.") % {"name": name}
        ) from exc
    except dns.resolver.NoNameservers as exc:
        raise _LookupFailed(
            _("No DNS server answered for %(name)s; try again later.") % {"name": name}
        ) from exc
    except dns.exception.DNSException as exc:
        raise _LookupFailed(
            _("The DNS lookup of %(name)s failed (%(error)s).")
            % {"name": name, "error": type(exc).__name__}
        ) from exc
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


def _failed(expected: ExpectedRecord, reason: str, **extra) -> RecordCheck:
    return RecordCheck(
        expected.record,
        expected.type,
        expected.name,
        False,
        expected.required,
        reason,
        **extra,
    )


def _passed(expected: ExpectedRecord, reason: str, found: str = "") -> RecordCheck:
    return RecordCheck(
        expected.record,
        expected.type,
        expected.name,
        True,
        expected.required,
        reason,
        found,
    )


def _check_dkim(res, sending_domain, expected) -> tuple[RecordCheck, bool]:
    """The DKIM outcome and whether it gives an aligned DKIM pass."""
    name = expected.name
    try:
        found = [t for t in _txt(res, name) if "p=" in t or "v=DKIM1" in t]
    except _LookupFailed as exc:
        return _failed(expected, str(exc), inconclusive=True), False
    if not found:
        return _failed(
            expected,
            _("There is no DKIM record at %(name)s; publish the TXT record below.")
            % {"name": name},
        ), False
    if len(found) > 1:
        return _failed(
            expected,
            _("There are %(count)d DKIM records at %(name)s; keep only the one below.")
            % {"count": len(found), "name": name},
            found=" | ".join(found),
        ), False
    tags = _tags(found[0])
    if tags.get("k", "rsa").lower() != "rsa":
        return _failed(
            expected,
            _("The DKIM record at %(name)s is not an RSA key (k=%(k)s).")
            % {"name": name, "k": tags.get("k")},
            found=found[0],
        ), False
    if tags.get("p", "") != sending_domain.dkim_public_key:
        reason = (
            _("The DKIM record at %(name)s has no key (p= is empty): it was revoked.")
            if not tags.get("p")
            else _(
                "The DKIM record at %(name)s has a different key; publish the "
                "value below."
            )
        )
        return _failed(expected, reason % {"name": name}, found=found[0]), False
    if "y" in tags.get("t", "").split(":"):
        return _failed(
            expected,
            _(
                "The DKIM record at %(name)s is in testing mode (t=y): receivers "
                "treat the mail as unsigned. Remove t=y."
            )
            % {"name": name},
            found=found[0],
        ), False
    return _passed(
        expected,
        _("The DKIM record at %(name)s carries the key.") % {"name": name},
        found[0],
    ), True


def _check_spf(res, expected) -> RecordCheck:
    name, include = expected.name, config.spf_include()
    try:
        found = [t for t in _txt(res, name) if t.lower().startswith("v=spf1")]
    except _LookupFailed as exc:
        return _failed(expected, str(exc), inconclusive=True)
    if not found:
        return _failed(
            expected,
            _("There is no SPF record at %(name)s; publish the TXT record below.")
            % {"name": name},
        )
    if len(found) > 1:
        return _failed(
            expected,
            _(
                "There are %(count)d SPF records at %(name)s, which makes SPF fail "
                "everywhere; merge them into one that includes %(include)s."
            )
            % {"count": len(found), "name": name, "include": include},
            found=" | ".join(found),
        )
    terms = [term.lower() for term in found[0].split()[1:]]
    wanted = {f"include:{include}", f"+include:{include}", f"redirect={include}"}
    if not wanted.intersection(terms):
        return _failed(
            expected,
            _(
                "The SPF record at %(name)s does not include %(include)s; add "
                "“include:%(include)s” before its “all”."
            )
            % {"name": name, "include": include},
            found=found[0],
        )
    return _passed(
        expected,
        _("The SPF record at %(name)s includes %(include)s.")
        % {"name": name, "include": include},
        found[0],
    )


def _dmarc_record(res, domain: str) -> tuple[str, str, bool]:
    """(name, record, is_parent) of the DMARC policy that applies to
    `domain`; ("", "", False) when there is none. Raises _LookupFailed."""
    candidates = [domain]
    labels = domain.split(".")
    if len(labels) > 2:
        candidates.append(".".join(labels[-2:]))
    for candidate in candidates:
        name = f"_dmarc.{candidate}"
        found = [t for t in _txt(res, name) if t.lower().startswith("v=dmarc1")]
        if found:
            return name, found[0], candidate != domain
    return "", "", False


def _check_dmarc(res, sending_domain, expected, dkim_aligned) -> RecordCheck:
    domain = sending_domain.domain
    try:
        name, record, is_parent = _dmarc_record(res, domain)
    except _LookupFailed as exc:
        return _failed(expected, str(exc), inconclusive=True)
    if not record:
        return _failed(
            expected,
            _(
                "There is no DMARC record at _dmarc.%(domain)s; Gmail and Yahoo "
                "require one from bulk senders. Publish the TXT record below."
            )
            % {"domain": domain},
        )
    tags = _tags(record)
    policy = tags.get("sp") if is_parent and tags.get("sp") else tags.get("p", "")
    policy = policy.lower()
    if policy not in {"none", "quarantine", "reject"}:
        return _failed(
            expected,
            _("The DMARC record at %(name)s has no valid policy (p=).")
            % {"name": name},
            found=record,
        )
    if dkim_aligned:
        # Named where it was found: the parent domain's, for a subdomain.
        return _passed(
            ExpectedRecord(DMARC, "TXT", name, record, True),
            _(
                "The DMARC record at %(name)s (p=%(policy)s) is met: mail is "
                "DKIM-signed for %(domain)s."
            )
            % {"name": name, "policy": policy, "domain": domain},
            record,
        )
    if policy in {"quarantine", "reject"}:
        reason = _(
            "The DMARC record at %(name)s asks receivers to %(action)s mail that "
            "is not aligned (p=%(policy)s), and without a matching DKIM record "
            "nothing aligns: SPF is checked at the platform's bounce domain, "
            "not at %(domain)s. Fix the DKIM record."
        ) % {
            "name": name,
            "policy": policy,
            "action": _("reject") if policy == "reject" else _("quarantine"),
            "domain": domain,
        }
    else:
        reason = _(
            "Mail from %(domain)s would fail DMARC (policy at %(name)s: none): "
            "without a matching DKIM record nothing aligns with the From "
            "domain, and Gmail and Yahoo require alignment from bulk senders."
        ) % {"name": name, "domain": domain}
    return _failed(expected, reason, found=record)


def _check_return_path(res, expected) -> RecordCheck:
    name, target = expected.name, expected.value
    try:
        answer = res.resolve(name, "CNAME")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return _failed(
            expected,
            _(
                "Optional: no CNAME at %(name)s. Bounces are handled at "
                "%(target)s either way."
            )
            % {"name": name, "target": target},
        )
    except dns.exception.DNSException:
        return _failed(
            expected,
            _("Optional: the DNS lookup of %(name)s failed.") % {"name": name},
            inconclusive=True,
        )
    found = str(answer[0].target).rstrip(".").lower()
    if found != target:
        return _failed(
            expected,
            _("The CNAME at %(name)s points to %(found)s instead of %(target)s.")
            % {"name": name, "found": found, "target": target},
            found=found,
        )
    return _passed(
        expected,
        _("%(name)s points to %(target)s.") % {"name": name, "target": target},
        found,
    )


def check_domain(sending_domain) -> CheckResult:
    """Look up every record of `sending_domain`; never raises for DNS
    trouble (it becomes the reason of the record concerned)."""
    res = resolver()
    expected = {
        record.record: record for record in expected_records(sending_domain, every=True)
    }
    dkim_check, dkim_aligned = _check_dkim(res, sending_domain, expected[DKIM])
    return CheckResult(
        [
            dkim_check,
            _check_spf(res, expected[SPF]),
            _check_dmarc(res, sending_domain, expected[DMARC], dkim_aligned),
            _check_return_path(res, expected[RETURN_PATH]),
        ]
    )

"""What a mail server's refusal or a bounce report means for the address.

`classify_reply(code, text)` reads the enhanced status code (RFC 3463,
`class.subject.detail`, e.g. `5.1.1`) in an SMTP reply or a DSN's `Status:`
field; without one, the basic reply code decides. Pure: no database, no
settings, so that the engine's result writing and the bounce intake agree.

- hard_bounce: the address is dead: bad mailbox or domain (5.1.x), the
  mailbox disabled (5.2.1), no such system (5.4.4). Suppressed.
- policy: the server refused the message, not the recipient (5.7.x: spam,
  authentication, blocked sender; 5.3.x/5.6.x message or system trouble).
  Failed, never suppressed: the sender must fix something.
- soft: a temporary failure (4.x.x; a full mailbox 5.2.2 is treated alike,
  as most providers do). Suppressed only when it repeats.
- other: a permanent refusal that says nothing more (a bare 550): failed.
"""

import re
from dataclasses import dataclass

HARD_BOUNCE = "hard_bounce"
SOFT = "soft"
POLICY = "policy"
OTHER = "other"

# `5.1.1`, in a reply's text (after the basic code) or a DSN field.
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")

# Subject.detail of permanent failures that mean the address is dead.
_HARD_DETAILS = {
    ("2", "1"),  # mailbox disabled, not accepting messages
    ("4", "4"),  # unable to route: no such host
}
_SOFT_DETAILS = {
    ("2", "2"),  # mailbox full
    ("2", "0"),  # other or undefined mailbox status
}


@dataclass(frozen=True)
class Classification:
    """`kind` (one of the constants above) and a short English `reason`."""

    kind: str
    reason: str
    status: str = ""  # the enhanced status code found, if any

    @property
    def suppresses(self) -> bool:
        return self.kind == HARD_BOUNCE


def enhanced_status(text: str) -> str:
    """The first enhanced status code (`5.1.1`) in `text`, or ""."""
    match = _ENHANCED.search(text or "")
    return ".".join(match.groups()) if match else ""


def classify_status(status: str) -> Classification:
    """Classify an enhanced status code (`5.1.1`) alone."""
    klass, subject, detail = (status.split(".") + ["", ""])[:3]
    if klass == "2":
        return Classification(OTHER, "delivered", status)
    if klass == "4":
        return Classification(SOFT, "temporary failure", status)
    if klass != "5":
        return Classification(OTHER, "unknown status", status)
    if subject == "1":
        return Classification(HARD_BOUNCE, "bad address or domain", status)
    if (subject, detail) in _HARD_DETAILS:
        return Classification(HARD_BOUNCE, "mailbox or domain unavailable", status)
    if (subject, detail) in _SOFT_DETAILS:
        return Classification(SOFT, "mailbox full or unavailable", status)
    if subject == "7":
        return Classification(POLICY, "policy or content rejection", status)
    if subject in ("3", "5", "6"):
        return Classification(POLICY, "message or system refused", status)
    return Classification(OTHER, "permanent failure", status)


def classify_reply(code: int | None, text: str) -> Classification:
    """Classify an SMTP reply (its basic `code` and text with or without the
    code in front). The enhanced status code wins when there is one and
    agrees with the basic code's class; a reply without one is soft (4xx),
    or other (5xx)."""
    found = enhanced_status(text)
    if found and (code is None or str(code)[:1] == found[0]):
        return classify_status(found)
    if code is not None and 400 <= code < 500:
        return Classification(SOFT, "temporary failure")
    if code is not None and 500 <= code < 600:
        return Classification(OTHER, "permanent failure")
    return Classification(OTHER, "no reply")

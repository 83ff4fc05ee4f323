"""VERP return paths: one envelope sender per delivery.

`verp_address(delivery_id)` is `b-<token>@<BOUNCE_DOMAIN>`; a bounce that
comes back to it names the delivery. The token is the delivery id and an
HMAC-SHA256 tag of it (80 bits, keyed from SECRET_KEY), in lower-case
base32 without padding: mail systems may change the case of a local part,
and base32 survives that. `delivery_id_from_verp` returns None for anything
forged, truncated or garbled; it compares tags in constant time.
"""

import base64
import functools
import hashlib
import hmac

from django.conf import settings

from deliverability import config

PREFIX = "b-"
_TAG_BYTES = 10  # 80 bits: forging one is a 2**80 guess per try
_SALT = b"mailsite.deliverability.verp"


@functools.lru_cache(maxsize=4)
def _hmac_key(secret: str) -> bytes:
    return hashlib.sha256(_SALT + secret.encode()).digest()


def _tag(payload: bytes) -> bytes:
    # Once per message: the key derived once per SECRET_KEY, and the
    # one-shot C digest rather than an HMAC object.
    key = _hmac_key(settings.SECRET_KEY)
    return hmac.digest(key, payload, "sha256")[:_TAG_BYTES]


def verp_token(delivery_id: int) -> str:
    if delivery_id < 1:
        raise ValueError("A delivery id is a positive integer.")
    payload = delivery_id.to_bytes(8, "big")
    token = base64.b32encode(payload.lstrip(b"\0") + _tag(payload))
    return token.decode("ascii").rstrip("=").lower()


def verp_address(delivery_id: int, *, domain: str | None = None) -> str:
    """The envelope sender for one delivery: `b-<token>@<BOUNCE_DOMAIN>`."""
    return f"{PREFIX}{verp_token(delivery_id)}@{domain or config.bounce_domain()}"


def delivery_id_from_verp(address: str) -> int | None:
    """The delivery id in a VERP address (any case, with or without angle
    brackets); None when it is not one of ours or does not check out."""
    local = (address or "").strip().strip("<>").rpartition("@")[0].lower()
    if not local.startswith(PREFIX):
        return None
    token = local[len(PREFIX) :].upper()
    if not token or len(token) > 40:
        return None
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except ValueError:  # binascii.Error is one
        return None
    if len(raw) <= _TAG_BYTES or len(raw) > _TAG_BYTES + 8:
        return None
    id_bytes, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    payload = id_bytes.rjust(8, b"\0")
    if not hmac.compare_digest(tag, _tag(payload)):
        return None
    # The canonical form has no leading zero bytes: another spelling of the
    # same id is not one we issued.
    if id_bytes[:1] == b"\0":
        return None
    return int.from_bytes(payload, "big")

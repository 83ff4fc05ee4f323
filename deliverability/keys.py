"""DKIM key pairs and their encryption at rest.

Private keys are stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256,
from `cryptography`). The encryption key comes from the environment:

- `DKIM_KEY_ENCRYPTION_KEY`: one or more Fernet keys, comma-separated
  (`python -c "from cryptography.fernet import Fernet;
  print(Fernet.generate_key().decode())"`). The first encrypts, every one
  decrypts, so a key is rotated by putting the new one first.
- Unset: a key derived from `SECRET_KEY` with HKDF-SHA256. That works with
  no configuration, but ties the DKIM keys to `SECRET_KEY`: rotating
  `SECRET_KEY` makes every stored DKIM key unreadable (the customers would
  have to publish new records), and anyone holding `SECRET_KEY` can read
  them. Production should set its own key, kept apart from `SECRET_KEY`.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RSA_BITS = 2048
_HKDF_INFO = b"mailsite dkim private key encryption"


class KeyDecryptionError(Exception):
    """The stored key cannot be decrypted with the configured keys."""


def generate_rsa_key() -> tuple[str, str]:
    """A new RSA 2048 key: (private key PEM, public key as the base64 `p=`
    value of a DKIM record, i.e. the DER SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return private_pem, public_key_value(private_pem)


def public_key_value(private_pem: str) -> str:
    """The base64 `p=` value of a DKIM record for this private key."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return base64.b64encode(der).decode("ascii")


def _fernet() -> MultiFernet:
    configured = getattr(settings, "DKIM_KEY_ENCRYPTION_KEY", "") or ""
    keys = [part.strip() for part in configured.split(",") if part.strip()]
    if keys:
        try:
            return MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ImproperlyConfigured(
                "DKIM_KEY_ENCRYPTION_KEY must be Fernet keys (32 url-safe "
                "base64-encoded bytes), comma-separated."
            ) from exc
    if not settings.SECRET_KEY:
        raise ImproperlyConfigured(
            "Set DKIM_KEY_ENCRYPTION_KEY (or SECRET_KEY) to store DKIM keys."
        )
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO
    ).derive(settings.SECRET_KEY.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def encrypt_private_key(private_pem: str) -> str:
    return _fernet().encrypt(private_pem.encode("ascii")).decode("ascii")


def decrypt_private_key(token: str) -> str:
    """The PEM text; raises KeyDecryptionError when the configured keys do
    not open it (DKIM_KEY_ENCRYPTION_KEY or SECRET_KEY changed)."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise KeyDecryptionError(
            "The DKIM private key cannot be decrypted: DKIM_KEY_ENCRYPTION_KEY "
            "(or SECRET_KEY, when it is unset) has changed since it was stored."
        ) from exc

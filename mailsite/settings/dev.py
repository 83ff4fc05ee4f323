"""Development settings: what `make run` uses."""

import os

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])


def _dev_dkim_key(path):
    """The path of the development platform DKIM key, made on first use
    (RSA 2048, in var/, never in a repository), so that `make run` signs
    what it sends to the sink as production would."""
    if not path.exists():
        # Imported here: only the first start of a clone makes a key.
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: two processes starting at once each
        # leave a whole key, never half of one.
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_bytes(pem)
        partial.chmod(0o600)
        os.replace(partial, path)
    return str(path)


# Development only: without DKIM_PRIVATE_KEY, a key of its own in var/
# (production signs platform mail only with a configured key).
DKIM_PRIVATE_KEY = env("DKIM_PRIVATE_KEY", default="") or _dev_dkim_key(
    VAR_DIR / "dkim-dev.pem"
)

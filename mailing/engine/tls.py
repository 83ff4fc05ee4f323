"""TLS for outgoing SMTP: one policy for mailings and account mail.

`smtp+tls://` (STARTTLS) and `smtp+ssl://` always check the relay's
certificate and host name, unless `EMAIL_TLS_VERIFY=off`: then the
connection is still encrypted, but a self-signed certificate (a relay of
your own on a private network) is accepted, and so would be an
interceptor's. STARTTLS is never skipped when the server does not offer it:
smtplib refuses, and the send engine says why (mailing/engine/transport.py).

`EmailBackend` is Django's SMTP backend with this context; the settings
use it only when verification is turned off (otherwise Django's own
default context already verifies).
"""

import ssl

from django.conf import settings
from django.core.mail.backends import smtp
from django.utils.functional import cached_property


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not getattr(settings, "EMAIL_TLS_VERIFY", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class EmailBackend(smtp.EmailBackend):
    @cached_property
    def ssl_context(self):
        if self.ssl_certfile or self.ssl_keyfile:
            return super().ssl_context
        return tls_context()

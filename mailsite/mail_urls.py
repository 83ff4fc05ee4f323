"""The pages that links in sent mail lead to: the unsubscribe link, the
preference centre and the sign-up confirmation.

The site's URL configuration (mailsite.urls) mounts these patterns as they
are, so this module is the one place that says where those pages live. The
send engine reverses its links against this module alone (`MAIL_URLCONF`):
a dispatcher started from cron or a worker builds them without importing
the rest of the site (Wagtail's admin, the mail providers' webhooks: about
0.3 s of a fresh process, which a 10,000-client run felt).
"""

from django.urls import include, path

urlpatterns = [
    path("m/", include("mailing.public_urls")),
    # /subscribe/... and /m/preferences/...
    path("", include("audience.public_urls")),
]

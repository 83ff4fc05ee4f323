import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailsite.settings.production")

application = get_wsgi_application()

# Django, Wagtail, the URL configuration and what they import are some
# 200,000 objects that live as long as the worker. Left to the garbage
# collector, every full collection walks all of them (tens of ms, now and
# then in the middle of a request: the slowest requests of a fresh worker's
# first few hundred); frozen, a collection walks only what requests made.
_urls_loaded = get_resolver().url_patterns
gc.freeze()

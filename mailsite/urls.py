from django.conf import settings
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from accounts.views import set_language
from mailsite import mail_urls

# Django's own admin is deliberately not mounted: managers and content
# managers work in the Wagtail admin at /cms/.
urlpatterns = [
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    # Only our own scripts' strings (locale/, always read), not every app's.
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["accounts"]),
        name="javascript-catalog",
    ),
    path("app/", include("mailing.urls")),
    path("app/", include("deliverability.urls")),
    path("app/", include("audience.urls")),
    # The pages links in sent mail lead to (unsubscribe, preferences, …).
    *mail_urls.urlpatterns,
    # Mail providers' bounce and complaint events (deliverability.webhooks).
    path("webhooks/anymail/", include("anymail.urls")),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("", include("blog.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving is the catch-all, so it comes last.
urlpatterns += [path("", include(wagtail_urls))]

from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# Private areas: the admin, the customer area, accounts and unsubscribe links.
DISALLOWED = ["/cms/", "/app/", "/accounts/", "/m/", "/documents/"]


@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    """robots.txt: keep crawlers out of private areas, point them to the sitemap."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {prefix}" for prefix in DISALLOWED]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")

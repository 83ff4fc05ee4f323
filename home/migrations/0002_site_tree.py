"""Make a HomePage the site's root, with the blog at /blog/ under it, and let
content managers add, edit and publish pages in that tree.

Wagtail's own migrations create a root page and a "Welcome" page under it;
the Welcome page is replaced. Idempotent: a tree that already has a HomePage
is left alone.
"""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import migrations

CONTENT_MANAGERS = "Content managers"  # accounts.roles.CONTENT_MANAGERS
PAGE_PERMISSIONS = {
    "add_page": "Can add page",
    "change_page": "Can change page",
    "publish_page": "Publish any page",
}
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STEPLEN = 4


def _step(number):
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = ALPHABET[rest] + digits
    return digits.rjust(STEPLEN, "0")


def _next_child_path(Page, parent):
    last = (
        Page.objects.filter(path__startswith=parent.path, depth=parent.depth + 1)
        .order_by("-path")
        .values_list("path", flat=True)
        .first()
    )
    number = int(last[-STEPLEN:], 36) + 1 if last else 1
    return parent.path + _step(number)


def _site_address():
    """Host and port of SITE_URL: the sitemap and feed build links from them."""
    url = urlsplit(getattr(settings, "SITE_URL", "") or "http://localhost")
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.hostname or "localhost", port


def _content_type(apps, app_label, model):
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.get_or_create(app_label=app_label, model=model)[0]


def create_site_tree(apps, schema_editor):
    Page = apps.get_model("wagtailcore", "Page")
    Site = apps.get_model("wagtailcore", "Site")
    Locale = apps.get_model("wagtailcore", "Locale")
    HomePage = apps.get_model("home", "HomePage")
    BlogIndexPage = apps.get_model("blog", "BlogIndexPage")

    root = Page.objects.filter(depth=1).order_by("path").first()
    if root is None:
        return
    locale = Locale.objects.order_by("pk").first()
    if locale is None:
        locale = Locale.objects.create(language_code="en")
    home = HomePage.objects.order_by("path").first()
    if home is None:
        plain_page = _content_type(apps, "wagtailcore", "page")
        welcome = Page.objects.filter(
            depth=2, slug="home", content_type=plain_page, numchild=0
        ).first()
        home = HomePage.objects.create(
            title="Mailsite",
            draft_title="Mailsite",
            seo_title="Mailsite: mailings that arrive",
            search_description=(
                "Keep your clients, write messages and schedule mailings that "
                "are delivered reliably, with every server reply on record."
            ),
            slug="home",
            content_type=_content_type(apps, "home", "homepage"),
            path=_next_child_path(Page, root),
            depth=2,
            numchild=0,
            url_path="/home/",
            live=True,
            has_unpublished_changes=False,
            locale=locale,
            translation_key=uuid.uuid4(),
            hero_title="Mailings that arrive",
            hero_text=(
                "Keep your clients, write your messages and schedule mailings: "
                "once, daily, weekly or monthly. Every delivery is logged with "
                "the mail server's reply."
            ),
            introduction=(
                "<p>Mailsite is a self-hosted mailing service. Sign up, confirm "
                "your address and send your first mailing in minutes.</p>"
            ),
            cta_text="Create a free account",
            cta_url="/accounts/signup/",
        )
        if welcome is not None:
            Site.objects.filter(root_page=welcome).update(root_page=home)
            welcome.delete()
        hostname, port = _site_address()
        if not Site.objects.exists():
            Site.objects.create(
                hostname=hostname,
                port=port,
                site_name="Mailsite",
                root_page=home,
                is_default_site=True,
            )
        else:
            Site.objects.filter(is_default_site=True).update(
                root_page=home, hostname=hostname, port=port, site_name="Mailsite"
            )
        root.numchild = Page.objects.filter(
            path__startswith=root.path, depth=2
        ).count()
        root.save(update_fields=["numchild"])

    if not BlogIndexPage.objects.exists():
        BlogIndexPage.objects.create(
            title="Blog",
            draft_title="Blog",
            search_description="News, guides and tips on sending mailings.",
            slug="blog",
            content_type=_content_type(apps, "blog", "blogindexpage"),
            path=_next_child_path(Page, home),
            depth=home.depth + 1,
            numchild=0,
            url_path=home.url_path + "blog/",
            live=True,
            has_unpublished_changes=False,
            locale=locale,
            translation_key=uuid.uuid4(),
            introduction="<p>News, guides and tips on sending mailings.</p>",
        )
        Page.objects.filter(pk=home.pk).update(
            numchild=Page.objects.filter(
                path__startswith=home.path, depth=home.depth + 1
            ).count()
        )

    _grant_page_permissions(apps, home)
    # Wagtail caches where each site's root is.
    cache.delete("wagtail_site_root_paths")


def _grant_page_permissions(apps, home):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    page_type = _content_type(apps, "wagtailcore", "page")
    group, _ = Group.objects.get_or_create(name=CONTENT_MANAGERS)
    for codename, name in PAGE_PERMISSIONS.items():
        permission, _ = Permission.objects.get_or_create(
            content_type=page_type, codename=codename, defaults={"name": name}
        )
        GroupPagePermission.objects.get_or_create(
            group=group, page_id=home.pk, permission=permission
        )


class Migration(migrations.Migration):
    dependencies = [
        ("home", "0001_initial"),
        ("blog", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_site_tree, migrations.RunPython.noop)]

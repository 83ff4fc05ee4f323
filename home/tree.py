"""The page tree the site expects: root → HomePage (the Site's root) → Blog.

`home/migrations/0002_site_tree` builds it on `migrate`; `site_tree_ensure`
builds the same with the live models, for the demo seeder and for tests that
run after a flushed database (transactional tests empty every table).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Collection, GroupPagePermission, Locale, Page, Site

from accounts.roles import CONTENT_MANAGERS
from blog.models import BlogIndexPage
from home.models import HomePage

CONTENT_MANAGER_PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page"]


def site_tree_ensure() -> tuple[HomePage, BlogIndexPage]:
    """Create whatever is missing of the tree; return (home, blog index)."""
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if not Collection.objects.filter(depth=1).exists():
        Collection.add_root(name="Root")
    root = Page.get_first_root_node()
    if root is None:
        root = Page.add_root(title="Root", slug="root")
    home = HomePage.objects.first()
    if home is None:
        for welcome in root.get_children().filter(slug="home").exact_type(Page):
            Site.objects.filter(root_page=welcome).delete()
            welcome.delete()
        home = root.add_child(instance=HomePage(title="Mailsite", slug="home"))
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        url = urlsplit(settings.SITE_URL)
        Site.objects.create(
            hostname=url.hostname or "localhost",
            port=url.port or (443 if url.scheme == "https" else 80),
            site_name=settings.WAGTAIL_SITE_NAME,
            root_page=home,
            is_default_site=True,
        )
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()
    blog = BlogIndexPage.objects.first()
    if blog is None:
        home.refresh_from_db()
        blog = home.add_child(instance=BlogIndexPage(title="Blog", slug="blog"))
    content_managers_grant_pages(home=home)
    return home, blog


def content_managers_grant_pages(*, home: Page) -> None:
    """Let content managers add, edit and publish pages under `home`."""
    group, _ = Group.objects.get_or_create(name=CONTENT_MANAGERS)
    for permission in Permission.objects.filter(
        content_type__app_label="wagtailcore",
        content_type__model="page",
        codename__in=CONTENT_MANAGER_PAGE_PERMISSIONS,
    ):
        GroupPagePermission.objects.get_or_create(
            group=group, page=home, permission=permission
        )

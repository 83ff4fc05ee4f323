"""In Chromium: a content manager publishes an illustrated article in the
Wagtail admin, it reaches the blog and the home page, and a visitor's read
counts."""

import os
import re
import tempfile

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.storage import default_storage
from wagtail.models import Collection, GroupCollectionPermission

from accounts import roles
from blog.models import BlogPage
from conftest import ARTIFACTS
from tests.site_content import BROWSER_UA, blog_index, png_bytes

PASSWORD = "correct-horse-battery-9"  # the root conftest's make_user password


def _permission(app_label, codename):
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def editor(make_user):
    """A content manager, on a database that a transactional test emptied."""
    blog = blog_index()  # the tree; also gives the group its page permissions
    group, _ = Group.objects.get_or_create(name=roles.CONTENT_MANAGERS)
    group.permissions.add(
        *(_permission(app, code) for app, code in roles.CONTENT_MANAGER_PERMISSIONS)
    )
    root = Collection.get_first_root_node()
    for app, code in roles.CONTENT_MANAGER_COLLECTION_PERMISSIONS:
        GroupCollectionPermission.objects.get_or_create(
            group=group, collection=root, permission=_permission(app, code)
        )
    return make_user("writer@example.com", group=roles.CONTENT_MANAGERS), blog


def serve_media_from_storage(context):
    """Tests keep uploads in memory; hand them to the browser from there."""

    def fulfil(route):
        name = route.request.url.split("/media/", 1)[1].split("?")[0]
        if not default_storage.exists(name):
            return route.fulfill(status=404)
        with default_storage.open(name) as file:
            body = file.read()
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        return route.fulfill(status=200, body=body, content_type=kind)

    context.route(re.compile(r".*/media/.*"), fulfil)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_content_manager_publishes_an_illustrated_article(
    page, browser, live_server, editor, screenshot
):
    writer, blog = editor
    serve_media_from_storage(page.context)
    log_in(page, writer)
    upload_image(page, screenshot)
    write_and_publish(page, blog, screenshot)

    article = BlogPage.objects.get(title="Guiding mail home")
    assert article.live
    assert article.image is not None
    assert article.image.title == "lighthouse"

    visitor = browser.new_context(base_url=live_server.url, user_agent=BROWSER_UA)
    serve_media_from_storage(visitor)
    try:
        read_as_a_visitor(visitor.new_page(), screenshot)
    finally:
        visitor.close()
    article.refresh_from_db()
    assert article.view_count == 1

    # The editor sees the view in the admin listing.
    page.goto("/cms/articles/")
    row = page.locator("tr", has_text="Guiding mail home")
    assert "1" in row.inner_text().split()  # the Views column
    screenshot("6-admin-listing")


def log_in(page, writer):
    """Through the site's own login page."""
    page.goto("/accounts/login/?next=/cms/")
    page.fill("input[name=login]", writer.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/cms/$"))


def upload_image(page, screenshot):
    """An image drawn with Pillow, into the image library."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "lighthouse.png")
        with open(path, "wb") as file:
            file.write(png_bytes(colour=(220, 38, 38)))
        page.goto("/cms/images/add/")
        page.locator("input[type=file]").set_input_files(path)
        # Wagtail fills the title from the file name; set it ourselves so
        # the click cannot race that script.
        page.fill("#id_title", "lighthouse")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url(re.compile(r"/cms/images/(\?.*)?$"))
    screenshot("1-image-uploaded")


def write_and_publish(page, blog, screenshot):
    """Write the article, pick the image in the chooser, publish."""
    page.goto(f"/cms/pages/add/blog/blogpage/{blog.pk}/")
    page.fill("#id_title", "Guiding mail home")
    page.fill(
        "#id_introduction", "How a lighthouse of replies keeps mailings on course."
    )
    page.get_by_role("button", name="Choose an image").click()
    page.locator(".modal").get_by_text("lighthouse").first.click()
    page.locator(".modal").wait_for(state="hidden")
    screenshot("2-editor")

    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("published").first.wait_for()
    screenshot("3-published")


def read_as_a_visitor(reader, screenshot):
    """The article is on the blog and among the home page's picks; a visitor
    reads it: the counter goes up once, and only once."""
    reader.goto("/blog/")
    reader.get_by_role("link", name="Guiding mail home").wait_for()
    reader.goto("/")
    picks = reader.get_by_test_id("random-articles")
    picks.get_by_role("link", name="Guiding mail home").wait_for()
    reader.screenshot(path=screenshot_path(screenshot, "4-home"), full_page=True)

    picks.get_by_role("link", name="Guiding mail home").click()
    reader.get_by_role("heading", name="Guiding mail home").wait_for()
    assert reader.get_by_test_id("view-count").inner_text() == "1 view"
    image = reader.locator("article figure img").first
    assert image.get_attribute("srcset")
    assert reader.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    reader.screenshot(path=screenshot_path(screenshot, "5-article"), full_page=True)
    reader.reload()


def screenshot_path(screenshot, name):
    # `screenshot` shoots the editor's tab; the visitor's tab is shot by path.
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, f"test_content_manager_publishes-{name}.png")

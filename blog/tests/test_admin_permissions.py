"""Who may do what with the blog in the Wagtail admin, both ways."""

from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import Page
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from blog.models import BlogPage
from tests.site_content import blog_index, make_article, make_image

pytestmark = pytest.mark.django_db


def article_form(title="From the editor", **extra):
    return nested_form_data(
        {
            "title": title,
            "slug": title.lower().replace(" ", "-"),
            "introduction": "Written in the admin.",
            "image": make_image("Editor's cover").pk,
            "body": streamfield([("paragraph", rich_text("<p>Hello.</p>"))]),
            **extra,
        }
    )


def add_url(index):
    return f"/cms/pages/add/blog/blogpage/{index.pk}/"


def test_content_manager_writes_and_publishes_an_article(client, content_manager):
    index = blog_index()
    client.force_login(content_manager)
    assert client.get(add_url(index)).status_code == 200
    response = client.post(add_url(index), {**article_form(), "action-publish": "1"})
    assert response.status_code == 302, response.content[:2000]
    article = BlogPage.objects.get(slug="from-the-editor")
    assert article.live
    assert article.owner == content_manager
    assert article.image is not None
    assert article.date_published == article.first_published_at


def test_content_manager_edits_and_schedules_an_article(client, content_manager):
    article = make_article("Scheduled later")
    client.force_login(content_manager)
    edit_url = f"/cms/pages/{article.pk}/edit/"
    assert client.get(edit_url).status_code == 200
    go_live = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    response = client.post(
        edit_url,
        {
            **article_form("Scheduled later"),
            "go_live_at": go_live,
            "action-publish": "1",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    # Publishing with a future go-live date schedules the revision.
    assert article.revisions.filter(approved_go_live_at__isnull=False).exists()


def test_content_manager_edits_the_home_page(client, content_manager):
    home = Page.objects.get(depth=2).specific
    client.force_login(content_manager)
    assert client.get(f"/cms/pages/{home.pk}/edit/").status_code == 200


def test_content_manager_uploads_images(client, content_manager):
    client.force_login(content_manager)
    assert client.get("/cms/images/").status_code == 200
    assert client.get("/cms/images/add/").status_code == 200


def test_content_manager_sees_article_view_counts_in_the_listing(
    client, content_manager
):
    article = make_article("Popular")
    BlogPage.objects.filter(pk=article.pk).update(view_count=1234)
    client.force_login(content_manager)
    response = client.get("/cms/articles/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Views" in html
    assert "1234" in html or "1,234" in html


def test_content_manager_cannot_see_mailings_or_users(client, content_manager):
    client.force_login(content_manager)
    assert not content_manager.has_perm("mailing.view_mailing")
    assert not content_manager.has_perm("mailing.view_client")
    assert not content_manager.has_perm("accounts.view_user")
    for url in (
        "/cms/users/",
        "/cms/snippets/mailing/mailing/",
        "/cms/snippets/mailing/client/",
        "/cms/snippets/accounts/user/",
    ):
        assert client.get(url).status_code != 200, url
    snippets = client.get("/cms/snippets/")
    assert b"Mailing" not in snippets.content


def test_manager_cannot_add_or_edit_pages(client, manager):
    index = blog_index()
    article = make_article("Not yours")
    client.force_login(manager)
    assert client.get(f"/cms/pages/{article.pk}/edit/").status_code != 200
    assert client.get(add_url(index)).status_code != 200
    client.post(add_url(index), {**article_form("Sneaked in"), "action-publish": "1"})
    assert not BlogPage.objects.filter(slug="sneaked-in").exists()
    client.post(
        f"/cms/pages/{article.pk}/edit/",
        {**article_form("Not yours, edited"), "action-publish": "1"},
    )
    article.refresh_from_db()
    assert article.title == "Not yours"


def test_customer_cannot_reach_the_admin(client, customer):
    client.force_login(customer)
    assert client.get(add_url(blog_index())).status_code == 403

"""The page types, where they may live, and the tree the migrations build."""

from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from blog.models import BlogIndexPage, BlogPage
from home.models import HomePage
from home.tree import site_tree_ensure
from tests.site_content import make_article


def article_form_data(slug="written-in-the-editor"):
    """What the admin's article form posts, blocks included."""
    return nested_form_data(
        {
            "title": "Written in the editor",
            "slug": slug,
            "introduction": "Made through the admin form.",
            "body": streamfield(
                [
                    ("heading", {"text": "Hello", "size": "h2"}),
                    ("paragraph", rich_text("<p>Some text.</p>")),
                    ("quote", {"text": "Quoted.", "attribution": "Me"}),
                    ("code", {"language": "text", "code": "250 OK"}),
                ]
            ),
        }
    )


class PageTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.home, cls.blog = site_tree_ensure()
        cls.article = make_article("Routing mail")

    def test_home_page_lives_only_under_the_root(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertCanNotCreateAt(BlogIndexPage, HomePage)
        self.assertCanNotCreateAt(HomePage, HomePage)

    def test_blog_index_lives_only_under_the_home_page(self):
        self.assertAllowedParentPageTypes(BlogIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(HomePage, {BlogIndexPage})
        self.assertCanNotCreateAt(Page, BlogIndexPage)
        self.assertCanNotCreateAt(BlogPage, BlogIndexPage)

    def test_articles_live_only_under_the_blog(self):
        self.assertAllowedParentPageTypes(BlogPage, {BlogIndexPage})
        self.assertAllowedSubpageTypes(BlogIndexPage, {BlogPage})
        self.assertAllowedSubpageTypes(BlogPage, set())
        self.assertCanCreateAt(BlogIndexPage, BlogPage)
        self.assertCanNotCreateAt(HomePage, BlogPage)
        self.assertCanNotCreateAt(Page, BlogPage)

    def test_an_article_can_be_created_through_the_admin_form(self):
        self.login()
        self.assertCanCreate(self.blog, BlogPage, article_form_data())

    def test_every_page_is_routable_and_renders(self):
        for page in (self.home, self.blog, self.article):
            self.assertPageIsRoutable(page)
            self.assertPageIsRenderable(page)
        self.assertPageIsRoutable(self.blog, "feed/")
        self.assertPageIsRoutable(self.blog, "search/")
        self.assertPageIsPreviewable(
            self.article, post_data=article_form_data(slug=self.article.slug)
        )

    def test_the_home_page_is_the_sites_root_and_the_blog_is_at_blog(self):
        site = Site.objects.get(is_default_site=True)
        self.assertEqual(site.root_page.specific, self.home)
        self.assertEqual(self.blog.url, "/blog/")
        self.assertEqual(self.client.get("/").status_code, 200)
        self.assertEqual(self.client.get("/blog/").status_code, 200)

    def test_wagtails_welcome_page_is_gone(self):
        self.assertFalse(
            Page.objects.filter(depth=2).exact_type(Page).exists(),
            "the default Welcome page should have been replaced",
        )
        self.assertEqual(HomePage.objects.count(), 1)

    def test_ensuring_the_tree_twice_changes_nothing(self):
        before = list(Page.objects.values_list("pk", "path"))
        self.assertEqual(site_tree_ensure(), (self.home, self.blog))
        self.assertEqual(list(Page.objects.values_list("pk", "path")), before)


class ArticleRoutingTests(WagtailPageTestCase):
    """The home page finds an article by its URL path in one query; what the
    tree walk would find stays what is served."""

    @classmethod
    def setUpTestData(cls):
        cls.home, cls.blog = site_tree_ensure()

    def test_a_live_article_is_served_and_a_draft_is_not(self):
        live = make_article("Served")
        draft = make_article("Not yet", live=False)
        self.assertEqual(self.client.get(live.url).status_code, 200)
        self.assertEqual(self.client.get(f"/blog/{draft.slug}/").status_code, 404)
        self.assertEqual(self.client.get("/blog/no-such-article/").status_code, 404)

    def test_the_blogs_own_routes_come_before_an_article_of_the_same_slug(self):
        article = make_article("Called feed")
        BlogPage.objects.filter(pk=article.pk).update(
            slug="feed", url_path=f"{self.blog.url_path}feed/"
        )
        response = self.client.get("/blog/feed/")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("application/rss+xml"))

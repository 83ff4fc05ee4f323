"""Test helpers for the public site (home, blog, tests/): the page tree,
articles and images. Here rather than in blog/tests, because they build the
whole tree, which is home's (blog imports nothing from home)."""

import io
import itertools

from django.core.files.images import ImageFile
from PIL import Image as PillowImage
from wagtail.images.models import Image

from blog.models import BlogIndexPage, BlogPage
from home.tree import site_tree_ensure

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)
_numbers = itertools.count(1)


def png_bytes(colour=(37, 99, 235), size=(1600, 900)) -> bytes:
    """A small PNG drawn with Pillow."""
    buffer = io.BytesIO()
    PillowImage.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_image(title="Cover") -> Image:
    image = Image(title=title)
    image.file = ImageFile(io.BytesIO(png_bytes()), name=f"cover-{next(_numbers)}.png")
    image.save()
    return image


def blog_index() -> BlogIndexPage:
    return site_tree_ensure()[1]


def make_article(
    title=None, *, index=None, live=True, image=True, **fields
) -> BlogPage:
    """A published (or draft) article under the blog, with a cover image."""
    number = next(_numbers)
    index = index or blog_index()
    article = BlogPage(
        title=title or f"Article {number}",
        slug=f"article-{number}",
        introduction=fields.pop("introduction", f"Introduction {number}"),
        image=make_image(f"Cover {number}") if image else None,
        body=fields.pop("body", [("paragraph", f"<p>Body of article {number}.</p>")]),
        live=False,
        **fields,
    )
    index.add_child(instance=article)
    revision = article.save_revision()
    if live:
        revision.publish()
    article.refresh_from_db()
    return article

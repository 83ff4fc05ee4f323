"""Image renditions as plain data (URLs, sizes, srcset, alt), cached.

A template that shows an image through Wagtail's tags asks the database for
the image and its renditions; the home page's hero and the article cards
instead carry this plain data, built once and kept in the `IMAGES` cache
namespace (invalidated by any change to an image: a new file or focal point
makes new rendition URLs, new alt text).
"""

from django.db.models.signals import post_delete, post_save
from wagtail.images.models import Image

from site_common.cache import Namespace

IMAGES = Namespace("site:image-renditions", timeout=3600)


def renditions_data(image: Image, specs: list[str]) -> dict:
    """`image`'s renditions for `specs`: the first one's url, width and height
    (the fallback `src`), `srcset` over all of them, `alt` and `sizes` (each
    rendition's url, width and height). Reads renditions prefetched with
    `prefetch_related("renditions")` without a query."""
    renditions = image.get_renditions(*specs)
    sizes = [
        {"url": r.url, "width": r.width, "height": r.height}
        for r in (renditions[spec] for spec in specs)
    ]
    return {
        **sizes[0],
        "srcset": ", ".join(f"{s['url']} {s['width']}w" for s in sizes),
        "alt": image.default_alt_text or "",
        "sizes": sizes,
    }


def image_renditions(image_id: int | None, **sets: list[str]) -> dict | None:
    """For each named set of specs, `renditions_data` of the image `image_id`
    (`image_renditions(5, hero=[...], share=[...])` gives `{"hero": ...,
    "share": ...}`), from the cache when warm; None for no image (or one
    deleted since)."""
    if not image_id:
        return None

    def compute():
        image = Image.objects.filter(pk=image_id).first()
        if image is None:
            return None
        return {name: renditions_data(image, specs) for name, specs in sets.items()}

    part = ";".join(f"{name}={'|'.join(specs)}" for name, specs in sorted(sets.items()))
    return IMAGES.get_or_set(f"{image_id}:{part}", compute)


def _changed(**kwargs) -> None:
    IMAGES.invalidate()


def connect_receivers() -> None:
    """Connect the invalidating receivers (called from SiteCommonConfig.ready)."""
    post_save.connect(_changed, sender=Image, dispatch_uid="site_images_save")
    post_delete.connect(_changed, sender=Image, dispatch_uid="site_images_delete")

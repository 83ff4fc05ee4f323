"""Reads for the home page that must not cost a query when warm."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from wagtail.images.models import Image

IMAGE_KEY = "home:image:{}"
IMAGE_TIMEOUT = 3600


def image_renditions(*, image_id: int | None, specs: list[str]) -> dict | None:
    """An image's renditions as plain data: url, width, height per spec,
    `srcset` over all of them and `alt`; from the cache when warm.

    The first spec is the fallback `src`. Returns None for no image.
    """
    if not image_id:
        return None
    key = IMAGE_KEY.format(image_id)
    entry = cache.get(key) or {}
    spec_key = "|".join(specs)
    if spec_key not in entry:
        image = Image.objects.filter(pk=image_id).first()
        if image is None:
            return None
        renditions = image.get_renditions(*specs)
        sizes = [
            {"url": r.url, "width": r.width, "height": r.height}
            for r in (renditions[spec] for spec in specs)
        ]
        entry[spec_key] = {
            **sizes[0],
            "srcset": ", ".join(f"{s['url']} {s['width']}w" for s in sizes),
            "alt": image.default_alt_text or "",
            "sizes": sizes,
        }
        cache.set(key, entry, IMAGE_TIMEOUT)
    return entry[spec_key]


def image_renditions_forget(instance, **kwargs) -> None:
    cache.delete(IMAGE_KEY.format(instance.pk))


def connect() -> None:
    post_save.connect(image_renditions_forget, sender=Image, dispatch_uid="home_img_s")
    post_delete.connect(
        image_renditions_forget, sender=Image, dispatch_uid="home_img_d"
    )

"""Model fields that pages of several apps declare alike."""

from django.db import models


def optional_link(to: str, **kwargs) -> models.ForeignKey:
    """A page's optional link to an image or another page: left empty when
    the target is deleted (the page stays), no reverse accessor on the target.
    `kwargs` add the verbose name, help text and the like."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", **kwargs
    )

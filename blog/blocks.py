"""The StreamField blocks an article's body is written with."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock


class HeadingBlock(blocks.StructBlock):
    """A section heading inside an article (h2 or h3)."""

    text = blocks.CharBlock(max_length=200, label=_("Text"))
    size = blocks.ChoiceBlock(
        choices=[("h2", _("Heading")), ("h3", _("Subheading"))],
        default="h2",
        label=pgettext_lazy("heading block", "Size"),
    )

    class Meta:
        icon = "title"
        label = _("Heading")
        template = "blocks/heading_block.html"


class ParagraphBlock(blocks.RichTextBlock):
    """Formatted text: paragraphs, lists, links, bold and italics."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "features", ["bold", "italic", "link", "ol", "ul", "h3", "h4", "hr"]
        )
        super().__init__(**kwargs)

    class Meta:
        icon = "pilcrow"
        label = _("Paragraph")
        template = "blocks/paragraph_block.html"


class ImageBlock(blocks.StructBlock):
    """An illustration with an optional caption and credit, served responsively."""

    image = ImageChooserBlock(label=_("Image"))
    caption = blocks.CharBlock(required=False, max_length=255, label=_("Caption"))
    attribution = blocks.CharBlock(required=False, max_length=255, label=_("Credit"))

    class Meta:
        icon = "image"
        label = _("Image")
        template = "blocks/image_block.html"


class QuoteBlock(blocks.StructBlock):
    """A pull quote with the name of the person quoted."""

    text = blocks.TextBlock(label=_("Quote"))
    attribution = blocks.CharBlock(
        required=False, max_length=255, label=_("Who said it")
    )

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "blocks/quote_block.html"


class CodeBlock(blocks.StructBlock):
    """A snippet of code or configuration, shown verbatim."""

    language = blocks.CharBlock(
        required=False,
        max_length=40,
        label=_("Language"),
        help_text=_("For example: python, bash, text."),
    )
    code = blocks.TextBlock(label=_("Code"))

    class Meta:
        icon = "code"
        label = _("Code")
        template = "blocks/code_block.html"


class BodyStreamBlock(blocks.StreamBlock):
    """Everything an article's body may hold; no embeds (nothing from outside)."""

    heading = HeadingBlock()
    paragraph = ParagraphBlock()
    image = ImageBlock()
    quote = QuoteBlock()
    code = CodeBlock()

"""The StreamField blocks an article's body is written with."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock


class HeadingBlock(blocks.StructBlock):
    """A section heading inside an article (h2 or h3)."""

    text = blocks.CharBlock(max_length=200)
    size = blocks.ChoiceBlock(
        choices=[("h2", "Heading"), ("h3", "Subheading")], default="h2"
    )

    class Meta:
        icon = "title"
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
        template = "blocks/paragraph_block.html"


class ImageBlock(blocks.StructBlock):
    """An illustration with an optional caption and credit, served responsively."""

    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, max_length=255)
    attribution = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "image"
        template = "blocks/image_block.html"


class QuoteBlock(blocks.StructBlock):
    """A pull quote with the name of the person quoted."""

    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "openquote"
        template = "blocks/quote_block.html"


class CodeBlock(blocks.StructBlock):
    """A snippet of code or configuration, shown verbatim."""

    language = blocks.CharBlock(
        required=False, max_length=40, help_text="For example: python, bash, text."
    )
    code = blocks.TextBlock()

    class Meta:
        icon = "code"
        template = "blocks/code_block.html"


class BodyStreamBlock(blocks.StreamBlock):
    """Everything an article's body may hold; no embeds (nothing from outside)."""

    heading = HeadingBlock()
    paragraph = ParagraphBlock()
    image = ImageBlock()
    quote = QuoteBlock()
    code = CodeBlock()

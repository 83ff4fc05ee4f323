"""The HTML part of a message, cleaned to what is safe in an e-mail.

nh3 (the Rust `ammonia` sanitiser) does the cleaning against an allow-list
made for e-mail: text markup, links, images, tables and inline styles stay;
scripts, event handlers, `javascript:` and other non-web URLs, forms,
iframes, objects and `<style>` blocks go. Messages are cleaned when they
are saved and again when a run prepares them, so an HTML part stored before
this rule (or written to the database by hand) is never sent as it is.

nh3 does not say what it took out, so `sanitize_html` also walks the input
with the standard library's parser and lists the elements, attributes, URLs
and style properties that the allow-list refuses; the message preview shows
that list, in the language of the person who saved the message (it is
stored with the message).
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3
from django.utils.translation import gettext as _

ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "b", "blockquote", "br", "center", "cite", "code", "dd"),
        *("del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5"),
        *("h6", "hr", "i", "img", "ins", "li", "mark", "ol", "p", "pre", "q"),
        *("s", "small", "span", "strike", "strong", "sub", "sup", "u", "ul"),
        *("table", "caption", "colgroup", "col", "thead", "tbody", "tfoot"),
        *("tr", "th", "td"),
    }
)
_GENERIC_ATTRIBUTES = {
    *("style", "class", "id", "dir", "lang", "title", "align", "valign"),
    *("width", "height", "bgcolor", "border"),
}
ALLOWED_ATTRIBUTES = {
    "*": _GENERIC_ATTRIBUTES,
    "a": {"href", "name", "target"},
    "img": {"src", "alt"},
    "font": {"color", "face", "size"},
    "table": {"cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Properties that take a url() or a script (old IE's `behavior`) are left out.
STYLE_PROPERTIES = frozenset(
    {
        *("color", "background-color", "font", "font-family", "font-size"),
        *("font-style", "font-weight", "font-variant", "line-height"),
        *("letter-spacing", "text-align", "text-decoration", "text-indent"),
        *("text-transform", "vertical-align", "white-space", "word-break"),
        *("word-wrap", "direction", "display", "width", "height", "max-width"),
        *("min-width", "max-height", "min-height", "margin", "margin-top"),
        *("margin-right", "margin-bottom", "margin-left", "padding"),
        *("padding-top", "padding-right", "padding-bottom", "padding-left"),
        *("border", "border-top", "border-right", "border-bottom", "border-left"),
        *("border-color", "border-style", "border-width", "border-radius"),
        *("border-collapse", "border-spacing", "table-layout", "float", "clear"),
        *("overflow", "list-style-type", "opacity"),
    }
)
# Removed together with everything inside them (not just the tags).
_DROP_WITH_CONTENT = frozenset(
    {
        *("script", "style", "title", "template", "iframe", "object", "embed"),
        *("noscript", "noembed", "noframes", "frameset", "frame", "applet"),
        *("textarea", "select", "svg", "math"),
    }
)
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# The document wrapper is rebuilt, not reported.
_WRAPPER = frozenset({"html", "head", "body"})
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")
_DOCUMENT = re.compile(r"<body[\s>]", re.IGNORECASE)


@dataclass
class CleanHTML:
    """The cleaned markup and a description of what was removed."""

    html: str
    removed: list[str] = field(default_factory=list)

    @property
    def removed_text(self) -> str:
        return ", ".join(self.removed)


def sanitize_html(markup: str) -> CleanHTML:
    """`markup` cleaned to the e-mail allow-list, with a list of what went.

    A whole document (one with a `<body>`) stays a document: the body is
    cleaned and put back in a plain `<html><body>` wrapper. Placeholders
    such as `{{ full_name }}` are text to the sanitiser and survive.
    """
    if not markup or not markup.strip():
        return CleanHTML("")
    cleaned = nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel=None,
        strip_comments=True,
    )
    if _DOCUMENT.search(markup):
        cleaned = f"<html><body>{cleaned}</body></html>"
    return CleanHTML(cleaned, _removed(markup))


def _allowed_attribute(tag: str, name: str) -> bool:
    return name in _GENERIC_ATTRIBUTES or name in ALLOWED_ATTRIBUTES.get(tag, ())


class _Inventory(HTMLParser):
    """Lists, in order of first appearance, what the allow-list refuses."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.removed: dict[str, None] = {}

    def _note(self, what: str) -> None:
        self.removed.setdefault(what, None)

    def handle_starttag(self, tag, attrs):
        if tag in _WRAPPER:
            return
        if tag not in ALLOWED_TAGS:
            self._note(_("<%(tag)s> element") % {"tag": tag})
            return
        for name, value in attrs:
            if not _allowed_attribute(tag, name):
                self._note(_("%(name)s attribute") % {"name": name})
            elif name in _URL_ATTRIBUTES and value:
                scheme = _SCHEME.match(value)
                if scheme and scheme.group(1).lower() not in URL_SCHEMES:
                    self._note(
                        _("%(scheme)s: URL") % {"scheme": scheme.group(1).lower()}
                    )
            elif name == "style" and value:
                for declaration in value.split(";"):
                    prop = declaration.partition(":")[0].strip().lower()
                    if prop and prop not in STYLE_PROPERTIES:
                        self._note(_("style property %(name)s") % {"name": prop})

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self._note(_("comments"))


def _removed(markup: str) -> list[str]:
    inventory = _Inventory()
    try:
        inventory.feed(markup)
        inventory.close()
    except Exception:  # the report is best effort; the cleaning is nh3's
        inventory._note(_("markup the sanitiser could not read"))
    return list(inventory.removed)

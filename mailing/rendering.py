"""Personalisation of a message for one client.

Plain substitution, never the Django template engine: a customer's message
must not be able to reach template tags, filters or the context.

- `{{ full_name }}` and `{{ email }}` are the client's own fields;
  `{{ key }}` is the value of the owner's custom field `key` (audience's
  CustomField), which the caller names in `fields`.
- `{{ name|default:"friend" }}` renders "friend" when the value is missing
  or empty (for the built-in names too).
- A known name without a value renders ""; an unknown name (no built-in, no
  field of the owner) stays as written, so a typo shows in the preview
  instead of vanishing; with a default, an unknown name renders the default.
- Values: text as stored, numbers as written, dates ISO (`2026-12-01`),
  yes/no fields "yes" or "no". In the HTML part every value is escaped; a
  default is part of the (sanitised) HTML the customer wrote and goes in as
  it is there.
"""

import html
import re
from collections.abc import Iterable

_PLACEHOLDER = re.compile(
    r"\{\{\s*([a-z][a-z0-9_]*)\s*(?:\|\s*default\s*:\s*\"([^\"{}]*)\"\s*)?\}\}"
)

# The client's own values, always known.
BUILT_IN_NAMES = ("full_name", "email")
# Names a custom field may not take: the built-in placeholders and the names
# kept for the client's other fields and the footer's link.
RESERVED_NAMES = frozenset({*BUILT_IN_NAMES, "comment", "unsubscribe_url"})


class CompiledTemplate:
    """A template split once into its literal text and its placeholders, so
    that rendering it for each of many clients is one join (the engine
    renders a run's message once per client).

    `fields`: the custom field keys that count as known (see the module's
    rules). `names` is the set of names the template looks up.
    """

    __slots__ = ("_pieces", "_template", "names")

    def __init__(self, template: str, fields: Iterable[str] = ()):
        self._template = template
        known = {*BUILT_IN_NAMES, *fields}
        pieces: list = []
        names = set()
        last = 0
        for match in _PLACEHOLDER.finditer(template):
            name, default = match.group(1), match.group(2)
            pieces.append(template[last : match.start()])
            if name in known:
                pieces.append((name, default or ""))
                names.add(name)
            else:
                pieces.append(match.group(0) if default is None else default)
            last = match.end()
        pieces.append(template[last:])
        self.names = frozenset(names)
        self._pieces = tuple(pieces) if names else None
        if self._pieces is None:
            # Only literal text (unknown names, defaults): rendered once.
            self._template = "".join(pieces)

    def render(self, context: dict[str, str]) -> str:
        if self._pieces is None:
            return self._template
        return "".join(
            [
                piece if piece.__class__ is str else (context.get(piece[0]) or piece[1])
                for piece in self._pieces
            ]
        )


def render_text(
    template: str, context: dict[str, str], fields: Iterable[str] = ()
) -> str:
    """`template` with each known `{{ name }}` replaced by `context[name]`."""
    if "{{" not in template:
        return template
    return CompiledTemplate(template, fields).render(context)


def placeholder_names(text: str) -> set[str]:
    """The names of the placeholders in `text`."""
    if "{{" not in text:
        return set()
    return {match.group(1) for match in _PLACEHOLDER.finditer(text)}


def placeholder_value(value) -> str:
    """A stored custom field value as a placeholder renders it."""
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def client_context(client) -> dict[str, str]:
    """The placeholder values of one client (or of any object with the same
    attributes, such as an unsaved sample client): the built-in names and
    every stored custom field value."""
    context = {
        key: placeholder_value(value)
        for key, value in (getattr(client, "attributes", None) or {}).items()
    }
    context["full_name"] = client.full_name or ""
    context["email"] = client.email or ""
    return context


class CompiledMessage:
    """A message's subject, text and HTML compiled once (see
    `render_message` for the rules). `attribute_names` are the custom
    fields its placeholders use: empty, a client's attributes need not be
    read at all (the engine's fast path)."""

    __slots__ = ("_html", "_subject", "_text", "attribute_names")

    def __init__(
        self, *, subject: str, body: str, html_body: str, fields: Iterable[str] = ()
    ):
        fields = frozenset(fields)
        self._subject = CompiledTemplate(subject, fields)
        self._text = CompiledTemplate(body, fields)
        self._html = CompiledTemplate(html_body, fields) if html_body else None
        used = self._subject.names | self._text.names
        if self._html is not None:
            used |= self._html.names
        self.attribute_names = tuple(sorted(used - set(BUILT_IN_NAMES)))

    def context(self, *, full_name: str, email: str, attributes=None) -> dict:
        """The values this message's placeholders use, for one client."""
        context = {"full_name": full_name or "", "email": email or ""}
        if self.attribute_names and attributes:
            for name in self.attribute_names:
                value = attributes.get(name)
                if value is not None:
                    context[name] = placeholder_value(value)
        return context

    def render(self, context: dict[str, str]) -> tuple[str, str, str]:
        subject = " ".join(self._subject.render(context).split())
        text = self._text.render(context)
        markup = ""
        if self._html is not None:
            escaped = {key: html.escape(value) for key, value in context.items()}
            markup = self._html.render(escaped)
        return subject, text, markup


def render_message(message, client, *, fields: Iterable[str] = ()):
    """(subject, text, html) of `message` personalised for `client`.

    `fields`: the owner's custom field keys. The subject is kept on one
    line; in the HTML part the values are escaped so that a client's name
    cannot inject markup. `html` is "" when the message has no HTML part.
    """
    compiled = CompiledMessage(
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
        fields=fields,
    )
    return compiled.render(client_context(client))

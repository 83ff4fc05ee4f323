"""Personalisation of a message for one client.

Plain substitution of the known placeholders (`{{ full_name }}`,
`{{ email }}`); unknown ones are left as written. The Django template engine
is deliberately not used on user input: a customer's message must not be
able to reach template tags, filters or the context.
"""

import html
import re

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class CompiledTemplate:
    """A template split once into its literal text and its placeholders, so
    that rendering it for each of many clients is one join (the engine
    renders a run's message once per client)."""

    __slots__ = ("_pieces", "_template")

    def __init__(self, template: str):
        self._template = template
        pieces: list = []
        last = 0
        for match in _PLACEHOLDER.finditer(template):
            pieces.append(template[last : match.start()])
            # An unknown name stays as written.
            pieces.append((match.group(1), match.group(0)))
            last = match.end()
        pieces.append(template[last:])
        self._pieces = tuple(pieces) if len(pieces) > 1 else None

    def render(self, context: dict[str, str]) -> str:
        if self._pieces is None:
            return self._template
        return "".join(
            [
                piece if piece.__class__ is str else context.get(*piece)
                for piece in self._pieces
            ]
        )


def render_text(template: str, context: dict[str, str]) -> str:
    """`template` with each known `{{ name }}` replaced by `context[name]`."""
    if "{{" not in template:
        return template
    return CompiledTemplate(template).render(context)


def client_context(client) -> dict[str, str]:
    """The placeholder values of one client (or of any object with the same
    attributes, such as an unsaved sample client)."""
    return {"full_name": client.full_name or "", "email": client.email or ""}


class CompiledMessage:
    """A message's subject, text and HTML compiled once (see
    `render_message` for the rules)."""

    __slots__ = ("_html", "_subject", "_text")

    def __init__(self, *, subject: str, body: str, html_body: str):
        self._subject = CompiledTemplate(subject)
        self._text = CompiledTemplate(body)
        self._html = CompiledTemplate(html_body) if html_body else None

    def render(self, context: dict[str, str]) -> tuple[str, str, str]:
        subject = " ".join(self._subject.render(context).split())
        text = self._text.render(context)
        markup = ""
        if self._html is not None:
            escaped = {key: html.escape(value) for key, value in context.items()}
            markup = self._html.render(escaped)
        return subject, text, markup


def render_message(message, client) -> tuple[str, str, str]:
    """(subject, text, html) of `message` personalised for `client`.

    The subject is kept on one line; in the HTML part the values are escaped
    so that a client's name cannot inject markup. `html` is "" when the
    message has no HTML part.
    """
    compiled = CompiledMessage(
        subject=message.subject, body=message.body, html_body=message.html_body
    )
    return compiled.render(client_context(client))

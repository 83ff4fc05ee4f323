"""Personalisation of a message for one client.

Plain substitution of the known placeholders (`{{ full_name }}`,
`{{ email }}`); unknown ones are left as written. The Django template engine
is deliberately not used on user input: a customer's message must not be
able to reach template tags, filters or the context.
"""

import html
import re

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render_text(template: str, context: dict[str, str]) -> str:
    """`template` with each known `{{ name }}` replaced by `context[name]`."""
    if "{{" not in template:
        return template
    return _PLACEHOLDER.sub(lambda m: context.get(m.group(1), m.group(0)), template)


def client_context(client) -> dict[str, str]:
    """The placeholder values of one client (or of any object with the same
    attributes, such as an unsaved sample client)."""
    return {"full_name": client.full_name or "", "email": client.email or ""}


def render_message(message, client) -> tuple[str, str, str]:
    """(subject, text, html) of `message` personalised for `client`.

    The subject is kept on one line; in the HTML part the values are escaped
    so that a client's name cannot inject markup. `html` is "" when the
    message has no HTML part.
    """
    context = client_context(client)
    subject = " ".join(render_text(message.subject, context).split())
    text = render_text(message.body, context)
    markup = ""
    if message.html_body:
        escaped = {key: html.escape(value) for key, value in context.items()}
        markup = render_text(message.html_body, escaped)
    return subject, text, markup

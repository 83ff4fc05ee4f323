"""The engine's per-run shortcuts give exactly what the plain way gives:
templates compiled once render as the regular-expression substitution did,
quoted-printable encoded line by line (shared lines from the run's cache)
equals encoding the whole text."""

import binascii
import re

from hypothesis import given
from hypothesis import strategies as st

from deliverability.signing import _relaxed
from mailing.engine.message import _qp
from mailing.rendering import CompiledTemplate

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
CONTEXT = {"full_name": "Zoë <O'Brien>", "email": "zoe@example.com"}

template_text = st.lists(
    st.sampled_from(
        ["{{ full_name }}", "{{email}}", "{{  unknown }}", "{{ ", "}}", "{", "a", " "]
    )
    | st.text(max_size=5),
    max_size=12,
).map("".join)

qp_text = st.lists(
    st.sampled_from(
        ["a", " ", "\t", ".", "=", "é", "\n", "\r\n", "\r", "x" * 80, "-- "]
    )
    | st.text(max_size=4),
    max_size=15,
).map("".join)


def _substituted(template: str) -> str:
    return _PLACEHOLDER.sub(lambda m: CONTEXT.get(m.group(1), m.group(0)), template)


@given(template_text)
def test_a_compiled_template_renders_as_the_substitution(template):
    assert CompiledTemplate(template).render(CONTEXT) == _substituted(template)


@given(qp_text, qp_text)
def test_quoted_printable_line_by_line_equals_the_whole(first, second):
    known: dict[str, str] = {}
    for text in (first, second, first):  # the third finds its lines known
        normal = text.replace("\r\n", "\n").replace("\r", "\n")
        whole = binascii.b2a_qp(normal.encode(), istext=True).decode()
        assert _qp(text, known) == whole == _qp(text)


@given(st.lists(st.sampled_from([b" ", b"\t", b"\r\n ", b"\r\n\t", b"a", b"b c"])))
def test_relaxed_header_canonicalisation(pieces):
    value = b"".join(pieces)
    expected = re.sub(rb"[ \t]+", b" ", value.replace(b"\r\n", b"")).strip(b" ")
    assert _relaxed(value) == expected

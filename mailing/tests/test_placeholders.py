"""Custom field placeholders: `{{ key }}` and `{{ key|default:"…" }}` in the
safe renderer, and a run that sends them personalised."""

import pytest
from django.core.management import call_command

from audience.models import CustomField
from audience.tests.factories import CustomFieldFactory
from mailing.engine.message import PreparedMessage
from mailing.models import Client, Message, Run
from mailing.rendering import CompiledMessage, CompiledTemplate, render_message
from mailing.tests.engine_support import make_mailing

FIELDS = ("city", "age", "vip", "born", "plan_2")


def _render(template: str, context: dict, fields=FIELDS) -> str:
    return CompiledTemplate(template, fields).render(context)


def test_a_field_renders_its_value_and_digits_are_allowed_in_keys():
    context = {"city": "Oslo", "plan_2": "Pro"}
    assert _render("Hi from {{ city }} on {{plan_2}}", context) == "Hi from Oslo on Pro"


def test_a_missing_or_empty_value_renders_the_default():
    template = 'Hi {{ city|default:"friend" }}, {{ full_name | default : "you" }}!'
    assert _render(template, {"city": "", "full_name": ""}) == "Hi friend, you!"
    assert _render(template, {}) == "Hi friend, you!"
    assert _render(template, {"city": "Oslo", "full_name": "Ann"}) == "Hi Oslo, Ann!"
    assert _render('{{ city|default:"" }}.', {}) == "."


def test_a_known_name_without_a_value_is_empty_an_unknown_one_stays():
    template = '[{{ city }}] [{{ nickname }}] [{{ Nick }}] [{{ nickname|default:"x" }}]'
    assert _render(template, {}) == "[] [{{ nickname }}] [{{ Nick }}] [x]"
    # A stored value of a field that no longer exists is not shown.
    assert _render("{{ gone }}", {"gone": "old"}) == "{{ gone }}"
    # Not a template engine: tags and other filters stay as written.
    assert _render("{% if 1 %}{{ city|upper }}", {"city": "a"}) == (
        "{% if 1 %}{{ city|upper }}"
    )


def test_values_are_formatted_and_escaped_in_html():
    message = Message(
        subject="{{ vip }} {{ age }}",
        body="{{ born }} {{ age }} {{ vip }} {{ city }}",
        html_body='<p>{{ city }} {{ plan_2|default:"&lt;none&gt;" }}</p>',
    )
    client = Client(
        email="a@example.com",
        attributes={"born": "2001-01-31", "age": 3.5, "vip": False, "city": "<b>&"},
    )
    subject, text, markup = render_message(message, client, fields=FIELDS)
    assert subject == "no 3.5"
    assert text == "2001-01-31 3.5 no <b>&"
    assert markup == "<p>&lt;b&gt;&amp; &lt;none&gt;</p>"


def test_a_message_without_custom_placeholders_reads_no_attributes():
    compiled = CompiledMessage(
        subject="Hi {{ full_name }}",
        body="{{ email }} {{ unknown }}",
        html_body="",
        fields=FIELDS,
    )
    assert compiled.attribute_names == ()

    class Untouchable(dict):
        def get(self, *args):
            raise AssertionError("attributes read")

    context = compiled.context(full_name="A", email="a@x", attributes=Untouchable())
    assert compiled.render(context) == ("Hi A", "a@x {{ unknown }}", "")


@pytest.mark.django_db
def test_the_owners_fields_are_read_only_for_a_custom_placeholder():
    plain = make_mailing(clients=0, subject="Hi {{ full_name }}", body="{{ email }}")
    CustomFieldFactory(owner=plain.owner, key="city")
    run = Run(pk=1, mailing=plain)
    prepared = PreparedMessage.for_run(run)
    assert prepared.fields == frozenset()
    custom = make_mailing(owner=plain.owner, clients=0, subject="Hi", body="{{ city }}")
    assert PreparedMessage.for_run(Run(pk=2, mailing=custom)).fields == {"city"}


@pytest.mark.django_db
def test_a_run_sends_each_client_their_value_or_the_default(smtp_sink):
    mailing = make_mailing(
        clients=2,
        subject='News for {{ city|default:"friend" }}',
        body='Hello {{ city|default:"friend" }} ({{ age }})',
        html_body='<p>Hello {{ city|default:"friend" }}</p>',
    )
    CustomFieldFactory(owner=mailing.owner, key="city", label="City")
    CustomFieldFactory(
        owner=mailing.owner, key="age", label="Age", type=CustomField.Type.NUMBER
    )
    first, second = mailing.clients.order_by("pk")
    Client.objects.filter(pk=first.pk).update(
        attributes={"city": "Tromsø <North>", "age": 7}
    )
    call_command("send_mailings")
    by_address = {mail.rcpt_tos[0]: mail for mail in smtp_sink.messages}
    assert set(by_address) == {first.email, second.email}
    one, two = by_address[first.email], by_address[second.email]
    assert one.message["Subject"] == "News for Tromsø <North>"
    assert "Hello Tromsø <North> (7)" in one.text()
    assert "<p>Hello Tromsø &lt;North&gt;</p>" in one.html()
    assert two.message["Subject"] == "News for friend"
    assert "Hello friend ()" in two.text()
    assert "<p>Hello friend</p>" in two.html()
